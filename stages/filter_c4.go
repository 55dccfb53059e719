package stages

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/winnow-data/winnow/pipeline"
)

// Drop reasons of c4, in the order its document rules are checked.
const (
	c4LoremIpsum       = "c4_lorem_ipsum"
	c4CurlyBracket     = "c4_curly_bracket"
	c4TooFewSentences  = "c4_too_few_sentences"
	c4EventLinePunct   = "c4_line_no_terminal_punct"
	c4EventLineWords   = "c4_line_too_few_words"
	c4EventLineLong    = "c4_line_long_word"
	c4EventLineJS      = "c4_line_javascript"
	c4EventLinePolicy  = "c4_line_policy"
	c4LineRuleCount    = 5
	c4LineKept         = -1
	c4SentenceClosings = "\"')]”’»"
)

// c4LineEvents names the line rules by index, in the order they are checked.
// A removed line is counted under the first rule it fails.
var c4LineEvents = [c4LineRuleCount]string{c4EventLinePunct, c4EventLineWords, c4EventLineLong, c4EventLineJS, c4EventLinePolicy}

const c4Doc = "Cleans documents line by line with the C4 rules (terminal punctuation, at least 3 words, " +
	"no word over 1000 characters, no \"javascript\", no cookie or policy boilerplate) and drops documents " +
	"that contain \"lorem ipsum\" or \"{\", or keep fewer than 5 sentences. Removed lines are counted by rule."

func init() {
	pipeline.Register("c4", c4Doc, true, DefaultC4Options(), newC4Filter)
}

// C4Options configures the c4 stage. The defaults are the C4 corpus rules
// as datatrove and NeMo Curator document them.
type C4Options struct {
	Languages            []string `yaml:"languages" doc:"lang labels the rules apply to; documents with another label pass unchanged, documents with an empty lang or und are checked; [] checks every document; default [eng_Latn]"`
	RequireTerminalPunct bool     `yaml:"require_terminal_punctuation" doc:"remove lines that do not end in . ? ! \" or ', or that end in \"...\"; default true"`
	MinWordsPerLine      int      `yaml:"min_words_per_line" doc:"remove lines with fewer whitespace-separated words; 0 turns the rule off; default 3"`
	MaxWordLength        int      `yaml:"max_word_length" doc:"remove lines with a word longer than this, in code points; 0 turns the rule off; default 1000"`
	DropJavascriptLines  bool     `yaml:"drop_javascript_lines" doc:"remove lines that contain \"javascript\" in any ASCII case; default true"`
	PolicyPhrases        []string `yaml:"policy_phrases" doc:"remove lines that contain one of these phrases in any ASCII case; [] turns the rule off; default [terms of use, privacy policy, cookie policy, uses cookies, use of cookies, use cookies]"`
	DropLoremIpsum       bool     `yaml:"drop_lorem_ipsum" doc:"drop documents that contain \"lorem ipsum\" in any ASCII case, before cleaning; default true"`
	DropCurlyBracket     bool     `yaml:"drop_curly_bracket" doc:"drop documents that contain \"{\", before cleaning; default true"`
	MinSentences         int      `yaml:"min_sentences" doc:"drop documents with fewer sentences after cleaning; 0 turns the rule off; default 5"`
	RemoveCitations      bool     `yaml:"remove_citations" doc:"delete Wikipedia-style citation marks ([12], [], [edit], [citation needed], in any ASCII case) from each line before the line rules, as C4's own cleaning does; default true"`
}

// DefaultC4Options returns the options a config that names none gets. The
// policy phrases catch cookie banners and "terms of use" or "privacy
// policy" footer links. The phrase "use cookies" also matches "we use cookies".
func DefaultC4Options() C4Options {
	return C4Options{
		Languages:            []string{"eng_Latn"},
		RequireTerminalPunct: true,
		MinWordsPerLine:      3,
		MaxWordLength:        1000,
		DropJavascriptLines:  true,
		PolicyPhrases:        []string{"terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies", "use cookies"},
		DropLoremIpsum:       true,
		DropCurlyBracket:     true,
		MinSentences:         5,
		RemoveCitations:      true,
	}
}

