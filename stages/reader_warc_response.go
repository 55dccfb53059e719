package stages

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"unsafe"

	"github.com/winnow-data/winnow/pipeline"
)

// warcReader decodes WARC files into HTML documents, one per "response"
// record with a 2xx HTTP status and an HTML payload, and one per
// "resource" record with an HTML block. The text is the page's HTML,
// without HTTP transfer and content codings and converted to UTF-8 (see
// detectCharset). The extract stage turns it into main text. The url is
// WARC-Target-URI and the id WARC-Record-ID. The metadata holds
// charset, charset_source, content_type, http_status (responses only),
// warc_date and, for a record cut short by the crawler, warc_truncated.
//
// Every other record takes a record index and is counted under the event
// of its type (warcSkipEvents), or under EventNonHTMLSkipped or
// EventHTTPStatusSkipped. WAT files read as WARC files whose records are
// all metadata.
type warcReader struct {
	warcScanner
	events  *inputEvents
	max     int
	payload payloadDecoder
	meta    []byte
}

func newWARCReader(r io.Reader, maxRecord int, events *inputEvents) *warcReader {
	return &warcReader{
		warcScanner: newWARCScanner(r),
		events:      events,
		max:         maxRecord,
		payload:     payloadDecoder{max: maxRecord},
	}
}

// The skip events of the WARC and ARC readers are drop reasons of the
// source, so that `winnow rejects --reason` and the config accept them.
func init() {
	pipeline.DeclareReasons(ReasonSource,
		EventMalformedARC, EventMalformedHTTP, EventUnsupportedEncoding,
		EventWARCInfoSkipped, EventWARCRequestSkipped, EventWARCRevisitSkipped,
		EventWARCMetadataSkipped, EventWARCOtherSkipped, EventNonHTMLSkipped, EventHTTPStatusSkipped)
}

// warcSkipEvents maps the WARC-Type of records without a page to the
// event that counts them. EventWARCOtherSkipped counts unknown types.
var warcSkipEvents = map[string]string{
	"warcinfo":     EventWARCInfoSkipped,
	"request":      EventWARCRequestSkipped,
	"revisit":      EventWARCRevisitSkipped,
	"metadata":     EventWARCMetadataSkipped,
	"conversion":   EventWARCOtherSkipped,
	"continuation": EventWARCOtherSkipped,
}

func (r *warcReader) read(d *pipeline.Doc) (bool, error) {
	for {
		h, index, start, err := r.nextHeader(r.max, r.events)
		if errors.Is(err, io.EOF) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if h.typ != "response" && h.typ != "resource" {
			event, known := warcSkipEvents[h.typ]
			if !known {
				event = EventWARCOtherSkipped
			}
			r.events.count(event)
			if err := r.skip(h.contentLength); err != nil {
				return false, err
			}
			continue
		}

		if err := r.readBody(h.contentLength); err != nil {
			return false, err
		}
		page, ok := r.payload.decodePage(r.body, h.typ == "response", h.contentType, r.events, start)
		if !ok {
			continue
		}
		d.Text = unsafe.String(unsafe.SliceData(page.text), len(page.text))
		d.URL = h.targetURI
		d.ID = h.recordID
		d.InputOffset = index
		r.meta = appendPageMetadata(r.meta[:0], &page, h.date, h.truncated)
		d.Metadata = string(r.meta)
		r.events.repairUTF8(d, "offset", start)
		return true, nil
	}
}

// htmlPage is an archived HTML page, decoded.
type htmlPage struct {
	text    []byte // HTML in UTF-8, aliasing the record or decoder buffers
	media   string // "text/html" or "application/xhtml+xml"
	charset pageCharset
	status  int // HTTP status, 0 for a WARC resource record
}

// decodePage turns the block of a record into an HTML page. An HTTP
// block, such as that of a WARC response, starts with the HTTP status and
// headers. Another block, such as that of a WARC resource, is the payload
// itself, of type contentType. For a block without a successful HTML page,
// decodePage counts the reason that skips it on events and reports false.
func (pd *payloadDecoder) decodePage(block []byte, httpBlock bool, contentType string, events *inputEvents, offset int64) (htmlPage, bool) {
	p := httpPayload{contentType: contentType, body: block}
	if httpBlock && (bytes.HasPrefix(block, []byte("HTTP/")) || mediaType(contentType) == "application/http") {
		var err error
		if p, err = parseHTTPResponse(block); err != nil {
			events.add(EventMalformedHTTP, "offset", offset, err)
			return htmlPage{}, false
		}
	}
	if p.status != 0 && (p.status < 200 || p.status > 299) {
		events.count(EventHTTPStatusSkipped)
		return htmlPage{}, false
	}
	media := mediaType(p.contentType)
	html, sniff := htmlMediaType(media)
	if !html && !sniff {
		events.count(EventNonHTMLSkipped)
		return htmlPage{}, false
	}

	body, err := pd.decodeBody(&p)
	switch {
	case errors.Is(err, errDecodedTooLarge):
		events.add(EventOversizedRecord, "offset", offset, errRecordTooLarge(pd.max))
		return htmlPage{}, false
	case errors.Is(err, errUnsupportedEncoding):
		events.add(EventUnsupportedEncoding, "offset", offset, err)
		return htmlPage{}, false
	case err != nil:
		events.add(EventMalformedHTTP, "offset", offset, err)
		return htmlPage{}, false
	}
	if sniff {
		if !sniffHTML(body) {
			events.count(EventNonHTMLSkipped)
			return htmlPage{}, false
		}
		media = "text/html"
	}

	cs := detectCharset(body, p.contentType)
	return htmlPage{text: pd.toUTF8(body, cs), media: media, charset: cs, status: p.status}, true
}

// appendPageMetadata appends the metadata JSON object of a page, its keys
// in sorted order, to dst.
func appendPageMetadata(dst []byte, page *htmlPage, date, truncated string) []byte {
	dst = append(dst, `{"charset":`...)
	dst = appendJSONString(dst, page.charset.name)
	dst = append(dst, `,"charset_source":`...)
	dst = appendJSONString(dst, page.charset.source)
	dst = append(dst, `,"content_type":`...)
	dst = appendJSONString(dst, page.media)
	if page.status != 0 {
		dst = append(dst, `,"http_status":`...)
		dst = strconv.AppendInt(dst, int64(page.status), 10)
	}
	dst = append(dst, `,"warc_date":`...)
	dst = appendJSONString(dst, date)
	if truncated != "" {
		dst = append(dst, `,"warc_truncated":`...)
		dst = appendJSONString(dst, truncated)
	}
	return append(dst, '}')
}
