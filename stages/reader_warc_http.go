package stages

import (
	"bytes"
	"compress/flate"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

var (
	errMalformedHTTP       = errors.New("malformed HTTP response")
	errUnsupportedEncoding = errors.New("unsupported HTTP Content-Encoding")
)

// httpPayload is the part of an archived HTTP response, or of a WARC
// resource record, that the readers turn into a document.
type httpPayload struct {
	status           int    // HTTP status code, or 0 for a resource record, which has none
	contentType      string // Content-Type header value
	transferEncoding string // Transfer-Encoding header value
	contentEncoding  string // Content-Encoding header value
	body             []byte // the message body as archived, before any decoding
}

// parseHTTPResponse splits an archived HTTP response into its status,
// the headers the readers use and its body. It accepts LF line endings and
// ignores header lines without a colon, which real crawls contain.
func parseHTTPResponse(block []byte) (httpPayload, error) {
	var p httpPayload
	line, rest, ok := cutLine(block)
	if !ok {
		return p, fmt.Errorf("%w: no end of the status line", errMalformedHTTP)
	}
	status, err := parseStatusLine(line)
	if err != nil {
		return p, err
	}
	p.status = status

	for {
		line, rest, ok = cutLine(rest)
		if !ok {
			return p, fmt.Errorf("%w: headers end without a blank line", errMalformedHTTP)
		}
		if len(line) == 0 {
			break
		}
		name, value, found := bytes.Cut(line, []byte(":"))
		if !found || line[0] == ' ' || line[0] == '\t' {
			continue
		}
		name = bytes.TrimSpace(name)
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Type")):
			p.contentType = string(value)
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			p.transferEncoding = string(value)
		case bytes.EqualFold(name, []byte("Content-Encoding")):
			p.contentEncoding = string(value)
		}
	}
	p.body = rest
	return p, nil
}

// parseStatusLine returns the status code of a line such as
// "HTTP/1.1 200 OK". The reason phrase may be missing.
func parseStatusLine(line []byte) (int, error) {
	if !bytes.HasPrefix(line, []byte("HTTP/")) {
		return 0, fmt.Errorf("%w: status line does not start with HTTP/", errMalformedHTTP)
	}
	fields := bytes.Fields(line)
	if len(fields) < 2 || len(fields[1]) != 3 {
		return 0, fmt.Errorf("%w: invalid status line", errMalformedHTTP)
	}
	code, err := strconv.Atoi(string(fields[1]))
	if err != nil || code < 100 {
		return 0, fmt.Errorf("%w: invalid status code %q", errMalformedHTTP, fields[1])
	}
	return code, nil
}

// cutLine returns the first line of b without its line ending, and the
// bytes after it. It reports false when b has no line feed.
func cutLine(b []byte) (line, rest []byte, ok bool) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return nil, b, false
	}
	return bytes.TrimSuffix(b[:i], []byte{'\r'}), b[i+1:], true
}

// payloadDecoder undoes the transfer and content codings of a body, into
// buffers that it reuses from one record to the next.
type payloadDecoder struct {
	max       int // largest decoded body, in bytes
	unchunked bytes.Buffer
	// decoded contains the output of the last two content codings
	// removed, because each decompressor writes to one buffer while it
	// reads from the other.
	decoded [2]bytes.Buffer
	next    int    // index of the buffer in decoded that the next decompressor writes
	text    []byte // the page that toUTF8 converted last
}

// errDecodedTooLarge marks a body that decodes to more than the maximum
// record size.
var errDecodedTooLarge = errors.New("decoded body exceeds the maximum record size")

// decodeBody returns the body of p with chunked transfer coding and any
// content codings removed. Crawlers such as Common Crawl's store bodies
// already decoded, and keep or rename the headers, so each coding is
// undone only when the bytes carry it. A body cut short, as in a record
// with WARC-Truncated, keeps what decodes before the cut.
func (pd *payloadDecoder) decodeBody(p *httpPayload) ([]byte, error) {
	pd.release()
	body := p.body
	if hasToken(p.transferEncoding, "chunked") {
		body = pd.unchunk(body)
	}
	if p.contentEncoding == "" {
		return body, nil
	}

	// Codings are listed in the order they were applied.
	pd.next = 0
	codings := strings.Split(p.contentEncoding, ",")
	for i := len(codings) - 1; i >= 0; i-- {
		decoded, err := pd.decodeContent(strings.ToLower(strings.TrimSpace(codings[i])), body)
		if err != nil {
			return nil, err
		}
		body = decoded
	}
	return body, nil
}

