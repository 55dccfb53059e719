package langid

import (
	"math"

	"github.com/pemistahl/lingua-go"
)

// sumOrder adds to s.sums the log-probabilities of the distinct n-grams
// of length n in the words of s, each backed off to its longest prefix
// that a language's models have, as lingua does per language.
// Only the columns lo to hi, which hold the candidates, are summed.
func (d *Detector) sumOrder(s *scratch, n, lo, hi int) {
	s.seen.reset(len(s.runes))
	start := 0
	for _, end := range s.wordEnds {
		runes, infos := s.runes[start:end], s.infos[start:end]
		start = int(end)
		for i := 0; i+n <= len(runes); i++ {
			if !s.seen.insert(ngramIdentity(runes[i:i+n], infos[i:i+n])) {
				continue
			}
			row := d.backedOffRow(infos[i:i+n], &s.tmp)
			if row == nil {
				continue
			}
			addRow(&s.sums, row, lo, hi)
			if n == 1 {
				addRow(&s.unigramSums, row, lo, hi)
				for col, v := range row {
					if v != 0 {
						s.unigramHits[col]++
					}
				}
			}
		}
	}
}

// ngramIdentity returns a key that distinguishes the distinct n-grams of
// a text. Up to three letters pack into 63 bits exactly. A 4- or 5-gram
// packs its character ids when it has them all and is hashed otherwise,
// and the top bit distinguishes the two kinds.
func ngramIdentity(runes []rune, infos []charInfo) uint64 {
	if len(runes) <= 3 {
		var key uint64
		for _, r := range runes {
			key = key<<21 | uint64(r)
		}
		return key
	}
	if key, ok := idKey(infos); ok {
		return 1<<63 | key
	}
	h := uint64(len(runes))
	for _, r := range runes {
		h = (h ^ uint64(r)) * fibonacci
		h ^= h >> 29
	}
	return h &^ (1 << 63)
}

// idKey packs the character ids of infos as the models' keys do, or
// returns false when a letter has no id.
func idKey(infos []charInfo) (uint64, bool) {
	var key uint64
	for _, c := range infos {
		id := c.charID()
		if id == 0 {
			return 0, false
		}
		key = key<<10 | id
	}
	return key, true
}

// backedOffRow returns the log-probability of the n-gram of infos for
// every language, backed off per language to its longest prefix the
// language's models have, or nil when no model has even its first
// letter. The result may be tmp.
func (d *Detector) backedOffRow(infos []charInfo, tmp *[numLanguages]float32) []float32 {
	if len(infos) <= 3 {
		return d.m.denseRow(infos)
	}
	base := d.m.denseRow(infos[:3])
	if base != nil {
		copy(tmp[:], base)
	} else {
		*tmp = [numLanguages]float32{}
	}
	found := base != nil
	if key, ok := idKey(infos[:4]); ok {
		found = applyPostings(tmp, &d.high.quadrigrams, key) || found
	}
	if len(infos) == 5 {
		if key, ok := idKey(infos); ok {
			found = applyPostings(tmp, &d.high.fivegrams, key) || found
		}
	}
	if !found {
		return nil
	}
	return tmp[:]
}

// applyPostings overwrites row with the log-probabilities of the n-gram
// key for the languages that have it, and reports whether any has.
func applyPostings(row *[numLanguages]float32, t *postingTable, key uint64) bool {
	ord := t.index.find(key)
	if ord < 0 {
		return false
	}
	for _, p := range t.postings(ord) {
		row[colOf[postingLang(p)]] = postingLogProb(p)
	}
	return true
}

// denseRow returns the backed-off row of an n-gram of one to three
// letters, or nil.
func (m *models) denseRow(infos []charInfo) []float32 {
	if len(infos) == 3 {
		if key, ok := idKey(infos); ok {
			if ord := m.trigrams.find(key); ord >= 0 {
				return m.row(m.trigramRow0 + ord)
			}
		}
	}
	if len(infos) >= 2 {
		if key, ok := idKey(infos[:2]); ok {
			if ord := m.bigrams.find(key); ord >= 0 {
				return m.row(m.bigramRow0 + ord)
			}
		}
	}
	if ord := infos[0].unigramRow(); ord >= 0 {
		return m.row(ord)
	}
	return nil
}

