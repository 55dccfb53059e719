package stages

import (
	"context"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/winnow-data/winnow/pipeline"
)

// Drop reasons of the normalize stage.
const (
	normalizeReasonInvalidUTF8 = "invalid_utf8"
	normalizeReasonEmptyText   = "empty_text"
)

// Event names of the normalize stage. Each event counts the kept documents
// that one repair changed, once per document however many changes it made.
const (
	normalizeEventRepaired    = "invalid_utf8_repaired"
	normalizeEventNFC         = "nfc_changed"
	normalizeEventControls    = "control_chars_removed"
	normalizeEventLineEndings = "line_endings_normalized"
	normalizeEventZeroWidth   = "zero_width_removed"
)

const normalizeReplacementString = "\uFFFD"

const normalizeDoc = "Makes text valid UTF-8 in NFC: replaces invalid byte sequences with U+FFFD, " +
	"removes C0 control characters (tab, LF and CR stay; vertical tab and form feed become LF), " +
	"rewrites CRLF and CR as LF, removes zero-width characters, trims trailing whitespace, " +
	"and drops documents that are mostly invalid (invalid_utf8) or empty (empty_text)."

func init() {
	pipeline.Register("normalize", normalizeDoc, true, DefaultNormalizeOptions(), newNormalizer)
}

// NormalizeOptions configures the normalize stage.
type NormalizeOptions struct {
	// MaxInvalidFraction counts every U+FFFD in the repaired text, those that
	// replaced invalid bytes and those the input already had, because both
	// mark text that an earlier decoder lost.
	MaxInvalidFraction   float64 `yaml:"max_invalid_fraction" doc:"largest share of a document's code points that may be U+FFFD replacement characters after repair; a document above it is dropped as invalid_utf8; 0 to 1, default 0.01"`
	NormalizeLineEndings bool    `yaml:"normalize_line_endings" doc:"rewrite CRLF and lone CR line endings as LF; default true"`
	RemoveZeroWidth      bool    `yaml:"remove_zero_width" doc:"delete U+200B ZERO WIDTH SPACE, U+2060 WORD JOINER, U+FEFF BYTE ORDER MARK and U+00AD SOFT HYPHEN, which render as nothing and make copies of a text hash differently; default true"`
}

// DefaultNormalizeOptions returns the options a config that names none gets.
func DefaultNormalizeOptions() NormalizeOptions {
	return NormalizeOptions{MaxInvalidFraction: 0.01, NormalizeLineEndings: true, RemoveZeroWidth: true}
}

// Validate checks that MaxInvalidFraction is a fraction.
func (o *NormalizeOptions) Validate() error {
	if !(o.MaxInvalidFraction >= 0 && o.MaxInvalidFraction <= 1) {
		return fmt.Errorf("invalid max_invalid_fraction %v: must be between 0 and 1", o.MaxInvalidFraction)
	}
	return nil
}

// normalizer is the normalize stage. Process keeps its working state on
// the stack and Env.Events is safe for concurrent use, so the engine may run
// Process on several batches at once.
type normalizer struct {
	opts NormalizeOptions
	env  pipeline.Env
}

func newNormalizer(opts NormalizeOptions, env pipeline.Env) (pipeline.Stage, error) {
	return &normalizer{opts: opts, env: env}, nil
}

// normalizeCounts are the documents of one batch that each repair changed.
// They are added to Env.Events once per batch, to keep the shared counter's
// lock out of the per-document path.
type normalizeCounts struct {
	repaired, nfc, controls, lineEndings, zeroWidth int64
}

// Process normalizes the text of every alive row and drops the rows that are
// mostly invalid or empty afterwards.
func (n *normalizer) Process(_ context.Context, b *pipeline.Batch) error {
	var counts normalizeCounts
	b.MapStrings(pipeline.ColText, func(i int, s string) (string, bool) {
		out, reason := n.normalizeText(s, &counts)
		if reason != "" {
			b.Drop(i, reason)
			return s, false
		}
		return out, out != s
	})

	n.env.Events.Add(normalizeEventRepaired, counts.repaired)
	n.env.Events.Add(normalizeEventNFC, counts.nfc)
	n.env.Events.Add(normalizeEventControls, counts.controls)
	n.env.Events.Add(normalizeEventLineEndings, counts.lineEndings)
	n.env.Events.Add(normalizeEventZeroWidth, counts.zeroWidth)
	return nil
}

