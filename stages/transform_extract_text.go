package stages

import (
	"strings"

	"golang.org/x/net/html"
)

// lineElements are the elements whose content starts and ends a line of
// extracted text. go-trafilatura's own output uses p, h1 to h6, ul, ol,
// li, table, tr, blockquote and pre. The others cover what its fallback
// extractors return.
var lineElements = map[string]bool{
	"address": true, "article": true, "aside": true, "blockquote": true, "body": true,
	"dd": true, "details": true, "div": true, "dl": true, "dt": true,
	"fieldset": true, "figcaption": true, "figure": true, "footer": true, "form": true,
	"h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true,
	"header": true, "hr": true, "html": true, "li": true, "main": true, "nav": true,
	"ol": true, "p": true, "pre": true, "section": true, "summary": true,
	"table": true, "tbody": true, "tfoot": true, "thead": true, "tr": true, "ul": true,
}

// skippedElements contain no readable text.
var skippedElements = map[string]bool{
	"head": true, "noscript": true, "script": true, "style": true, "template": true, "title": true,
}

// renderText returns the text of an extracted HTML tree: one line per
// paragraph, heading, list item and table row, table cells separated by
// " | ", runs of HTML whitespace collapsed to one space except inside
// <pre>, and no blank lines.
func renderText(n *html.Node) string {
	if n == nil {
		return ""
	}
	var w textWriter
	w.walk(n)
	return w.b.String()
}

// textWriter builds the text of a tree. Separators are pending until the
// next word, so that no line starts or ends with a space and no text
// starts or ends with a line break.
type textWriter struct {
	b        strings.Builder
	lineText bool   // the current line has text
	newline  bool   // a line break comes before the next word
	sep      string // separator before the next word on the same line: "", " " or " | "
	pre      int    // depth of <pre> elements around the current node
}

func (w *textWriter) walk(n *html.Node) {
	switch n.Type {
	case html.TextNode:
		if w.pre > 0 {
			w.writePre(n.Data)
		} else {
			w.writeWords(n.Data)
		}
		return
	case html.ElementNode:
		if skippedElements[n.Data] {
			return
		}
	case html.DocumentNode:
	default:
		return
	}

	line := lineElements[n.Data]
	switch {
	case line:
		w.breakLine()
	case n.Data == "br":
		w.breakLine()
		return
	case n.Data == "td" || n.Data == "th":
		if w.lineText && !w.newline {
			w.sep = " | "
		}
	}
	if n.Data == "pre" {
		w.pre++
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		w.walk(c)
	}
	if n.Data == "pre" {
		w.pre--
	}
	if line {
		w.breakLine()
	}
}

// breakLine ends the current line, if it has text.
func (w *textWriter) breakLine() {
	if w.lineText {
		w.newline = true
	}
}

// writeWords writes s with each run of HTML whitespace made one separator.
func (w *textWriter) writeWords(s string) {
	for s != "" {
		start := strings.IndexFunc(s, func(r rune) bool { return !isHTMLSpace(r) })
		if start != 0 && w.sep == "" {
			w.sep = " "
		}
		if start < 0 {
			return
		}
		s = s[start:]
		end := strings.IndexFunc(s, isHTMLSpace)
		if end < 0 {
			end = len(s)
		}
		w.word(s[:end])
		s = s[end:]
	}
}

// writePre writes the text of a <pre> element as it is, line breaks
// included.
func (w *textWriter) writePre(s string) {
	for i, line := range strings.Split(s, "\n") {
		if i > 0 {
			w.breakLine()
		}
		if strings.TrimSpace(line) != "" {
			w.word(strings.TrimRight(line, " \t\r"))
		}
	}
}

// word writes one run of text after the pending separator.
func (w *textWriter) word(s string) {
	switch {
	case w.newline:
		w.b.WriteByte('\n')
	case w.lineText:
		w.b.WriteString(w.sep)
	}
	w.b.WriteString(s)
	w.lineText = true
	w.newline = false
	w.sep = ""
}

// isHTMLSpace reports whether r is ASCII whitespace as HTML defines it.
func isHTMLSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\f' || r == '\r'
}