// addRow adds the columns lo to hi of row to sums.
func addRow(sums *[numLanguages]float64, row []float32, lo, hi int) {
	r := row[lo:hi]
	acc := sums[lo:hi]
	acc = acc[:len(r)]
	for i, v := range r {
		acc[i] += float64(v)
	}
}

// best returns the candidate with the highest score and lingua's
// confidence in it, a softmax over the candidates' scores. A score is the
// sum of log-probabilities over the n-gram orders used; with unigrams
// among them, lingua divides it by the number of the text's distinct
// letters in the language's unigram model. A candidate whose score is 0,
// because no n-gram of the text is in its models, takes no part.
func (d *Detector) best(s *scratch, candidates langSet, withUnigrams bool) Result {
	var divisors [numLanguages]float64 // by column
	if withUnigrams {
		unigramDivisors(s, candidates, &divisors)
	}

	var scores [numLanguages]float64 // by column
	var scored [numLanguages]bool
	best := -1
	for col, lang := range langOfCol {
		if !candidates.has(lang) {
			continue
		}
		score := s.sums[col]
		if divisors[col] > 0 {
			score /= divisors[col]
		}
		if score == 0 {
			continue
		}
		scores[col], scored[col] = score, true
		if best < 0 || score > scores[best] || (score == scores[best] && lang < langOfCol[best]) {
			best = col
		}
	}
	if best < 0 {
		return Result{Language: lingua.Unknown}
	}

	total := 0.0
	for col := range scores {
		if scored[col] {
			total += math.Exp(scores[col] - scores[best])
		}
	}
	return Result{Language: langOfCol[best], Confidence: 1 / total}
}

// unigramDivisors sets each candidate's divisor to the number of distinct
// letters of the text in its unigram model. It keeps a quirk of lingua
// v1.4.0: where a candidate has none of the letters, lingua counts
// Afrikaans's letters once more in its place, so Afrikaans's divisor is
// its count times one plus the number of such candidates.
func unigramDivisors(s *scratch, candidates langSet, divisors *[numLanguages]float64) {
	anyHit, missing := false, 0
	for col, lang := range langOfCol {
		if !candidates.has(lang) {
			continue
		}
		if s.unigramSums[col] < 0 {
			anyHit = true
			divisors[col] = float64(s.unigramHits[col])
		} else {
			missing++
		}
	}
	if !anyHit {
		*divisors = [numLanguages]float64{}
		return
	}
	afr := colOf[lingua.Afrikaans]
	afrikaans := 0.0
	if s.unigramSums[afr] < 0 && candidates.has(lingua.Afrikaans) {
		afrikaans = 1
	}
	divisors[afr] = float64(s.unigramHits[afr]) * (afrikaans + float64(missing))
}

// hashSet is a set of uint64 keys with open addressing. A slot is in use
// when its generation is the set's, so reset costs nothing until the
// generation counter wraps.
type hashSet struct {
	keys  []uint64
	gens  []uint32
	gen   uint32
	shift uint
}

// reset empties the set and makes room for n keys.
func (h *hashSet) reset(n int) {
	size := 64
	for size < 2*n {
		size *= 2
	}
	if len(h.keys) < size {
		h.keys, h.gens = make([]uint64, size), make([]uint32, size)
		h.gen = 0
		h.shift = uint(64 - log2(size))
	}
	h.gen++
	if h.gen == 0 {
		clear(h.gens)
		h.gen = 1
	}
}

// insert adds key and reports whether it was new.
func (h *hashSet) insert(key uint64) bool {
	mask := uint64(len(h.keys) - 1)
	for i := (key * fibonacci) >> h.shift; ; i = (i + 1) & mask {
		if h.gens[i] != h.gen {
			h.gens[i], h.keys[i] = h.gen, key
			return true
		}
		if h.keys[i] == key {
			return false
		}
	}
}

func log2(n int) int {
	k := 0
	for 1<<k < n {
		k++
	}
	return k
}
