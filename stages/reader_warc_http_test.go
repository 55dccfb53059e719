package stages

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"
)

func TestParseHTTPResponse(t *testing.T) {
	tests := []struct {
		name   string
		block  string
		status int
		ctype  string
		body   string
	}{
		{"crlf", "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=gbk\r\nServer: x\r\n\r\n<p>x</p>", 200, "text/html; charset=gbk", "<p>x</p>"},
		{"lf and no reason phrase", "HTTP/1.0 404\nContent-type:text/plain\n\nmissing", 404, "text/plain", "missing"},
		{"header without a colon", "HTTP/1.1 200 OK\r\ngarbage line\r\nContent-Type: text/html\r\n\r\nbody", 200, "text/html", "body"},
		{"folded line", "HTTP/1.1 200 OK\r\nX-Long: a\r\n  b: c\r\nContent-Type: text/html\r\n\r\nbody", 200, "text/html", "body"},
		{"empty body", "HTTP/1.1 204 No Content\r\n\r\n", 204, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := parseHTTPResponse([]byte(tt.block))
			if err != nil {
				t.Fatalf("parseHTTPResponse: %v", err)
			}
			if p.status != tt.status || p.contentType != tt.ctype || string(p.body) != tt.body {
				t.Errorf("got status %d, content type %q, body %q", p.status, p.contentType, p.body)
			}
		})
	}
}

func TestParseHTTPResponseErrors(t *testing.T) {
	for _, block := range []string{
		"",
		"HTTP/1.1 200 OK",
		"HTTP/1.1 200 OK\r\nContent-Type: text/html",
		"HTTP/1.1 20 OK\r\n\r\n",
		"HTTP/1.1 abc OK\r\n\r\n",
		"GET / HTTP/1.1\r\n\r\n",
	} {
		if _, err := parseHTTPResponse([]byte(block)); !errors.Is(err, errMalformedHTTP) {
			t.Errorf("parseHTTPResponse(%q) error = %v, want errMalformedHTTP", block, err)
		}
	}
}

const testPage = "<html><head><title>T</title></head><body><p>Some page text.</p></body></html>"