// release frees buffers that an unusually large record grew, as readBody
// does for the record buffer.
func (pd *payloadDecoder) release() {
	for _, buf := range []*bytes.Buffer{&pd.unchunked, &pd.decoded[0], &pd.decoded[1]} {
		if buf.Cap() > longLineKeep {
			*buf = bytes.Buffer{}
		}
	}
	if cap(pd.text) > longLineKeep {
		pd.text = nil
	}
}

// unchunk returns body with chunked transfer coding removed, or body
// itself when it does not start with a valid chunk.
func (pd *payloadDecoder) unchunk(body []byte) []byte {
	pd.unchunked.Reset()
	r := httputil.NewChunkedReader(bytes.NewReader(body))
	n, _ := io.Copy(&pd.unchunked, io.LimitReader(r, int64(pd.max)+1))
	if n == 0 {
		return body
	}
	return pd.unchunked.Bytes()
}

// decodeContent removes one content coding from body.
func (pd *payloadDecoder) decodeContent(coding string, body []byte) ([]byte, error) {
	switch coding {
	case "", "identity", "none":
		return body, nil
	case "gzip", "x-gzip":
		if !bytes.HasPrefix(body, []byte{0x1f, 0x8b}) {
			return body, nil
		}
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, fmt.Errorf("%w: gzip body: %w", errMalformedHTTP, err)
		}
		return pd.inflate(zr, coding, false)
	case "deflate":
		// RFC 9110 defines deflate as zlib, but many servers send raw
		// deflate. A body that is neither is taken as already decoded.
		if zr, err := zlib.NewReader(bytes.NewReader(body)); err == nil {
			if out, err := pd.inflate(zr, coding, false); err == nil {
				return out, nil
			}
		}
		if out, err := pd.inflate(flate.NewReader(bytes.NewReader(body)), coding, true); err == nil {
			return out, nil
		}
		return body, nil
	case "br":
		// Brotli has no magic number: a body that does not decode to its
		// end is taken as already decoded.
		if out, err := pd.inflate(brotli.NewReader(bytes.NewReader(body)), coding, true); err == nil {
			return out, nil
		}
		return body, nil
	case "zstd":
		if !bytes.HasPrefix(body, []byte{0x28, 0xb5, 0x2f, 0xfd}) {
			return body, nil
		}
		zr, err := zstd.NewReader(bytes.NewReader(body), zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, fmt.Errorf("%w: zstd body: %w", errMalformedHTTP, err)
		}
		defer zr.Close()
		return pd.inflate(zr, coding, false)
	}
	return nil, fmt.Errorf("%w %q", errUnsupportedEncoding, coding)
}

// inflate reads the decompressed body from r into the next buffer of
// pd.decoded. With strict false, a stream that breaks off after some output
// keeps that output, as a truncated record needs. With strict true, any
// error fails.
func (pd *payloadDecoder) inflate(r io.Reader, coding string, strict bool) ([]byte, error) {
	buf := &pd.decoded[pd.next]
	buf.Reset()
	n, err := io.Copy(buf, io.LimitReader(r, int64(pd.max)+1))
	switch {
	case n > int64(pd.max):
		return nil, errDecodedTooLarge
	case err != nil && (strict || n == 0):
		return nil, fmt.Errorf("%w: %s body: %w", errMalformedHTTP, coding, err)
	}
	pd.next ^= 1
	return buf.Bytes(), nil
}

// hasToken reports whether the comma-separated header value contains
// token, ignoring case.
func hasToken(value, token string) bool {
	for part := range strings.SplitSeq(value, ",") {
		if strings.EqualFold(strings.TrimSpace(part), token) {
			return true
		}
	}
	return false
}

// mediaType returns the lower-case media type of a Content-Type value,
// without parameters.
func mediaType(contentType string) string {
	t, _, _ := strings.Cut(contentType, ";")
	return strings.ToLower(strings.TrimSpace(t))
}

// htmlMediaType reports whether a payload of the given media type is
// HTML, or whether the type is missing or generic, so that only the
// payload's bytes can tell.
func htmlMediaType(media string) (html, sniff bool) {
	switch media {
	case "text/html", "application/xhtml+xml":
		return true, false
	case "", "application/octet-stream", "unknown/unknown", "application/unknown", "*/*":
		return false, true
	}
	return false, false
}

// sniffHTML reports whether body starts like an HTML page, by the MIME
// sniffing algorithm of net/http.
func sniffHTML(body []byte) bool {
	return strings.HasPrefix(http.DetectContentType(body), "text/html")
}
