package stages

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// MeasureGopher measures text for the Gopher rules in one pass, without
// allocating. stop may be nil, which leaves GopherSignals.StopWords at 0.
func MeasureGopher(text string, stop *StopWords) GopherSignals {
	g := gopherScan{text: text, stop: stop}
	bmp := gopherBMPClasses()
	for i := 0; i < len(text); {
		c := text[i]
		class := gopherByteClass[c]
		if class <= gopherLetter {
			i = g.asciiWordRun(i)
			continue
		}
		r, size := rune(c), 1
		if class == gopherMultiByte {
			r, size = utf8.DecodeRuneInString(text[i:])
			class = runeClass(bmp, r)
		}

		if r != '.' && g.dots > 0 {
			g.flushDots()
		}
		switch {
		case r == '\n':
			g.endToken()
			g.endLine(i + 1)
		case class == gopherSpace:
			g.endToken()
		case class <= gopherStrip:
			g.visible(i, size, r, class)
		default:
			g.visibleSplit(i, size, r, class)
		}
		i += size
	}
	g.flushDots()
	g.endToken()
	g.endLine(len(text))
	return g.sig
}

// gopherScan is the state of MeasureGopher's pass. Byte offsets index text.
// The token fields describe the token being read, whose core is the span
// from its first to its last code point that is not stripped. A token is
// a run of one kind (see runKind): a Katakana run ends where a code point
// of another script starts, and so does a run of other scripts.
type gopherScan struct {
	text string
	stop *StopWords
	sig  GopherSignals

	inToken      bool
	tokenKind    uint8 // runPlain, runKana or runComplex; runPlain when no token is open
	tokenRunes   int   // code points of the token so far
	coreStart    int   // byte offset of the core, valid when hasCore
	coreEnd      int   // byte offset past the core
	coreRuneFrom int   // code-point index of the core's start within the token
	coreRuneTo   int   // code-point index past the core's end
	hasCore      bool
	hasLetter    bool

	lineStart   int // byte offset of the line's first byte
	lineContent bool
	contentEnd  int // byte offset past the line's last non-space code point
	dots        int // length of the current run of '.'
}

// asciiWordRun consumes the ASCII letters and digits from byte offset i on
// and returns the offset after them. None of them is a bullet, a dot, a '#'
// or stripped, so the whole run is one step for the line and token state.
// Most bytes of Latin-script text take this path. The token being read, if
// any, is a plain one, because visibleSplit ends a Katakana or Thai run
// before an ASCII byte.
func (g *gopherScan) asciiWordRun(i int) int {
	text := g.text
	j, letters := i, uint8(0)
	for ; j < len(text); j++ {
		class := gopherByteClass[text[j]]
		if class > gopherLetter {
			break
		}
		letters |= class
	}

	if g.dots > 0 {
		g.flushDots()
	}
	g.lineContent = true
	g.extendToken(i, j, j-i, true, letters == gopherLetter)
	return j
}

// visible handles a code point of a spaced script, or a punctuation mark
// or symbol, at byte offset i: a letter, a digit or a stripped code point.
func (g *gopherScan) visible(i, size int, r rune, class uint8) {
	if !g.lineContent {
		g.lineContent = true
		if isGopherBullet(r) {
			g.sig.BulletLines++
		}
	}
	g.switchKind(runPlain)
	g.extendToken(i, i+size, 1, class != gopherStrip, class == gopherLetter)

	switch r {
	case '#':
		g.sig.Hashes++
	case '.':
		g.dots++
	case '…':
		g.sig.Ellipses++
	default:
		if class == gopherStrip && len(g.stop.singleRunes()) > 0 {
			g.stopMark(r)
		}
	}
}

// visibleSplit handles a code point at byte offset i whose class splits
// words in another way than whitespace: see the classes from gopherMark on.
// None of them is a bullet, a '#' or part of an ellipsis.
func (g *gopherScan) visibleSplit(i, size int, r rune, class uint8) {
	g.lineContent = true
	switch class {
	case gopherIdeo:
		g.endToken()
		g.ideograph(i+size, r)
	case gopherMark:
		g.mark(i, size)
	case gopherKana, gopherComplex:
		kind := runKind(class)
		g.switchKind(kind)
		g.extendToken(i, i+size, 1, true, false)
		g.tokenKind = kind
		if end := i + size; end == len(g.text) || g.text[end] < utf8.RuneSelf {
			g.endToken() // an ASCII byte never continues the run
		}
	case gopherBreak:
		g.endToken()
		g.contentEnd = i + size
		g.stopMark(r)
	}
}

// ideograph counts the Han or Hiragana letter r, which ends before byte
// offset end, as a word of its own.
func (g *gopherScan) ideograph(end int, r rune) {
	g.sig.Words++
	g.sig.WordChars++
	g.sig.AlphaWords++
	if g.stop != nil && g.stop.containsRune(r) {
		g.sig.StopWords++
	}
	g.contentEnd = end
}

