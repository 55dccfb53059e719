package stages

import (
	"bytes"
	"slices"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/transform"
)

// Where a page's charset came from, as its charset_source metadata
// records it.
const (
	charsetFromBOM      = "bom"             // a UTF-8 or UTF-16 byte order mark
	charsetFromHTTP     = "http_header"     // the charset of the HTTP Content-Type, or of the WARC Content-Type of a resource record
	charsetFromMeta     = "html_meta"       // <meta charset> or <meta http-equiv="Content-Type">
	charsetFromXML      = "xml_declaration" // <?xml encoding="..."?>
	charsetFromUTF8     = "valid_utf8"      // no declaration, and the bytes are valid UTF-8
	charsetFromFallback = "fallback"        // no declaration and invalid UTF-8: windows-1252
)

// maxCharsetPrescan is how many bytes at the start of a page are searched
// for a <meta> charset declaration. The HTML standard's prescan reads
// 1,024 bytes, and its parser changes the encoding when it meets a later
// declaration. Crawled pages often declare theirs after long scripts and
// styles in the head.
const maxCharsetPrescan = 64 << 10

// pageCharset is the character encoding of an HTML page.
type pageCharset struct {
	name   string // WHATWG encoding name, such as "utf-8", "gbk" or "windows-1251"
	source string // one of the charsetFrom constants
	enc    encoding.Encoding
	bom    int // bytes of byte order mark at the start of the page
}

// boms are the byte order marks that decide a page's encoding before any
// declaration does, as in the HTML standard.
var boms = []struct {
	mark  []byte
	label string
}{
	{[]byte{0xef, 0xbb, 0xbf}, "utf-8"},
	{[]byte{0xfe, 0xff}, "utf-16be"},
	{[]byte{0xff, 0xfe}, "utf-16le"},
}

// detectCharset returns the encoding of an HTML page in the order of the
// HTML standard: byte order mark, the charset of the HTTP Content-Type,
// then a declaration in the page. A page without any is UTF-8 when its
// bytes are valid UTF-8, else windows-1252, the standard's default for
// most locales.
//
// NOTE: undeclared pages in other legacy encodings, such as GBK or
// Shift_JIS without a <meta> charset, come out as windows-1252 mojibake;
// statistical detection would catch some of them.
func detectCharset(page []byte, contentType string) pageCharset {
	for _, b := range boms {
		if bytes.HasPrefix(page, b.mark) {
			cs, _ := lookupCharset(b.label, charsetFromBOM)
			cs.bom = len(b.mark)
			return cs
		}
	}
	if label, ok := charsetParam(contentType, "charset"); ok {
		if cs, ok := lookupCharset(label, charsetFromHTTP); ok {
			return cs
		}
	}
	if cs, ok := prescanCharset(page[:min(len(page), maxCharsetPrescan)]); ok {
		return cs
	}
	if utf8.Valid(page) {
		cs, _ := lookupCharset("utf-8", charsetFromUTF8)
		return cs
	}
	return pageCharset{name: "windows-1252", source: charsetFromFallback, enc: charmap.Windows1252}
}

// lookupCharset returns the encoding that a WHATWG label, such as
// "gb2312" or "latin1", names.
func lookupCharset(label, source string) (pageCharset, bool) {
	enc, err := htmlindex.Get(label)
	if err != nil {
		return pageCharset{}, false
	}
	name, err := htmlindex.Name(enc)
	if err != nil {
		return pageCharset{}, false
	}
	return pageCharset{name: name, source: source, enc: enc}, true
}

// prescanCharset looks for a charset declaration in the <meta> tags of
// page, then in an XML declaration at its start. As the HTML standard
// requires of a declaration in the page, UTF-16 means UTF-8, since a page
// that decodes as ASCII is not UTF-16, and x-user-defined means
// windows-1252.
func prescanCharset(page []byte) (pageCharset, bool) {
	label, source := metaCharset(page), charsetFromMeta
	if label == "" {
		label, source = xmlEncoding(page), charsetFromXML
	}
	if label == "" {
		return pageCharset{}, false
	}
	cs, ok := lookupCharset(label, source)
	switch {
	case !ok:
		return pageCharset{}, false
	case cs.name == "utf-16be" || cs.name == "utf-16le":
		cs, _ = lookupCharset("utf-8", source)
	case cs.name == "x-user-defined":
		cs, _ = lookupCharset("windows-1252", source)
	}
	return cs, true
}