func compressForTest(t *testing.T, coding string, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w io.WriteCloser
	switch coding {
	case "gzip":
		w = gzip.NewWriter(&buf)
	case "zlib":
		w = zlib.NewWriter(&buf)
	case "raw deflate":
		w, _ = flate.NewWriter(&buf, flate.DefaultCompression)
	case "br":
		w = brotli.NewWriter(&buf)
	default:
		t.Fatalf("unknown coding %s", coding)
	}
	w.Write(data)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func chunkForTest(data []byte, size int) []byte {
	var out []byte
	for len(data) > 0 {
		n := min(size, len(data))
		out = append(out, strings.ToUpper(strconv.FormatInt(int64(n), 16))+"\r\n"...)
		out = append(out, data[:n]...)
		out = append(out, "\r\n"...)
		data = data[n:]
	}
	return append(out, "0\r\n\r\n"...)
}

func TestDecodeBody(t *testing.T) {
	gz := compressForTest(t, "gzip", []byte(testPage))
	tests := []struct {
		name             string
		transfer, coding string
		body             []byte
		want             string
	}{
		{"identity", "", "", []byte(testPage), testPage},
		{"chunked", "chunked", "", chunkForTest([]byte(testPage), 7), testPage},
		{"chunked header, body not chunked", "chunked", "", []byte(testPage), testPage},
		{"gzip", "", "gzip", gz, testPage},
		{"x-gzip", "", "x-gzip", gz, testPage},
		{"chunked gzip", "chunked", "gzip", chunkForTest(gz, 10), testPage},
		{"gzip header, body already decoded", "", "gzip", []byte(testPage), testPage},
		{"gzip cut short keeps a prefix", "", "gzip", gz[:len(gz)-12], ""},
		{"zlib deflate", "", "deflate", compressForTest(t, "zlib", []byte(testPage)), testPage},
		{"raw deflate", "", "deflate", compressForTest(t, "raw deflate", []byte(testPage)), testPage},
		{"deflate header, body already decoded", "", "deflate", []byte(testPage), testPage},
		{"br", "", "br", compressForTest(t, "br", []byte(testPage)), testPage},
		{"br header, body already decoded", "", "br", []byte(testPage), testPage},
		{"two codings", "", "gzip, br", compressForTest(t, "br", gz), testPage},
		{"identity coding", "", "Identity", []byte(testPage), testPage},
	}
	pd := &payloadDecoder{max: 1 << 20}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := httpPayload{transferEncoding: tt.transfer, contentEncoding: tt.coding, body: tt.body}
			got, err := pd.decodeBody(&p)
			if err != nil {
				t.Fatalf("decodeBody: %v", err)
			}
			if tt.want == "" {
				// A cut stream yields a non-empty prefix of the page.
				if len(got) == 0 || !strings.HasPrefix(testPage, string(got)) {
					t.Errorf("got %q, want a prefix of the page", got)
				}
				return
			}
			if string(got) != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDecodeBodyErrors(t *testing.T) {
	gz := compressForTest(t, "gzip", bytes.Repeat([]byte("<p>a</p>"), 1000))
	tests := []struct {
		name   string
		coding string
		body   []byte
		max    int
		want   error
	}{
		{"unknown coding", "compress", []byte{0x1f, 0x9d}, 1 << 20, errUnsupportedEncoding},
		{"corrupt gzip", "gzip", []byte{0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, 1 << 20, errMalformedHTTP},
		{"decompression bomb", "gzip", gz, 1000, errDecodedTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pd := &payloadDecoder{max: tt.max}
			_, err := pd.decodeBody(&httpPayload{contentEncoding: tt.coding, body: tt.body})
			if !errors.Is(err, tt.want) {
				t.Errorf("error = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestDetectCharset(t *testing.T) {
	longHead := "<html><head><script>" + strings.Repeat("var x = 1;\n", 200) + "</script>"
	tests := []struct {
		name        string
		page        string
		contentType string
		charset     string
		source      string
	}{
		{"utf-8 bom beats the header", "\xef\xbb\xbf<p>x</p>", "text/html; charset=gbk", "utf-8", charsetFromBOM},
		{"utf-16le bom", "\xff\xfe<\x00p\x00>\x00", "", "utf-16le", charsetFromBOM},
		{"header", "<meta charset=utf-8>", "text/html; charset=GB2312", "gbk", charsetFromHTTP},
		{"quoted header value", "", `text/html; charset="windows-1251"`, "windows-1251", charsetFromHTTP},
		{"unknown header label falls through", "<meta charset=koi8-r>", "text/html; charset=none", "koi8-r", charsetFromMeta},
		{"meta charset", `<html><head><meta charset="shift_jis">`, "text/html", "shift_jis", charsetFromMeta},
		{"meta http-equiv", `<META HTTP-EQUIV="Content-Type" CONTENT="text/html;charset=gb2312">`, "", "gbk", charsetFromMeta},
		{"meta after 1024 bytes", longHead + `<meta charset="windows-1251"></head>`, "", "windows-1251", charsetFromMeta},
		{"meta utf-16 means utf-8", `<meta charset="utf-16">`, "", "utf-8", charsetFromMeta},
		{"meta x-user-defined means windows-1252", `<meta charset="x-user-defined">`, "", "windows-1252", charsetFromMeta},
		{"meta in a comment is ignored", `<!-- <meta charset="gbk"> --><p>plain</p>`, "", "utf-8", charsetFromUTF8},
		{"xml declaration", `<?xml version="1.0" encoding="ISO-8859-2"?><html>`, "", "iso-8859-2", charsetFromXML},
		{"undeclared utf-8", "<p>Grüße</p>", "text/html", "utf-8", charsetFromUTF8},
		{"undeclared invalid utf-8", "<p>Gr\xfc\xdfe</p>", "", "windows-1252", charsetFromFallback},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs := detectCharset([]byte(tt.page), tt.contentType)
			if cs.name != tt.charset || cs.source != tt.source {
				t.Errorf("charset %s from %s, want %s from %s", cs.name, cs.source, tt.charset, tt.source)
			}
		})
	}
}

func TestCharsetParam(t *testing.T) {
	tests := []struct {
		value, want string
		ok          bool
	}{
		{"text/html; charset=utf-8", "utf-8", true},
		{"text/html;charset=GBK;", "GBK", true},
		{`text/html; charset = "euc-kr" `, "euc-kr", true},
		{"text/html; CHARSET='big5'", "big5", true},
		{"text/html; xcharset; charset=koi8-u", "koi8-u", true},
		{"text/html", "", false},
		{`text/html; charset="unclosed`, "", false},
		{"text/html; charset=", "", false},
	}
	for _, tt := range tests {
		got, ok := charsetParam(tt.value, "charset")
		if got != tt.want || ok != tt.ok {
			t.Errorf("charsetParam(%q) = %q, %v, want %q, %v", tt.value, got, ok, tt.want, tt.ok)
		}
	}
}

func TestToUTF8(t *testing.T) {
	tests := []struct {
		name, page, label, want string
	}{
		{"gbk", "\xd6\xd0\xce\xc4", "gb2312", "中文"},
		{"windows-1251", "\xcf\xf0\xe8\xe2\xe5\xf2", "windows-1251", "Привет"},
		{"windows-1252 euro signs grow the buffer", strings.Repeat("\x80", 100), "windows-1252", strings.Repeat("€", 100)},
		{"utf-16be with bom", "\xfe\xff\x00h\x00i", "utf-16be", "hi"},
		{"undefined bytes", "\xff\xff", "gbk", "\uFFFD\uFFFD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs := detectCharset([]byte(tt.page), "text/html; charset="+tt.label)
			pd := &payloadDecoder{}
			if got := string(pd.toUTF8([]byte(tt.page), cs)); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
