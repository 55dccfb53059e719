package langid

import (
	"fmt"
	"sync"

	"github.com/pemistahl/lingua-go"
)

// Result is the most likely language of a text and lingua's confidence
// in it, between 0 and 1.
type Result struct {
	Language   lingua.Language // lingua.Unknown when no language scored
	Confidence float64         // 0 for lingua.Unknown
}

// Detector identifies languages among a fixed set. It is safe for
// concurrent use, and its results do not depend on the order of calls.
type Detector struct {
	m            *models
	high         *highModels // nil unless highAccuracy
	highAccuracy bool
	set          langSet
	byAlphabet   [numAlphabets]langSet // the detector's languages of each alphabet
	scratch      sync.Pool
}

// NewDetector returns a detector that chooses among languages, or among
// all 75 when languages is empty. In high-accuracy mode, texts of fewer
// than 120 letters are scored with 1- to 5-grams, as lingua does by
// default; otherwise every text is scored with trigrams. The first call
// in a process reads the models, which takes a few seconds.
func NewDetector(languages []lingua.Language, highAccuracy bool) (*Detector, error) {
	m, err := loadModels()
	if err != nil {
		return nil, err
	}
	d := &Detector{m: m, highAccuracy: highAccuracy}
	if highAccuracy {
		if d.high, err = m.highOrders(); err != nil {
			return nil, err
		}
	}

	if len(languages) == 0 {
		languages = lingua.AllLanguages()
	}
	for _, lang := range languages {
		if lang < 0 || int(lang) >= numLanguages {
			return nil, fmt.Errorf("invalid language %v: not one of lingua's 75", lang)
		}
		d.set.add(lang)
		for _, a := range alphabetsOf(lang) {
			d.byAlphabet[a].add(lang)
		}
	}
	d.scratch.New = func() any { return new(scratch) }
	return d, nil
}

// scratch holds the state of one Detect call, reused between calls.
type scratch struct {
	runes    []rune     // lower-case letters of the words, word after word
	infos    []charInfo // their charInfo
	wordEnds []int32    // end of each word in runes
	letters  int

	// lingua's rules: per word, the languages its letters point to, and
	// over the text, the words won by each language or by none.
	wordCounts   [numLanguages]uint16
	touched      []lingua.Language
	ruleCounts   [numLanguages]uint32
	unknownWords int

	alphabetCounts [numAlphabets]uint32
	groupCounts    [len(charGroups)]uint32 // (word, distinct group letter) pairs

	seen hashSet
	// By column (colOf): summed log-probabilities over all orders and over
	// unigrams, and the distinct unigrams each language's model has.
	sums        [numLanguages]float64
	unigramSums [numLanguages]float64
	unigramHits [numLanguages]uint32
	tmp         [numLanguages]float32
}

func (s *scratch) reset() {
	s.runes, s.infos, s.wordEnds = s.runes[:0], s.infos[:0], s.wordEnds[:0]
	s.letters, s.unknownWords = 0, 0
	s.ruleCounts = [numLanguages]uint32{}
	s.alphabetCounts = [numAlphabets]uint32{}
	s.groupCounts = [len(charGroups)]uint32{}
	s.sums = [numLanguages]float64{}
	s.unigramSums = [numLanguages]float64{}
	s.unigramHits = [numLanguages]uint32{}
}

// Detect returns the most likely language of the concatenation of texts,
// each of which ends a word, and lingua's confidence in it. It returns
// lingua.Unknown with confidence 0 when the texts have no letters, or
// when no n-gram of theirs is in the models of the candidate languages.
func (d *Detector) Detect(texts ...string) Result {
	s := d.scratch.Get().(*scratch)
	defer d.scratch.Put(s)
	s.reset()
	for _, text := range texts {
		d.splitWords(s, text)
	}
	if len(s.wordEnds) == 0 {
		return Result{Language: lingua.Unknown}
	}

	if lang, ok := d.languageByRules(s); ok {
		if !d.set.has(lang) {
			return Result{Language: lingua.Unknown}
		}
		return Result{Language: lang, Confidence: 1}
	}
	candidates := d.candidates(s)
	if candidates.empty() {
		return Result{Language: lingua.Unknown}
	}
	if lang, ok := only(candidates); ok {
		return Result{Language: lang, Confidence: 1}
	}

	if !d.highAccuracy && s.letters < 3 {
		return Result{Language: lingua.Unknown}
	}
	lo, hi := candidates.span()
	if s.letters >= 120 || !d.highAccuracy {
		d.sumOrder(s, 3, lo, hi)
		return d.best(s, candidates, false)
	}
	for n := 1; n <= 5; n++ {
		d.sumOrder(s, n, lo, hi)
	}
	return d.best(s, candidates, true)
}

// splitWords appends the words of text to s as lingua splits them: after
// lower-casing, a Han, Hangul, Hiragana or Katakana character that does
// not continue a run of letters is a word of its own, and every other
// maximal run of letters is a word.
func (d *Detector) splitWords(s *scratch, text string) {
	inRun := false
	start := 0
	for _, r := range text {
		info, lower := d.m.lookup(r)
		if inRun {
			if info.isLetter() {
				s.runes, s.infos = append(s.runes, lower), append(s.infos, info)
				continue
			}
			d.endWord(s, start)
			inRun = false
		}
		if info.isStandalone() || info.isLetter() {
			start = len(s.runes)
			s.runes, s.infos = append(s.runes, lower), append(s.infos, info)
			if info.isStandalone() {
				d.endWord(s, start)
			} else {
				inRun = true
			}
		}
	}
	if inRun {
		d.endWord(s, start)
	}
}

