package stages

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unsafe"

	"github.com/winnow-data/winnow/pipeline"
)

// errMalformedARC marks an ARC record header line that cannot be parsed.
var errMalformedARC = errors.New("malformed ARC record")

// arcHeader contains the fields of an ARC record header line. Version 1 lines
// have five space-separated fields: URL, IP address, archive date, content
// type and length. Version 2 lines insert result code, checksum,
// location, offset and file name before the length.
type arcHeader struct {
	url         string
	date        string // archive date, YYYYMMDDhhmmss in UTC
	contentType string
	length      int64
}

// arcReader decodes ARC files, the Internet Archive's format before WARC,
// into HTML documents. Each record whose block is an HTTP response with a
// 2xx status and an HTML payload becomes a document as in warcReader. ARC
// records have no ids, so the source derives them. The archive date
// becomes the warc_date metadata in RFC 3339 form. The version block that
// starts the file counts as EventWARCInfoSkipped.
type arcReader struct {
	warcScanner
	events  *inputEvents
	max     int
	payload payloadDecoder
	meta    []byte
}

func newARCReader(r io.Reader, maxRecord int, events *inputEvents) *arcReader {
	return &arcReader{
		warcScanner: newWARCScanner(r),
		events:      events,
		max:         maxRecord,
		payload:     payloadDecoder{max: maxRecord},
	}
}

func (r *arcReader) read(d *pipeline.Doc) (bool, error) {
	for {
		start := r.off
		h, err := r.readARCHeader()
		if errors.Is(err, errMalformedARC) {
			r.records++
			r.events.add(EventMalformedARC, "offset", start, err)
			r.resync = true
			continue
		}
		if errors.Is(err, io.EOF) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		index := r.records
		r.records++

		switch {
		case h.length > int64(r.max):
			r.events.add(EventOversizedRecord, "offset", start, errRecordTooLarge(r.max))
		case strings.HasPrefix(h.url, "filedesc:"):
			r.events.count(EventWARCInfoSkipped)
		default:
			if err := r.readBody(h.length); err != nil {
				return false, err
			}
			page, ok := r.payload.decodePage(r.body, true, h.contentType, r.events, start)
			if !ok {
				continue
			}
			r.fill(d, &h, &page, index, start)
			return true, nil
		}
		if err := r.skip(h.length); err != nil {
			return false, err
		}
	}
}

// fill sets d from a decoded page of the record h.
func (r *arcReader) fill(d *pipeline.Doc, h *arcHeader, page *htmlPage, index, start int64) {
	// The text aliases the reader's buffers; see docReader.
	d.Text = unsafe.String(unsafe.SliceData(page.text), len(page.text))
	d.URL = h.url
	d.InputOffset = index
	r.meta = appendPageMetadata(r.meta[:0], page, arcDateRFC3339(h.date), "")
	d.Metadata = string(r.meta)
	r.events.repairUTF8(d, "offset", start)
}

// readARCHeader reads the header line of the next record, skipping blank
// lines before it, and while resynchronizing, every line that is not a
// header. It returns io.EOF at the end of input.
func (r *warcScanner) readARCHeader() (arcHeader, error) {
	for {
		line, err := r.readLine()
		if err != nil {
			return arcHeader{}, err
		}
		if len(line) == 0 {
			continue
		}
		h, err := parseARCHeader(line)
		if err == nil {
			r.resync = false
			return h, nil
		}
		if !r.resync {
			return h, err
		}
	}
}

// parseARCHeader parses a version 1 or version 2 header line.
func parseARCHeader(line []byte) (arcHeader, error) {
	fields := bytes.Fields(line)
	if len(fields) != 5 && len(fields) != 10 {
		return arcHeader{}, fmt.Errorf("%w: header line has %d fields, want 5 or 10", errMalformedARC, len(fields))
	}
	date := fields[2]
	if len(date) != 14 || !allDigits(date) {
		return arcHeader{}, fmt.Errorf("%w: invalid archive date %q", errMalformedARC, date)
	}
	last := fields[len(fields)-1]
	n, err := strconv.ParseInt(string(last), 10, 64)
	if err != nil || n < 0 {
		return arcHeader{}, fmt.Errorf("%w: invalid length %q", errMalformedARC, last)
	}
	return arcHeader{url: string(fields[0]), date: string(date), contentType: string(fields[3]), length: n}, nil
}

func allDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// arcDateRFC3339 rewrites a 14-digit archive date, such as 20140216050221,
// as 2014-02-16T05:02:21Z.
func arcDateRFC3339(d string) string {
	return d[0:4] + "-" + d[4:6] + "-" + d[6:8] + "T" + d[8:10] + ":" + d[10:12] + ":" + d[12:14] + "Z"
}