// Validate checks the thresholds, phrases and language labels. The error
// names the first bad field and its value.
func (o *C4Options) Validate() error {
	switch {
	case o.MinWordsPerLine < 0:
		return fmt.Errorf("invalid min_words_per_line %d: must be 0 or more", o.MinWordsPerLine)
	case o.MaxWordLength < 0:
		return fmt.Errorf("invalid max_word_length %d: must be 0 or more", o.MaxWordLength)
	case o.MinSentences < 0:
		return fmt.Errorf("invalid min_sentences %d: must be 0 or more", o.MinSentences)
	}
	for _, p := range o.PolicyPhrases {
		if strings.TrimSpace(p) == "" {
			return fmt.Errorf("invalid policy_phrases entry %q: empty", p)
		}
	}
	return validateLanguages(o.Languages)
}

// c4Filter is the c4 stage. It only reads its options; buffers come from
// c4BufferPool, so concurrent Process calls share nothing they write.
type c4Filter struct {
	opts  C4Options
	match *c4Matchers
	langs langGate
	env   pipeline.Env
}

func newC4Filter(opts C4Options, env pipeline.Env) (pipeline.Stage, error) {
	return &c4Filter{opts: opts, match: newC4Matchers(&opts), langs: newLangGate(opts.Languages), env: env}, nil
}

// c4Matchers holds the phrase searches of the C4 rules, built once from
// the options.
type c4Matchers struct {
	lorem *foldMatcher
	line  *foldMatcher // "javascript" first when that rule is on, then the policy phrases
	js    bool         // pattern 0 of line is "javascript"
}

func newC4Matchers(opts *C4Options) *c4Matchers {
	m := &c4Matchers{lorem: newFoldMatcher([]string{"lorem ipsum"}), js: opts.DropJavascriptLines}
	var patterns []string
	if m.js {
		patterns = append(patterns, "javascript")
	}
	m.line = newFoldMatcher(append(patterns, opts.PolicyPhrases...))
	return m
}

// Process replaces the text of each checked alive row with its cleaned
// lines and drops the rows that fail a document rule. Removed lines are
// counted for every checked row, including rows then dropped.
func (f *c4Filter) Process(_ context.Context, b *pipeline.Batch) error {
	langs := b.Strings(pipeline.ColLang)
	var removed [c4LineRuleCount]int64
	bufs := c4BufferPool.Get().(*c4Buffers)
	defer c4BufferPool.Put(bufs)

	b.MapStrings(pipeline.ColText, func(i int, text string) (string, bool) {
		if !f.langs.checks(langs.Value(i)) {
			return text, false
		}
		s := cleanC4(text, &f.opts, f.match, bufs)
		for r, n := range s.RemovedLines {
			removed[r] += int64(n)
		}
		if reason := f.opts.failedRule(s); reason != "" {
			if reason == c4TooFewSentences {
				b.DropSignal(i, reason, "sentences", float64(s.Sentences), float64(f.opts.MinSentences))
			} else {
				b.Drop(i, reason)
			}
			return text, false
		}
		if string(bufs.out) == text {
			return text, false
		}
		return string(bufs.out), true
	})

	for r, n := range removed {
		f.env.Events.Add(c4LineEvents[r], n)
	}
	return nil
}

// failedRule returns the reason code of the first document rule s fails, or "".
func (o *C4Options) failedRule(s C4Signals) string {
	switch {
	case o.DropLoremIpsum && s.LoremIpsum:
		return c4LoremIpsum
	case o.DropCurlyBracket && s.CurlyBracket:
		return c4CurlyBracket
	case s.Sentences < o.MinSentences:
		return c4TooFewSentences
	}
	return ""
}

// C4Signals are the measurements of the C4 rules, taken by MeasureC4.
//
// A line is the text between two LFs with surrounding whitespace trimmed.
// Blank lines are removed without being counted, so the cleaned text is the
// kept lines, trimmed, joined by single LFs. A sentence ends at a run of
// '.', '?' or '!' followed by the end of the line, whitespace or a closing
// quote or bracket (" ' ) ] ” ’ »). So "e.g. this" counts one sentence end
// and "3.5" none: an estimate, as C4 has no sentence splitter of its own to
// follow.
type C4Signals struct {
	Lines        int                  // non-blank lines
	KeptLines    int                  // lines that pass every line rule
	RemovedLines [c4LineRuleCount]int // removed lines by first failing rule, in c4LineEvents order
	Sentences    int                  // sentence ends in the kept lines
	LoremIpsum   bool                 // the text, before cleaning, contains "lorem ipsum" in any ASCII case
	CurlyBracket bool                 // the text, before cleaning, contains '{'
}

