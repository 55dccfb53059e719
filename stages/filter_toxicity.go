package stages

import (
	"context"
	"embed"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/winnow-data/winnow/pipeline"
)

// Drop reason and event of the toxicity stage.
const (
	toxicWords       = "toxic_words"
	toxicEventNoList = "no_word_list" // lang has no selected list, so only extra words apply
)

const toxicityDoc = "Drops documents whose share of flagged words exceeds max_flagged_ratio, using the LDNOOBW lists " +
	"matched on whole words, and as substrings for Japanese, Thai and Chinese. The lists applied follow the lang column."

//go:embed lists/ldnoobw/*.txt lists/allow/*.txt
var toxicLists embed.FS

// ldnoobwCodes are the LDNOOBW list names, one bit each in a language mask.
var ldnoobwCodes = []string{
	"ar", "cs", "da", "de", "en", "eo", "es", "fa", "fi", "fil", "fr", "fr-CA-u-sd-caqc", "hi", "hu",
	"it", "ja", "kab", "ko", "nl", "no", "pl", "pt", "ru", "sv", "th", "tlh", "tr", "zh",
}

// toxicExtraBit marks entries from extra_words_file, which apply to every
// document whatever its lang.
const toxicExtraBit = uint32(1) << 31

// ldnoobwByISO3 maps the ISO 639-3 part of a lang label, as langid and
// FineWeb-2 write it (eng_Latn, cmn_Hani), to LDNOOBW list codes. French
// gets both the French and the Quebec French list. Chinese varieties that
// FineWeb-2 labels separately share the zh list, which mixes Mandarin and
// Cantonese entries.
var ldnoobwByISO3 = map[string][]string{
	"arb": {"ar"}, "ara": {"ar"}, "ces": {"cs"}, "dan": {"da"}, "deu": {"de"}, "eng": {"en"},
	"epo": {"eo"}, "spa": {"es"}, "fas": {"fa"}, "pes": {"fa"}, "fin": {"fi"}, "fil": {"fil"},
	"tgl": {"fil"}, "fra": {"fr", "fr-CA-u-sd-caqc"}, "hin": {"hi"}, "hun": {"hu"}, "ita": {"it"},
	"jpn": {"ja"}, "kab": {"kab"}, "kor": {"ko"}, "nld": {"nl"}, "nob": {"no"}, "nno": {"no"},
	"nor": {"no"}, "pol": {"pl"}, "por": {"pt"}, "rus": {"ru"}, "swe": {"sv"}, "tha": {"th"},
	"tlh": {"tlh"}, "tur": {"tr"}, "cmn": {"zh"}, "zho": {"zh"}, "yue": {"zh"}, "wuu": {"zh"},
}

// toxicMaxPhraseTokens bounds the words of one entry, so the words seen
// last fit in a fixed ring buffer.
const toxicMaxPhraseTokens = 16

// toxicMaxTokenBytes bounds one word of an entry, so matching can
// lowercase a text word into a stack buffer.
const toxicMaxTokenBytes = 64

func init() {
	pipeline.Register("toxicity", toxicityDoc, true, DefaultToxicityOptions(), newToxicity)
}

// ToxicityOptions configures the toxicity stage.
//
// The score is flagged words per word. A word is a run of letters, marks
// and digits, except that each character of a script written without
// spaces (Han, kana, Thai, Lao, Khmer, Myanmar) is a word, as Unicode word
// segmentation (UAX #29) treats ideographs. Unlike UAX #29, apostrophes and
// hyphens split words; list entries are split the same way, so "g-spot"
// matches "g spot" and "piz'det" still matches itself.
type ToxicityOptions struct {
	Languages       []string `yaml:"languages" doc:"LDNOOBW lists to apply, by list code or lang label (en or eng_Latn; codes: ar, cs, da, de, en, eo, es, fa, fi, fil, fr, fr-CA-u-sd-caqc, hi, hu, it, ja, kab, ko, nl, no, pl, pt, ru, sv, th, tlh, tr, zh); a document is checked against the lists of its lang, or against the unlabelled lists when lang is empty or und; [] selects all; default all 28"`
	MaxFlaggedRatio float64  `yaml:"max_flagged_ratio" doc:"maximum flagged words per word; a document above it is dropped as toxic_words, one exactly at it passes; 0 to 1, default 0.0045 (Data-Juicer's flagged-word ratio)"`
	ExtraWordsFile  string   `yaml:"extra_words_file" doc:"file of extra entries, one a line, applied to every document whatever its lang; entries with Han, kana or Thai characters match as substrings, others as whole words; lines starting with # are comments; default none"`
	AllowWordsFile  string   `yaml:"allow_words_file" doc:"file of extra allowed words, one a line: a whole-word entry equal to one is never flagged, and a substring match inside one is not counted; default none"`
	ReplaceLists    bool     `yaml:"replace_lists" doc:"use extra_words_file and allow_words_file instead of the embedded LDNOOBW and allow lists; requires extra_words_file; default false"`
	Unlabelled      []string `yaml:"unlabelled" doc:"LDNOOBW lists, by list code or lang label, for documents whose lang is empty or und; only those also in languages apply; [] applies every selected list; default [en], as C4 and datatrove assume English"`
}

