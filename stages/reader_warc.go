package stages

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
)

// errMalformedWARC marks a WARC record header that cannot be parsed.
var errMalformedWARC = errors.New("malformed WARC record")

// maxWARCHeaderBytes caps the header block of one WARC record, so that a
// damaged file without blank lines cannot grow a header without bound.
const maxWARCHeaderBytes = 1 << 20

// warcHeader contains the WARC header fields that the WARC and WET readers
// use.
type warcHeader struct {
	typ           string // WARC-Type
	targetURI     string // WARC-Target-URI, angle brackets removed
	date          string // WARC-Date
	recordID      string // WARC-Record-ID, angle brackets removed
	language      string // WARC-Identified-Content-Language
	contentType   string // Content-Type of the record block
	truncated     string // WARC-Truncated: why the block was cut, such as "length"
	contentLength int64
	hasLength     bool
}

// warcScanner reads the record framing that WARC, WET and WAT files share:
// a "WARC/" version line, header fields, a blank line and a block of
// Content-Length bytes. The ARC reader uses its line and block helpers.
type warcScanner struct {
	br      *bufio.Reader
	records int64
	off     int64 // decoded bytes consumed
	resync  bool  // skip lines until the next "WARC/" version line
	body    []byte
}

func newWARCScanner(r io.Reader) warcScanner {
	return warcScanner{br: bufio.NewReaderSize(r, readBufferSize)}
}

func (r *warcScanner) progress() (records, offset int64) { return r.records, r.off }

// nextHeader returns the header of the next record whose block is at most
// max bytes, with the record's index and the offset where it starts. It
// counts malformed records and skips them up to the next version line, and
// counts and skips oversized records. At the end of input between records
// it returns io.EOF.
func (r *warcScanner) nextHeader(max int, events *inputEvents) (h warcHeader, index, start int64, err error) {
	for {
		start = r.off
		h, err = r.readHeader()
		if errors.Is(err, errMalformedWARC) {
			r.records++
			events.add(EventMalformedWARC, "offset", start, err)
			r.resync = true
			continue
		}
		if err != nil {
			return h, 0, start, err
		}
		index = r.records
		r.records++

		if h.contentLength > int64(max) {
			events.add(EventOversizedRecord, "offset", start, errRecordTooLarge(max))
			if err := r.skip(h.contentLength); err != nil {
				return h, 0, start, err
			}
			continue
		}
		return h, index, start, nil
	}
}

// readHeader reads the version line and the header fields of the next
// record, skipping blank lines before it. It returns io.EOF at the end of
// input between records and io.ErrUnexpectedEOF inside a header.
func (r *warcScanner) readHeader() (warcHeader, error) {
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
		// WARC 1.0 writers such as wget put the URI in angle brackets.
		h.targetURI = string(trimAngleBrackets(value))
	case bytes.EqualFold(name, []byte("WARC-Date")):
		h.date = string(value)
	case bytes.EqualFold(name, []byte("WARC-Record-ID")):
		h.recordID = string(trimAngleBrackets(value))
	case bytes.EqualFold(name, []byte("WARC-Identified-Content-Language")):
		h.language = string(value)
	case bytes.EqualFold(name, []byte("Content-Type")):
		h.contentType = string(value)
	case bytes.EqualFold(name, []byte("WARC-Truncated")):
		h.truncated = string(value)
	case bytes.EqualFold(name, []byte("Content-Length")):
		n, err := strconv.ParseInt(string(value), 10, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("%w: invalid Content-Length %q", errMalformedWARC, value)
		}
		h.contentLength, h.hasLength = n, true
	}
	return nil
}

// trimAngleBrackets removes one pair of enclosing angle brackets.
func trimAngleBrackets(value []byte) []byte {
	if len(value) >= 2 && value[0] == '<' && value[len(value)-1] == '>' {
		return value[1 : len(value)-1]
	}
	return value
}

// readLine returns the next line without its line ending. A line longer
// than the read buffer comes back in pieces, which is harmless: header
// lines are short, and while resynchronizing only a line start matters.
func (r *warcScanner) readLine() ([]byte, error) {
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
func (r *warcScanner) readBody(n int64) error {
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
func (r *warcScanner) skip(n int64) error {
	got, err := io.CopyN(io.Discard, r.br, n)
	r.off += got
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return err
}