// normalizeText returns s normalized, or the reason to drop it. It adds to
// counts only for documents it keeps. Clean text takes one read-only scan
// and no copy: the result is s or a prefix of it.
func (n *normalizer) normalizeText(s string, counts *normalizeCounts) (string, string) {
	scan := n.scan(s)
	var edits textEdits
	text := s
	rewritten := scan.needsRewrite(n.opts)
	if rewritten {
		text, edits = n.rewrite(s)
	}

	// After a rewrite the scan's NFC check no longer holds: removing a
	// control character can put a combining mark next to its base.
	nfcChanged := false
	if (scan.nfcUnsure || (rewritten && scan.nonASCII)) && !norm.NFC.IsNormalString(text) {
		text = norm.NFC.String(text)
		nfcChanged = true
	}
	text = strings.TrimRightFunc(text, unicode.IsSpace)

	if replacements := scan.replacementChars + edits.replaced; replacements > 0 {
		fraction := float64(replacements) / float64(utf8.RuneCountInString(text))
		if fraction > n.opts.MaxInvalidFraction {
			return "", normalizeReasonInvalidUTF8
		}
	}
	if text == "" {
		return "", normalizeReasonEmptyText
	}

	counts.add(edits, nfcChanged)
	return text, ""
}

func (c *normalizeCounts) add(e textEdits, nfcChanged bool) {
	if e.replaced > 0 {
		c.repaired++
	}
	if nfcChanged {
		c.nfc++
	}
	if e.controls > 0 {
		c.controls++
	}
	if e.lineEndings > 0 {
		c.lineEndings++
	}
	if e.zeroWidth > 0 {
		c.zeroWidth++
	}
}

// textScan is the result of a read-only pass over a document.
type textScan struct {
	nonASCII         bool // a byte >= 0x80
	nfcUnsure        bool // NFC's quick check could not show the text is NFC
	invalid          bool // a byte sequence that is not UTF-8
	controls         bool // a C0 control other than tab and LF, or a CR
	zeroWidth        bool // one of the code points remove_zero_width deletes
	replacementChars int  // U+FFFD already in the input
}

func (sc textScan) needsRewrite(opts NormalizeOptions) bool {
	return sc.invalid || sc.controls || (sc.zeroWidth && opts.RemoveZeroWidth)
}

// scan reads s once. Runs of 8 bytes that are printable ASCII are skipped
// with one word test, which is what makes clean English text cheap.
func (n *normalizer) scan(s string) textScan {
	var sc textScan
	for i := 0; i < len(s); {
		if i+8 <= len(s) && isPrintableASCII8(s[i:i+8]) {
			i += 8
			continue
		}
		c := s[i]
		if c >= utf8.RuneSelf {
			i = sc.scanNonASCII(s, i)
			continue
		}
		if c < 0x20 && c != '\t' && c != '\n' && (c != '\r' || n.opts.NormalizeLineEndings) {
			sc.controls = true
		}
		i++
	}
	return sc
}

// scanNonASCII reads the run of non-ASCII code points that starts at byte
// offset start and returns the offset after it.
//
// NFC is checked per run, together with the ASCII byte before it, and not
// over the whole text, so the ASCII bulk of most documents skips the
// normalization tables. That is exact because an ASCII character is a
// starter that never combines with the character before it (see
// TestNoCompositionEndsInASCII), so no run affects the NFC of another. When
// a run fails the quick check, normalizeText checks the whole text.
func (sc *textScan) scanNonASCII(s string, start int) int {
	sc.nonASCII = true
	i := start
	for i < len(s) && s[i] >= utf8.RuneSelf {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			sc.invalid = true
		case r == utf8.RuneError:
			sc.replacementChars++
		case isZeroWidth(r):
			sc.zeroWidth = true
		}
		i += size
	}
	if !sc.nfcUnsure && !sc.invalid {
		segment := s[max(start-1, 0):i]
		sc.nfcUnsure = norm.NFC.QuickSpanString(segment) != len(segment)
	}
	return i
}

// isPrintableASCII8 reports whether none of the 8 bytes of w is a C0
// control or a byte >= 0x80. The second term is the classic test for a byte
// below 0x20 in a word, and the first catches bytes >= 0x80.
func isPrintableASCII8(w string) bool {
	x := uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
		uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
	const low, high = 0x2020202020202020, 0x8080808080808080
	return (x|((x-low)&^x))&high == 0
}