// c4Buffers is the scratch space of cleanC4, reused between documents.
type c4Buffers struct {
	out  []byte // the cleaned text
	line []byte // one line with its citation marks deleted
}

var c4BufferPool = sync.Pool{New: func() any { return new(c4Buffers) }}

// MeasureC4 measures text for the C4 rules that opts sets. It builds the
// phrase matchers on every call, which the stage does once.
func MeasureC4(text string, opts *C4Options) C4Signals {
	bufs := c4BufferPool.Get().(*c4Buffers)
	defer c4BufferPool.Put(bufs)
	return cleanC4(text, opts, newC4Matchers(opts), bufs)
}

// cleanC4 measures text and leaves its cleaned form in bufs.out.
func cleanC4(text string, opts *C4Options, match *c4Matchers, bufs *c4Buffers) C4Signals {
	var s C4Signals
	bufs.out = bufs.out[:0]
	s.LoremIpsum = match.lorem.first(text) >= 0
	s.CurlyBracket = strings.IndexByte(text, '{') >= 0

	for start := 0; start <= len(text); {
		end := strings.IndexByte(text[start:], '\n')
		if end < 0 {
			end = len(text)
		} else {
			end += start
		}
		from, to := trimSpaceSpan(text, start, end)
		start = end + 1
		if from == to {
			continue
		}

		s.Lines++
		line := text[from:to]
		if opts.RemoveCitations {
			line = stripCitations(line, bufs)
		}
		if rule := c4LineRule(line, opts, match); rule != c4LineKept {
			s.RemovedLines[rule]++
			continue
		}
		s.KeptLines++
		s.Sentences += countSentenceEnds(line)
		if len(bufs.out) > 0 {
			bufs.out = append(bufs.out, '\n')
		}
		bufs.out = append(bufs.out, line...)
	}
	return s
}

// stripCitations returns line without its citation marks: "[" followed by
// digits or nothing and "]", "[edit]" and "[citation needed]", the last
// two in any ASCII case. Lines without '[' are returned as they are, and
// only lines with a mark cost an allocation.
func stripCitations(line string, bufs *c4Buffers) string {
	i := strings.IndexByte(line, '[')
	if i < 0 {
		return line
	}
	out := bufs.line[:0]
	for i >= 0 {
		n := citationLen(line[i:])
		if n == 0 {
			out = append(out, line[:i+1]...)
			line = line[i+1:]
		} else {
			out = append(out, line[:i]...)
			line = line[i+n:]
		}
		i = strings.IndexByte(line, '[')
	}
	out = append(out, line...)
	bufs.line = out
	return string(out)
}

// citationLen returns the length of the citation mark s starts with, or 0.
func citationLen(s string) int {
	j := 1
	for j < len(s) && '0' <= s[j] && s[j] <= '9' {
		j++
	}
	if j < len(s) && s[j] == ']' {
		return j + 1
	}
	for _, mark := range [...]string{"[edit]", "[citation needed]"} {
		if len(s) >= len(mark) && strings.EqualFold(s[:len(mark)], mark) {
			return len(mark)
		}
	}
	return 0
}

// c4LineRule returns the index in c4LineEvents of the first rule the
// trimmed, non-blank line fails, or c4LineKept.
func c4LineRule(line string, opts *C4Options, match *c4Matchers) int {
	if opts.RequireTerminalPunct && !endsInTerminalPunct(line) {
		return 0
	}
	if rule := c4WordRule(line, opts); rule != c4LineKept {
		return rule
	}
	switch p := match.line.first(line); {
	case p < 0:
		return c4LineKept
	case p == 0 && match.js:
		return 3
	}
	return 4
}

// c4WordRule checks the word count and word length rules. A line of no
// more bytes than max_word_length cannot hold a long word, so for most
// lines counting stops once min_words_per_line words are seen.
func c4WordRule(line string, opts *C4Options) int {
	checkLength := opts.MaxWordLength > 0 && len(line) > opts.MaxWordLength
	words := 0
	for i := 0; checkLength || words < opts.MinWordsPerLine; {
		start, end, chars, _ := nextWord(line, i)
		if start == end {
			break
		}
		if checkLength && chars > opts.MaxWordLength {
			// The word count rule comes first, so it needs the whole count.
			if words+1+countWords(line[end:]) < opts.MinWordsPerLine {
				return 1
			}
			return 2
		}
		words++
		i = end
	}
	if words < opts.MinWordsPerLine {
		return 1
	}
	return c4LineKept
}

