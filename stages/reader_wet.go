package stages

import (
	"errors"
	"io"
	"unsafe"

	"github.com/winnow-data/winnow/pipeline"
)

// wetReader decodes Common Crawl WET files. Each "conversion" record
// becomes a document: its body is the text, WARC-Target-URI the url and
// WARC-Record-ID the id, and the metadata holds warc_date and, when the
// record has one, content_language. Other record types, such as warcinfo,
// take a record index but make no document.
type wetReader struct {
	warcScanner
	events *inputEvents
	max    int
	meta   []byte
}

func newWETReader(r io.Reader, maxRecord int, events *inputEvents) *wetReader {
	return &wetReader{warcScanner: newWARCScanner(r), events: events, max: maxRecord}
}

func (r *wetReader) read(d *pipeline.Doc) (bool, error) {
	for {
		h, index, start, err := r.nextHeader(r.max, r.events)
		if errors.Is(err, io.EOF) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if h.typ != "conversion" {
			if err := r.skip(h.contentLength); err != nil {
				return false, err
			}
			continue
		}
		if err := r.readBody(h.contentLength); err != nil {
			return false, err
		}
		r.fill(d, &h, index, start)
		return true, nil
	}
}

// fill sets d from a conversion record whose body is in r.body.
func (r *wetReader) fill(d *pipeline.Doc, h *warcHeader, index, start int64) {
	// The text aliases r.body, which the next read overwrites; see docReader.
	d.Text = unsafe.String(unsafe.SliceData(r.body), len(r.body))
	d.URL = h.targetURI
	d.ID = h.recordID
	d.InputOffset = index
	r.meta = append(r.meta[:0], '{')
	if h.language != "" {
		r.meta = append(r.meta, `"content_language":`...)
		r.meta = appendJSONString(r.meta, h.language)
		r.meta = append(r.meta, ',')
	}
	r.meta = append(r.meta, `"warc_date":`...)
	r.meta = appendJSONString(r.meta, h.date)
	r.meta = append(r.meta, '}')
	d.Metadata = string(r.meta)
	r.events.repairUTF8(d, "offset", start)
}