// isZeroWidth reports whether r is one of the invisible code points that
// remove_zero_width deletes. U+200C and U+200D (ZWNJ, ZWJ) are kept because
// they change how Persian, Indic scripts and emoji sequences render.
func isZeroWidth(r rune) bool {
	return r == '\u200B' || r == '\u2060' || r == '\uFEFF' || r == '\u00AD'
}

// textEdits counts what rewrite changed in one document.
type textEdits struct {
	replaced    int // invalid byte sequences replaced by U+FFFD
	controls    int // C0 controls removed or turned into LF
	lineEndings int // CRLF or CR rewritten as LF
	zeroWidth   int // zero-width code points removed
}

// rewrite copies s with invalid UTF-8 replaced, C0 controls removed, and
// line endings and zero-width code points handled as the options set.
//
// Control policy: tab, LF and CR are kept (CR only when
// normalize_line_endings is off). Vertical tab and form feed become LF,
// because they separate lines, and deleting them would join the words on
// either side. Every other C0 control, NUL included, is deleted. DEL (0x7F)
// and the C1 controls U+0080 to U+009F are kept: they are often the trace of
// a wrong code page, which a later repair step may still want to see.
func (n *normalizer) rewrite(s string) (string, textEdits) {
	var (
		e     textEdits
		out   strings.Builder
		clean int // start of the bytes read but not yet copied, which need no change
	)
	out.Grow(len(s))
	replace := func(i, size int, with string) {
		out.WriteString(s[clean:i])
		out.WriteString(with)
		clean = i + size
	}
	for i := 0; i < len(s); {
		if i+8 <= len(s) && isPrintableASCII8(s[i:i+8]) {
			i += 8
			continue
		}
		c := s[i]
		size := 1
		switch {
		case c >= utf8.RuneSelf:
			var r rune
			r, size = utf8.DecodeRuneInString(s[i:])
			switch {
			case r == utf8.RuneError && size == 1:
				size = maximalSubpart(s[i:])
				replace(i, size, normalizeReplacementString)
				e.replaced++
			case n.opts.RemoveZeroWidth && isZeroWidth(r):
				replace(i, size, "")
				e.zeroWidth++
			}
		case c == '\r' && n.opts.NormalizeLineEndings:
			if i+1 < len(s) && s[i+1] == '\n' {
				size = 2
			}
			replace(i, size, "\n")
			e.lineEndings++
		case c == '\v' || c == '\f':
			replace(i, size, "\n")
			e.controls++
		case c < 0x20 && c != '\t' && c != '\n' && c != '\r':
			replace(i, size, "")
			e.controls++
		}
		i += size
	}
	out.WriteString(s[clean:])
	return out.String(), e
}

// maximalSubpart returns the length of the invalid sequence at the start of
// s, which must not begin with a valid UTF-8 encoding. It follows the
// practice that the Unicode Standard recommends (section 3.9, "U+FFFD
// Substitution of Maximal Subparts") and the WHATWG Encoding Standard
// requires. A lead byte and the continuation bytes that could still have
// completed it are one error, so a truncated "\xE2\x82" becomes one U+FFFD.
// Every other stray byte is an error of its own.
func maximalSubpart(s string) int {
	// want is the length the lead byte announces; lo and hi bound the byte
	// after it, which excludes overlong forms, surrogates and values past
	// U+10FFFF.
	lo, hi := byte(0x80), byte(0xBF)
	var want int
	switch c := s[0]; {
	case c >= 0xC2 && c <= 0xDF:
		want = 2
	case c == 0xE0:
		want, lo = 3, 0xA0
	case c == 0xED:
		want, hi = 3, 0x9F
	case c >= 0xE1 && c <= 0xEF:
		want = 3
	case c == 0xF0:
		want, lo = 4, 0x90
	case c >= 0xF1 && c <= 0xF3:
		want = 4
	case c == 0xF4:
		want, hi = 4, 0x8F
	default:
		return 1
	}
	if len(s) < 2 || s[1] < lo || s[1] > hi {
		return 1
	}
	n := 2
	for n < want && n < len(s) && s[n] >= 0x80 && s[n] <= 0xBF {
		n++
	}
	return n
}
