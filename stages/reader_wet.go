package stages

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"unsafe"

	"github.com/winnow-data/winnow/pipeline"
)

// errMalformedWARC marks a WARC record header that cannot be parsed.
var errMalformedWARC = errors.New("malformed WARC record")

// maxWARCHeaderBytes caps the header block of one WARC record, so that a
// damaged file without blank lines cannot grow a header without bound.
const maxWARCHeaderBytes = 1 << 20

// warcHeader holds the WARC header fields a WET reader uses.
type warcHeader struct {
	typ           string // WARC-Type
	targetURI     string // WARC-Target-URI
	date          string // WARC-Date
	recordID      string // WARC-Record-ID, angle brackets removed
	language      string // WARC-Identified-Content-Language
	contentLength int64
	hasLength     bool
}

// wetReader decodes Common Crawl WET files. Each "conversion" record
// becomes a document: its body is the text, WARC-Target-URI the url and
// WARC-Record-ID the id, and the metadata holds warc_date and, when the
// record has one, content_language. Other record types, such as warcinfo,
// take a record index but make no document.
type wetReader struct {
	br      *bufio.Reader
	events  *inputEvents
	max     int
	records int64
	off     int64 // decoded bytes consumed
	resync  bool  // skip lines until the next "WARC/" version line
	body    []byte
	meta    []byte
}

func newWETReader(r io.Reader, maxRecord int, events *inputEvents) *wetReader {
	return &wetReader{br: bufio.NewReaderSize(r, readBufferSize), events: events, max: maxRecord}
}

func (r *wetReader) progress() (records, offset int64) { return r.records, r.off }

func (r *wetReader) read(d *pipeline.Doc) (bool, error) {
	for {
		start := r.off
		h, err := r.readHeader()
		if errors.Is(err, io.EOF) {
			return false, nil
		}
		if errors.Is(err, errMalformedWARC) {
			r.records++
			r.events.add(EventMalformedWARC, "offset", start, err)
			r.resync = true
			continue
		}
		if err != nil {
			return false, err
		}
		index := r.records
		r.records++

		if h.contentLength > int64(r.max) {
			r.events.add(EventOversizedRecord, "offset", start, errRecordTooLarge(r.max))
			if err := r.skip(h.contentLength); err != nil {
				return false, err
			}
			continue
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

// readHeader reads the version line and the header fields of the next
// record, skipping blank lines before it. It returns io.EOF at the end of
// input between records and io.ErrUnexpectedEOF inside a header.
func (r *wetReader) readHeader() (warcHeader, error) {
	var h warcHeader
	for {
		line, err := r.readLine()
		if err != nil {
			return h, err
		}
		if len(line) == 0 {
			continue
		}
		if bytes.HasPrefix(line, []byte("WARC/")) {
			r.resync = false
			break
		}
		if !r.resync {
			return h, fmt.Errorf("%w: expected a WARC/ version line", errMalformedWARC)
		}
	}

	size := 0
	for {
		line, err := r.readLine()
		if errors.Is(err, io.EOF) {
			return h, io.ErrUnexpectedEOF
		}
		if err != nil {
			return h, err
		}
		if len(line) == 0 {
			break
		}
		if size += len(line); size > maxWARCHeaderBytes {
			return h, fmt.Errorf("%w: header exceeds %d bytes", errMalformedWARC, maxWARCHeaderBytes)
		}
		if err := h.set(line); err != nil {
			return h, err
		}
	}
	if !h.hasLength {
		return h, fmt.Errorf("%w: missing Content-Length", errMalformedWARC)
	}
	return h, nil
}

// set stores one "Name: value" header line.
func (h *warcHeader) set(line []byte) error {
	name, value, ok := bytes.Cut(line, []byte(":"))
	if !ok {
		return fmt.Errorf("%w: header line without a colon", errMalformedWARC)
	}
	name = bytes.TrimSpace(name)
	value = bytes.TrimSpace(value)
	switch {
	case bytes.EqualFold(name, []byte("WARC-Type")):
		h.typ = string(value)
	case bytes.EqualFold(name, []byte("WARC-Target-URI")):
		h.targetURI = string(value)
	case bytes.EqualFold(name, []byte("WARC-Date")):
		h.date = string(value)
	case bytes.EqualFold(name, []byte("WARC-Record-ID")):
		h.recordID = string(bytes.TrimSuffix(bytes.TrimPrefix(value, []byte("<")), []byte(">")))
	case bytes.EqualFold(name, []byte("WARC-Identified-Content-Language")):
		h.language = string(value)
	case bytes.EqualFold(name, []byte("Content-Length")):
		n, err := strconv.ParseInt(string(value), 10, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("%w: invalid Content-Length %q", errMalformedWARC, value)
		}
		h.contentLength, h.hasLength = n, true
	}
	return nil
}

// readLine returns the next line without its line ending. A line longer
// than the read buffer comes back in pieces, which is harmless: header
// lines are short, and while resynchronizing only a line start matters.
func (r *wetReader) readLine() ([]byte, error) {
	line, err := r.br.ReadSlice('\n')
	r.off += int64(len(line))
	if err == bufio.ErrBufferFull {
		return line, nil
	}
	if err != nil && (!errors.Is(err, io.EOF) || len(line) == 0) {
		return nil, err
	}
	return trimEOL(line), nil
}

// readBody reads n body bytes into r.body. The buffer grows as bytes
// arrive, so a corrupt Content-Length cannot allocate more memory than the
// input holds.
func (r *wetReader) readBody(n int64) error {
	if cap(r.body) > longLineKeep {
		r.body = nil
	}
	r.body = r.body[:0]
	for int64(len(r.body)) < n {
		start := len(r.body)
		chunk := int(min(n-int64(start), readBufferSize))
		r.body = slices.Grow(r.body, chunk)[:start+chunk]
		got, err := io.ReadFull(r.br, r.body[start:])
		r.off += int64(got)
		if err != nil {
			r.body = r.body[:start+got]
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
	}
	return nil
}

// skip discards n body bytes.
func (r *wetReader) skip(n int64) error {
	got, err := io.CopyN(io.Discard, r.br, n)
	r.off += got
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return err
}