// metaCharset returns the label of the first <meta charset> or <meta
// http-equiv="Content-Type" content="...; charset=..."> in page, or "".
func metaCharset(page []byte) string {
	z := html.NewTokenizer(bytes.NewReader(page))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return ""
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			if string(name) != "meta" || !hasAttr {
				continue
			}
			if label := metaTagCharset(z); label != "" {
				return label
			}
		}
	}
}

// metaTagCharset returns the charset that the attributes of the current
// <meta> tag of z declare, or "".
func metaTagCharset(z *html.Tokenizer) string {
	var charset, content string
	contentType := false
	for more := true; more; {
		var key, value []byte
		key, value, more = z.TagAttr()
		switch string(key) {
		case "charset":
			charset = strings.TrimSpace(string(value))
		case "content":
			content = string(value)
		case "http-equiv":
			contentType = strings.EqualFold(strings.TrimSpace(string(value)), "content-type")
		}
	}
	if charset != "" {
		return charset
	}
	if contentType {
		label, _ := charsetParam(content, "charset")
		return label
	}
	return ""
}

// xmlEncoding returns the encoding of an XML declaration at the start of
// page, such as <?xml version="1.0" encoding="gb2312"?>, or "".
func xmlEncoding(page []byte) string {
	page = bytes.TrimLeft(page[:min(len(page), 1024)], " \t\r\n")
	if !bytes.HasPrefix(page, []byte("<?xml")) {
		return ""
	}
	end := bytes.Index(page, []byte("?>"))
	if end < 0 {
		return ""
	}
	label, _ := charsetParam(string(page[:end]), "encoding")
	return label
}

// charsetParam finds `name=value` in a Content-Type value or a <meta>
// content attribute, as the HTML standard's algorithm for extracting a
// character encoding from a meta element does: the value may be quoted,
// and an unquoted value ends at whitespace or a semicolon.
func charsetParam(s, name string) (string, bool) {
	lower := strings.ToLower(s)
	for from := 0; ; {
		i := strings.Index(lower[from:], name)
		if i < 0 {
			return "", false
		}
		rest := strings.TrimLeft(s[from+i+len(name):], " \t\r\n\f")
		from += i + len(name)
		if !strings.HasPrefix(rest, "=") {
			continue
		}
		rest = strings.TrimLeft(rest[1:], " \t\r\n\f")
		if rest == "" {
			return "", false
		}
		if q := rest[0]; q == '"' || q == '\'' {
			value, _, closed := strings.Cut(rest[1:], string(q))
			if !closed || value == "" {
				return "", false
			}
			return value, true
		}
		end := strings.IndexAny(rest, " \t\r\n\f;")
		if end < 0 {
			end = len(rest)
		}
		return rest[:end], end > 0
	}
}

// toUTF8 returns page, without its byte order mark, converted from cs to
// UTF-8. A UTF-8 page comes back without a copy, invalid bytes and all;
// the normalize stage repairs them. A page in another encoding is decoded
// into pd.text, with U+FFFD for each byte sequence that the encoding does
// not define.
func (pd *payloadDecoder) toUTF8(page []byte, cs pageCharset) []byte {
	page = page[cs.bom:]
	if cs.name == "utf-8" {
		return page
	}
	pd.text = appendDecoded(pd.text[:0], page, cs.enc.NewDecoder())
	return pd.text
}

// appendDecoded appends src, decoded by dec, to dst.
func appendDecoded(dst, src []byte, dec *encoding.Decoder) []byte {
	// Twice the input size fits most pages in one pass. The loop grows the
	// buffer for the others, such as windows-1252 text full of euro signs,
	// which take 3 bytes each in UTF-8.
	dst = slices.Grow(dst, 2*len(src)+utf8.UTFMax)
	for {
		nDst, nSrc, err := dec.Transform(dst[len(dst):cap(dst)], src, true)
		dst = dst[:len(dst)+nDst]
		src = src[nSrc:]
		if err != transform.ErrShortDst {
			return dst
		}
		dst = slices.Grow(dst, 2*len(src)+utf8.UTFMax)
	}
}