// mark adds a combining mark at byte offset i to the word before it: the
// token being read, or a Han or Hiragana word just counted. Anywhere else
// it starts a token, as a digit would.
func (g *gopherScan) mark(i, size int) {
	switch {
	case g.inToken:
		g.extendToken(i, i+size, 1, true, false)
	case g.followsIdeograph(i):
		g.sig.WordChars++
		g.contentEnd = i + size
	default:
		g.extendToken(i, i+size, 1, true, false)
	}
}

// followsIdeograph reports whether the code points before byte offset i,
// skipping marks, end with a Han or Hiragana letter. Marks after an
// ideograph are rare, so looking back costs less than tracking it.
func (g *gopherScan) followsIdeograph(i int) bool {
	bmp := gopherBMPClasses()
	for i > 0 {
		r, size := utf8.DecodeLastRuneInString(g.text[:i])
		switch runeClass(bmp, r) {
		case gopherIdeo:
			return true
		case gopherMark:
			i -= size
		default:
			return false
		}
	}
	return false
}

// stopMark counts r, a punctuation mark or symbol, when it is a stop word
// by itself.
func (g *gopherScan) stopMark(r rune) {
	if g.stop.containsRune(r) {
		g.sig.StopWords++
	}
}

// switchKind ends the token being read if it is not of kind, so that the
// next code point starts a token of its own. tokenKind is runPlain
// whenever no token is open, so one comparison serves the ASCII path.
func (g *gopherScan) switchKind(kind uint8) {
	if g.tokenKind != kind && g.inToken {
		g.endToken()
	}
}

// extendToken adds text[i:j], which holds runes code points, to the token
// being read, starting one of kind runPlain if there is none. A caller that
// starts a Katakana or Thai run sets tokenKind after it. core reports that
// none of the code points is stripped, and letter that one of them is a
// letter.
func (g *gopherScan) extendToken(i, j, runes int, core, letter bool) {
	g.contentEnd = j
	if !g.inToken {
		g.inToken, g.tokenRunes, g.hasCore, g.hasLetter = true, 0, false, false
	}
	if core {
		if !g.hasCore {
			g.hasCore, g.coreStart, g.coreRuneFrom = true, i, g.tokenRunes
		}
		g.coreEnd, g.coreRuneTo = j, g.tokenRunes+runes
		g.hasLetter = g.hasLetter || letter
	}
	g.tokenRunes += runes
}

func (g *gopherScan) flushDots() {
	g.sig.Ellipses += g.dots / 3
	g.dots = 0
}

// endToken counts the token being read, if any, as words.
func (g *gopherScan) endToken() {
	if !g.inToken {
		return
	}
	g.inToken = false
	if g.tokenKind != runPlain && g.endRun() {
		return
	}
	if !g.hasCore {
		return
	}
	word := g.text[g.coreStart:g.coreEnd]
	g.sig.Words++
	g.sig.WordChars += g.coreRuneTo - g.coreRuneFrom
	if g.hasLetter {
		g.sig.AlphaWords++
	}
	// A word that ends in ASCII cannot end with a Hangul stop word.
	if g.stop != nil && (g.stop.Contains(word) || word[len(word)-1] >= utf8.RuneSelf && g.stop.hasHangulSuffix(word)) {
		g.sig.StopWords++
	}
}

// endRun ends the Katakana or Thai, Lao, Khmer or Myanmar run being read,
// whose code points are all in its core. It counts a Thai, Lao, Khmer or
// Myanmar run and reports true. For a Katakana run it finds whether the run
// has a letter and reports false, so that endToken counts it as one word.
func (g *gopherScan) endRun() bool {
	run := g.text[g.coreStart:g.coreEnd]
	kind := g.tokenKind
	g.tokenKind = runPlain
	if kind == runComplex {
		g.endComplexRun(run, g.coreRuneTo-g.coreRuneFrom)
		return true
	}
	g.hasLetter = strings.ContainsFunc(run, unicode.IsLetter)
	return false
}

// endComplexRun counts a run of Thai, Lao, Khmer or Myanmar code points as
// ceil(runes/4) words, all with a letter when the run has one.
func (g *gopherScan) endComplexRun(run string, runes int) {
	words := complexWords(runes)
	g.sig.Words += words
	g.sig.WordChars += runes
	if strings.ContainsFunc(run, unicode.IsLetter) {
		g.sig.AlphaWords += words
	}
	if g.stop != nil {
		g.sig.StopWords += g.stop.countInRun(run)
	}
}

// endLine closes the line that ends before byte offset next.
func (g *gopherScan) endLine(next int) {
	if g.lineContent {
		g.sig.Lines++
		content := g.text[g.lineStart:g.contentEnd]
		if strings.HasSuffix(content, "...") || strings.HasSuffix(content, "…") {
			g.sig.EllipsisLines++
		}
	}
	g.lineStart, g.lineContent = next, false
}