// endWord records the word that starts at s.runes[start] for the rules.
func (d *Detector) endWord(s *scratch, start int) {
	word := s.infos[start:]
	s.wordEnds = append(s.wordEnds, int32(len(s.runes)))
	s.letters += len(word)
	d.countWordLanguage(s, word)

	a := word[0].alphabet()
	for _, c := range word[1:] {
		if c.alphabet() != a {
			a = alphabetNone
			break
		}
	}
	if a != alphabetNone {
		s.alphabetCounts[a]++
	}

	// Each distinct letter of a group counts once per word.
	runes := s.runes[start:]
	for i, c := range word {
		if g := c.group(); g != 0 && !containsRune(runes[:i], runes[i]) {
			s.groupCounts[g-1]++
		}
	}
}

func containsRune(runes []rune, r rune) bool {
	for _, x := range runes {
		if x == r {
			return true
		}
	}
	return false
}

// countWordLanguage gives the word to the language most of its telling
// letters point to, or to none, as lingua's rules do.
func (d *Detector) countWordLanguage(s *scratch, word []charInfo) {
	for _, c := range word {
		kind := c.rule()
		if kind == ruleNone {
			continue
		}
		lang := c.ruleLanguage()
		if kind != ruleAlways && !d.set.has(lang) {
			continue
		}
		if s.wordCounts[lang] == 0 {
			s.touched = append(s.touched, lang)
		}
		s.wordCounts[lang]++
	}

	winner, ok := lingua.Unknown, false
	switch len(s.touched) {
	case 0:
	case 1:
		winner = s.touched[0]
		ok = d.set.has(winner)
	default:
		if s.wordCounts[lingua.Chinese] > 0 && s.wordCounts[lingua.Japanese] > 0 {
			winner, ok = lingua.Japanese, true
			break
		}
		var top, second uint16
		for _, lang := range s.touched {
			switch n := s.wordCounts[lang]; {
			case n > top:
				top, second, winner = n, top, lang
			case n > second:
				second = n
			}
		}
		ok = top > second && d.set.has(winner)
	}
	if ok {
		s.ruleCounts[winner]++
	} else {
		s.unknownWords++
	}

	for _, lang := range s.touched {
		s.wordCounts[lang] = 0
	}
	s.touched = s.touched[:0]
}

// languageByRules returns the language that wins the most words, when
// lingua's rules decide the text on letters alone.
func (d *Detector) languageByRules(s *scratch) (lingua.Language, bool) {
	half := float64(len(s.wordEnds)) * 0.5
	entries := 0
	var top, second uint32
	winner := lingua.Unknown
	consider := func(lang lingua.Language, n uint32) {
		entries++
		switch {
		case n > top:
			top, second, winner = n, top, lang
		case n > second:
			second = n
		}
	}
	if s.unknownWords > 0 && float64(s.unknownWords) >= half {
		consider(lingua.Unknown, uint32(s.unknownWords))
	}
	for lang, n := range s.ruleCounts {
		if n > 0 {
			consider(lingua.Language(lang), n)
		}
	}

	switch {
	case entries == 0:
		return lingua.Unknown, false
	case entries == 2 && s.ruleCounts[lingua.Chinese] > 0 && s.ruleCounts[lingua.Japanese] > 0:
		return lingua.Japanese, true
	case entries > 1 && top == second:
		return lingua.Unknown, false
	}
	return winner, winner != lingua.Unknown
}

// candidates returns the languages lingua scores for the text: those of
// the alphabet most words are written in, narrowed to the languages whose
// letter groups at least half of the words contain, if there are any.
//
// NOTE: when two of three or more alphabets tie for most words, lingua
// v1.4.0 picks one by Go map order, at random; this picks the first in
// lingua's alphabet order.
func (d *Detector) candidates(s *scratch) langSet {
	used, first := 0, uint32(0)
	allEqual := true
	top := alphabetNone
	for a := alphabetArabic; a < numAlphabets; a++ {
		n := s.alphabetCounts[a]
		if n == 0 {
			continue
		}
		if used == 0 {
			first = n
		} else if n != first {
			allEqual = false
		}
		used++
		if top == alphabetNone || n > s.alphabetCounts[top] {
			top = a
		}
	}
	if used == 0 || (used > 1 && allEqual) {
		return d.set
	}

	filtered := d.byAlphabet[top]
	var counts [numLanguages]uint32
	for g, n := range s.groupCounts {
		if n == 0 {
			continue
		}
		for _, lang := range charGroups[g].languages {
			if filtered.has(lang) {
				counts[lang] += n
			}
		}
	}
	half := float64(len(s.wordEnds)) * 0.5
	var subset langSet
	for lang, n := range counts {
		if n > 0 && float64(n) >= half {
			subset.add(lingua.Language(lang))
		}
	}
	if !subset.empty() {
		return subset
	}
	return filtered
}

// only returns the language of a set of one.
func only(set langSet) (lingua.Language, bool) {
	found := lingua.Unknown
	for lang := lingua.Language(0); int(lang) < numLanguages; lang++ {
		if set.has(lang) {
			if found != lingua.Unknown {
				return lingua.Unknown, false
			}
			found = lang
		}
	}
	return found, found != lingua.Unknown
}