// DefaultToxicityOptions returns the options a config that names none gets.
//
// NOTE: 0.0045 is the flagged-word ratio threshold attributed to
// Data-Juicer, but it was not checked against a Data-Juicer release. It allows
// about one flagged word in a 222-word document.
func DefaultToxicityOptions() ToxicityOptions {
	return ToxicityOptions{Languages: slices.Clone(ldnoobwCodes), MaxFlaggedRatio: 0.0045, Unlabelled: []string{"en"}}
}

// Validate checks the languages, the threshold and the list files. The
// error names the field and the bad value.
func (o *ToxicityOptions) Validate() error {
	var err error
	if o.Languages, err = ldnoobwLists("languages", o.Languages); err != nil {
		return err
	}
	if o.Unlabelled, err = ldnoobwLists("unlabelled", o.Unlabelled); err != nil {
		return err
	}
	if math.IsNaN(o.MaxFlaggedRatio) || o.MaxFlaggedRatio < 0 || o.MaxFlaggedRatio > 1 {
		return fmt.Errorf("invalid max_flagged_ratio %v: must be between 0 and 1", o.MaxFlaggedRatio)
	}
	if o.ReplaceLists && o.ExtraWordsFile == "" {
		return fmt.Errorf("invalid replace_lists true: extra_words_file is empty, so nothing would be flagged")
	}
	if err := checkListFile("extra_words_file", o.ExtraWordsFile); err != nil {
		return err
	}
	return checkListFile("allow_words_file", o.AllowWordsFile)
}

// toxicity is the toxicity stage. It only reads its matcher, so concurrent
// Process calls share nothing they write.
type toxicity struct {
	opts    ToxicityOptions
	events  *pipeline.Counters
	matcher *toxicMatcher
	all     uint32 // mask of the selected lists
	und     uint32 // mask of the lists for documents without a label
}

func newToxicity(opts ToxicityOptions, env pipeline.Env) (pipeline.Stage, error) {
	langs := opts.Languages
	if len(langs) == 0 {
		langs = ldnoobwCodes
	}
	entries, err := loadToxicEntries(opts, langs)
	if err != nil {
		return nil, err
	}
	allow, err := loadList(toxicLists, "lists/allow/allow.txt", opts.AllowWordsFile, opts.ReplaceLists)
	if err != nil {
		return nil, err
	}
	m, err := newToxicMatcher(entries, allow)
	if err != nil {
		return nil, err
	}
	t := &toxicity{opts: opts, events: env.Events, matcher: m}
	for _, l := range langs {
		t.all |= ldnoobwBit(l)
	}
	t.und = t.all
	if len(opts.Unlabelled) > 0 {
		t.und = 0
		for _, l := range opts.Unlabelled {
			t.und |= ldnoobwBit(l) & t.all
		}
	}
	return t, nil
}

// toxicEntry is one list line with the mask of the lists that hold it.
type toxicEntry struct {
	text string
	mask uint32
}

func loadToxicEntries(opts ToxicityOptions, langs []string) ([]toxicEntry, error) {
	var out []toxicEntry
	if !opts.ReplaceLists {
		for _, l := range langs {
			words, err := loadList(toxicLists, "lists/ldnoobw/"+l+".txt", "", false)
			if err != nil {
				return nil, err
			}
			for _, w := range words {
				out = append(out, toxicEntry{w, ldnoobwBit(l)})
			}
		}
	}
	if opts.ExtraWordsFile != "" {
		words, err := loadList(toxicLists, "", opts.ExtraWordsFile, true)
		if err != nil {
			return nil, err
		}
		for _, w := range words {
			out = append(out, toxicEntry{w, toxicExtraBit})
		}
	}
	return out, nil
}