func countWords(s string) int {
	n := 0
	for i := 0; ; n++ {
		start, end, _, _ := nextWord(s, i)
		if start == end {
			return n
		}
		i = end
	}
}

// endsInTerminalPunct reports whether line ends in . ? ! " or ' and not in
// "...". C4 lists these ASCII marks only, so a line that ends in a curly
// quote is removed.
func endsInTerminalPunct(line string) bool {
	if line == "" {
		return false
	}
	switch line[len(line)-1] {
	case '?', '!', '"', '\'':
		return true
	case '.':
		return !strings.HasSuffix(line, "...")
	}
	return false
}

// countSentenceEnds counts the sentence ends in line, as C4Signals defines them.
func countSentenceEnds(line string) int {
	n := 0
	for i := 0; i < len(line); i++ {
		if !isSentenceMark(line[i]) {
			continue
		}
		for i+1 < len(line) && isSentenceMark(line[i+1]) {
			i++
		}
		rest := line[i+1:]
		if rest == "" || asciiSpace[rest[0]] || startsWithClosing(rest) {
			n++
		} else if r, _ := utf8.DecodeRuneInString(rest); r >= utf8.RuneSelf && unicode.IsSpace(r) {
			n++
		}
	}
	return n
}

func isSentenceMark(c byte) bool { return c == '.' || c == '?' || c == '!' }

func startsWithClosing(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return strings.ContainsRune(c4SentenceClosings, r)
}

// trimSpaceSpan returns the span of s[start:end] without leading and
// trailing whitespace, as byte offsets into s.
func trimSpaceSpan(s string, start, end int) (int, int) {
	for start < end {
		c := s[start]
		if c < utf8.RuneSelf {
			if !asciiSpace[c] {
				break
			}
			start++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[start:end])
		if !unicode.IsSpace(r) {
			break
		}
		start += size
	}
	for end > start {
		c := s[end-1]
		if c < utf8.RuneSelf {
			if !asciiSpace[c] {
				break
			}
			end--
			continue
		}
		r, size := utf8.DecodeLastRuneInString(s[start:end])
		if !unicode.IsSpace(r) {
			break
		}
		end -= size
	}
	return start, end
}

// foldMatcher finds a few phrases in text, folding ASCII case, in one
// pass: at each byte that can start a phrase it compares the phrases that
// start with it.
type foldMatcher struct {
	phrases []string     // lowercase
	byFirst [256][]int32 // indices into phrases, by first byte in either case
}

func newFoldMatcher(phrases []string) *foldMatcher {
	m := &foldMatcher{}
	for _, p := range phrases {
		p = string(appendLowerASCII(nil, p))
		m.phrases = append(m.phrases, p)
		if p == "" {
			continue
		}
		c := p[0]
		m.byFirst[c] = append(m.byFirst[c], int32(len(m.phrases)-1))
		if 'a' <= c && c <= 'z' {
			m.byFirst[c-'a'+'A'] = m.byFirst[c]
		}
	}
	return m
}

// first returns the lowest index of a phrase that occurs in text, or -1.
func (m *foldMatcher) first(text string) int {
	best := -1
	for j := 0; j < len(text); j++ {
		for _, k := range m.byFirst[text[j]] {
			if (best < 0 || int(k) < best) && hasPrefixFold(text[j:], m.phrases[k]) {
				best = int(k)
			}
		}
		if best == 0 {
			return 0
		}
	}
	return best
}

// hasPrefixFold reports whether s starts with the lowercase prefix, folding ASCII case.
func hasPrefixFold(s, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for k := range len(prefix) {
		c := s[k]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != prefix[k] {
			return false
		}
	}
	return true
}

// appendLowerASCII appends s to dst with ASCII letters lowercased. Other
// bytes are copied, so byte offsets in s are offsets in the result.
func appendLowerASCII(dst []byte, s string) []byte {
	n := len(dst)
	dst = append(dst, s...)
	for i, c := range dst[n:] {
		if 'A' <= c && c <= 'Z' {
			dst[n+i] = c + 'a' - 'A'
		}
	}
	return dst
}