// ldnoobwLists returns entries with each lang label (fra_Latn) replaced by
// the codes of its LDNOOBW lists (fr, fr-CA-u-sd-caqc), so the option takes
// the labels used everywhere else as well as the lists' own codes.
func ldnoobwLists(key string, entries []string) ([]string, error) {
	if entries == nil {
		return nil, nil
	}
	out := []string{}
	for _, l := range entries {
		if slices.Contains(ldnoobwCodes, l) {
			out = append(out, l)
			continue
		}
		iso, _, _ := strings.Cut(l, "_")
		codes := ldnoobwByISO3[iso]
		if !IsLangLabel(l) || len(codes) == 0 {
			return nil, fmt.Errorf("invalid %s entry %q: not a lang label with an LDNOOBW list nor a list code; use one of %s", key, l, strings.Join(ldnoobwCodes, ", "))
		}
		out = append(out, codes...)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func ldnoobwBit(code string) uint32 {
	return 1 << slices.Index(ldnoobwCodes, code)
}

// docMask returns the lists that apply to a document labelled lang, and
// whether one of the selected lists does. Labels may be langid's (eng_Latn)
// or a bare LDNOOBW code (en), as some inputs carry.
//
// A document without lang meets the unlabelled lists, English by default.
// Applying every list instead flags ordinary prose, because short entries
// of one language are common words of another (nl "del", fr "con", tr "am",
// pt "cu"). On 232 English documents of about 3 KB from the Dolma sample,
// all 28 lists dropped 33 and the English list alone dropped 2.
func (t *toxicity) docMask(lang string) (uint32, bool) {
	if lang == "" || lang == LangUndetermined {
		return t.und | toxicExtraBit, true
	}
	iso, _, _ := strings.Cut(lang, "_")
	codes, ok := ldnoobwByISO3[iso]
	if !ok && slices.Contains(ldnoobwCodes, lang) {
		codes = []string{lang}
	}
	var mask uint32
	for _, c := range codes {
		mask |= ldnoobwBit(c) & t.all
	}
	return mask | toxicExtraBit, mask != 0
}

// Process drops the alive rows whose score exceeds max_flagged_ratio and
// records the score, flagged words and words in the drop detail.
func (t *toxicity) Process(_ context.Context, b *pipeline.Batch) error {
	texts, langs := b.Strings(pipeline.ColText), b.Strings(pipeline.ColLang)
	var noList int64
	for i := range b.Len() {
		if !b.Alive(i) {
			continue
		}
		mask, listed := t.docMask(langs.Value(i))
		if !listed {
			noList++
		}
		words, flagged := t.matcher.count(texts.Value(i), mask)
		if words == 0 {
			continue
		}
		score := float64(flagged) / float64(words)
		if score > t.opts.MaxFlaggedRatio {
			detail := `{"signal":"toxic_score","value":` + strconv.FormatFloat(score, 'g', 6, 64) +
				`,"threshold":` + strconv.FormatFloat(t.opts.MaxFlaggedRatio, 'g', -1, 64) +
				`,"flagged_words":` + strconv.Itoa(flagged) + `,"words":` + strconv.Itoa(words) + `}`
			b.DropWithDetail(i, toxicWords, detail)
		}
	}
	t.events.Add(toxicEventNoList, noList)
	return nil
}

// Rune kinds of the word scanner.
const (
	kindSep     = iota // ends a word
	kindWord           // letter, mark or digit of a space-delimited script
	kindNoSpace        // character of a script written without spaces: a word by itself
	kindSymbol         // pictograph: ends a word and can start a substring entry
)

var asciiKind = func() (k [128]uint8) {
	for c := range 128 {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			k[c] = kindWord
		}
	}
	return k
}()

// runeKind classifies a non-ASCII rune. The no-space ranges are Thai, Lao,
// Myanmar, Khmer, kana (with the prolonged sound mark), CJK ideographs and
// their compatibility forms, halfwidth katakana and the supplementary
// ideographic planes.
func runeKind(r rune) uint8 {
	switch {
	case r >= 0x0E00 && r <= 0x0EFF, r >= 0x1000 && r <= 0x109F, r >= 0x1780 && r <= 0x17FF,
		r >= 0x3040 && r <= 0x30FF, r >= 0x3400 && r <= 0x4DBF, r >= 0x4E00 && r <= 0x9FFF,
		r >= 0xF900 && r <= 0xFAFF, r >= 0xFF66 && r <= 0xFF9F, r >= 0x20000 && r <= 0x3FFFF:
		return kindNoSpace
	case unicode.IsLetter(r) || unicode.IsMark(r) || unicode.IsDigit(r):
		return kindWord
	case r >= 0x1F000:
		return kindSymbol
	}
	return kindSep
}

// scanWords calls fn with the byte span of each word of s, in order, and
// reports whether s has a character that a substring entry could start
// with (kindNoSpace or kindSymbol).
func scanWords(s string, fn func(start, end int)) (substr bool) {
	start := -1
	for i := 0; i < len(s); {
		kind, size := uint8(kindSep), 1
		if c := s[i]; c < utf8.RuneSelf {
			kind = asciiKind[c]
		} else {
			var r rune
			r, size = utf8.DecodeRuneInString(s[i:])
			kind = runeKind(r)
		}
		if kind == kindWord {
			if start < 0 {
				start = i
			}
			i += size
			continue
		}
		if start >= 0 {
			fn(start, i)
			start = -1
		}
		if kind == kindNoSpace {
			fn(i, i+size)
		}
		substr = substr || kind >= kindNoSpace
		i += size
	}
	if start >= 0 {
		fn(start, len(s))
	}
	return substr
}

// toxicMatcher finds list entries in text: whole-word entries with one
// hash lookup per text word, substring entries with an Aho-Corasick
// automaton that only runs on texts with a character such an entry could
// start with. It is never changed after newToxicMatcher.
type toxicMatcher struct {
	ids        map[string]int32 // lowercased word of some entry -> id
	single     []uint32         // id -> lists with the word as a one-word entry
	phrases    [][]toxicPhrase  // id of the last word -> entries of several words
	substr     *acMatcher       // nil when no entry is matched as a substring
	substrMask []uint32         // substring pattern id -> lists holding it
	allow      *acMatcher       // allowed words, checked around substring matches
}

// toxicPhrase is an entry of several words: the ids of all but its last.
type toxicPhrase struct {
	words []int32
	mask  uint32
}

// newToxicMatcher builds the matcher. An entry with a character of a
// script written without spaces, or a pictograph, is matched as a
// substring; every other entry as a sequence of whole words. A whole-word
// entry equal to an allowed word is left out.
//
// NOTE: entries without letters, such as "13." in the zh list, are left
// out, because as whole words they would flag every such number.
func newToxicMatcher(entries []toxicEntry, allow []string) (*toxicMatcher, error) {
	m := &toxicMatcher{ids: map[string]int32{}}
	allowed := map[string]bool{}
	for i, a := range allow {
		allow[i] = toxicKey(a)
		allowed[allow[i]] = true
	}
	var patterns []string
	for _, e := range entries {
		key := toxicKey(e.text)
		words, substr := entryWords(key)
		switch {
		case allowed[key] || len(words) == 0 && !substr:
		case substr:
			patterns = append(patterns, key)
			m.substrMask = append(m.substrMask, e.mask)
		case !strings.ContainsFunc(key, unicode.IsLetter):
		default:
			if err := m.addWords(key, words, e.mask); err != nil {
				return nil, err
			}
		}
	}
	if len(patterns) > 0 {
		m.substr = newACMatcher(patterns, true)
	}
	if len(allow) > 0 {
		m.allow = newACMatcher(allow, true)
	}
	return m, nil
}

// toxicKey returns an entry lowercased. Thai entries written with NIKHAHIT
// and SARA AA are rewritten with SARA AM, the single character that text
// normally uses for the same vowel.
func toxicKey(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	return strings.ReplaceAll(s, "\u0e4d\u0e32", "\u0e33")
}

func entryWords(key string) (words []string, substr bool) {
	substr = scanWords(key, func(start, end int) { words = append(words, key[start:end]) })
	return words, substr
}

func (m *toxicMatcher) addWords(entry string, words []string, mask uint32) error {
	if len(words) > toxicMaxPhraseTokens {
		return fmt.Errorf("invalid list entry %q: more than %d words", entry, toxicMaxPhraseTokens)
	}
	ids := make([]int32, len(words))
	for i, w := range words {
		if len(w) > toxicMaxTokenBytes {
			return fmt.Errorf("invalid list entry %q: word longer than %d bytes", entry, toxicMaxTokenBytes)
		}
		id, ok := m.ids[w]
		if !ok {
			id = int32(len(m.single))
			m.ids[w] = id
			m.single = append(m.single, 0)
			m.phrases = append(m.phrases, nil)
		}
		ids[i] = id
	}
	last := ids[len(ids)-1]
	if len(ids) == 1 {
		m.single[last] |= mask
		return nil
	}
	for i, p := range m.phrases[last] {
		if slices.Equal(p.words, ids[:len(ids)-1]) {
			m.phrases[last][i].mask |= mask
			return nil
		}
	}
	m.phrases[last] = append(m.phrases[last], toxicPhrase{ids[:len(ids)-1], mask})
	return nil
}

// lookup returns the id of word lowercased, or -1. It lowercases into a
// stack buffer, and the map lookup on a converted buffer does not allocate.
func (m *toxicMatcher) lookup(word string) int32 {
	if len(word) > toxicMaxTokenBytes*2 {
		return -1
	}
	clean := true
	for i := 0; i < len(word); i++ {
		if c := word[i]; c >= utf8.RuneSelf || c >= 'A' && c <= 'Z' {
			clean = false
			break
		}
	}
	if clean {
		if id, ok := m.ids[word]; ok {
			return id
		}
		return -1
	}
	var buf [toxicMaxTokenBytes*2 + utf8.UTFMax]byte
	out := buf[:0]
	for _, r := range word {
		if len(out) > toxicMaxTokenBytes*2 {
			return -1
		}
		out = utf8.AppendRune(out, unicode.ToLower(r))
	}
	if id, ok := m.ids[string(out)]; ok {
		return id
	}
	return -1
}

// hitCounter counts matches that arrive in order of end offset and, at one
// end, longest first. A match that contains the last counted one replaces
// it and one that partly overlaps it is skipped, so "他妈的" counts once
// although "他妈" and "妈的" are listed too.
type hitCounter struct{ n, start, end int }

func (h *hitCounter) add(start, end int) {
	switch {
	case h.n == 0 || start >= h.end:
		h.n++
		h.start, h.end = start, end
	case start <= h.start:
		h.start, h.end = start, end
	}
}

// toxicScan is the state of counting one text: the ids of the last words,
// for phrase entries, and the whole-word matches so far.
type toxicScan struct {
	m     *toxicMatcher
	text  string
	mask  uint32
	words int
	ring  [toxicMaxPhraseTokens]int32
	hits  hitCounter
}

// count returns the words of text and the flagged words among them for the
// lists in mask.
func (m *toxicMatcher) count(text string, mask uint32) (words, flagged int) {
	sc := toxicScan{m: m, text: text, mask: mask}
	substr := scanWords(text, sc.word)
	flagged = sc.hits.n
	if substr && m.substr != nil {
		flagged += m.countSubstrings(text, mask)
	}
	return sc.words, flagged
}

func (sc *toxicScan) word(start, end int) {
	sc.words++
	id := sc.m.lookup(sc.text[start:end])
	sc.ring[sc.words%toxicMaxPhraseTokens] = id
	if id < 0 {
		return
	}
	best := 0
	if sc.m.single[id]&sc.mask != 0 {
		best = 1
	}
	for _, p := range sc.m.phrases[id] {
		if p.mask&sc.mask == 0 || len(p.words) < best || len(p.words) >= sc.words {
			continue
		}
		if sc.precededBy(p.words) {
			best = len(p.words) + 1
		}
	}
	if best > 0 {
		sc.hits.add(sc.words-best, sc.words)
	}
}

// precededBy reports whether the words before the current one are ids.
func (sc *toxicScan) precededBy(ids []int32) bool {
	first := sc.words - len(ids)
	for k, id := range ids {
		if sc.ring[(first+k)%toxicMaxPhraseTokens] != id {
			return false
		}
	}
	return true
}

type byteSpan struct{ start, end int }

// countSubstrings counts the substring entries in mask found in text,
// leaving out matches that lie inside an allowed word.
func (m *toxicMatcher) countSubstrings(text string, mask uint32) int {
	var hitBuf, allowBuf [32]byteSpan
	hits := hitBuf[:0]
	m.substr.scan(text, func(id, end int) {
		if m.substrMask[id]&mask != 0 {
			hits = append(hits, byteSpan{end - len(m.substr.patterns[id]), end})
		}
	})
	if len(hits) == 0 {
		return 0
	}
	allowed := allowBuf[:0]
	if m.allow != nil {
		m.allow.scan(text, func(id, end int) {
			allowed = append(allowed, byteSpan{end - len(m.allow.patterns[id]), end})
		})
	}
	var counter hitCounter
	for _, h := range hits {
		inside := false
		for _, a := range allowed {
			inside = inside || a.start <= h.start && h.end <= a.end
		}
		if !inside {
			counter.add(h.start, h.end)
		}
	}
	return counter.n
}
