package stages

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/winnow-data/winnow/pipeline"
)

// JSON decoding. The reader validates each line with its own scanner and
// decodes only the strings that fill a column. It was measured on the
// decompressed Dolma sample in testdata (3.3 MB, 697 records) on a shared
// 2-core AMD EPYC machine with go test -bench, so the numbers are rough.
// Splitting records and decoding their text ran at about 95 MB/s with
// encoding/json into map[string]json.RawMessage (BenchmarkJSONStdlib),
// 405 MB/s with parquet-go/jsonlite and 486 MB/s with goccy/go-json. This
// scanner, with the field mapping, runs at 850 to 950 MB/s
// (BenchmarkJSONScanner). It also finds lone surrogate escapes, which
// encoding/json silently replaces. It passes invalid UTF-8 through
// unchanged, and the file source then repairs every column but the text,
// which the normalize stage repairs by its own policy.

// maxJSONDepth is the deepest nesting of arrays and objects accepted, the
// limit encoding/json uses.
const maxJSONDepth = 10000

// jsonSyntaxError is a JSON syntax error at a byte offset of a line.
type jsonSyntaxError struct {
	offset int
	msg    string
}

func (e *jsonSyntaxError) Error() string {
	return "invalid JSON at byte " + strconv.Itoa(e.offset) + ": " + e.msg
}

func syntaxErrorAt(b []byte, i int, context string) error {
	if i >= len(b) {
		return &jsonSyntaxError{offset: i, msg: "unexpected end of input " + context}
	}
	return &jsonSyntaxError{offset: i, msg: fmt.Sprintf("invalid character %q %s", b[i], context)}
}

// stringStop marks the bytes that end the fast loop over a string's
// contents: the closing quote, a backslash, and the control bytes JSON does
// not allow unescaped. UTF-8 is checked in a separate pass with
// utf8.Valid, which measured faster than decoding runes in this loop on the
// Dolma sample (17% of its bytes are not ASCII).
var stringStop = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = true
	}
	t['"'] = true
	t['\\'] = true
	return t
}()

// jsonScanner validates JSON text and splits objects into members. The
// zero value is ready to use.
type jsonScanner struct {
	loneSurrogates int // lone surrogate escapes seen by the last record call
}

// record validates line, which must hold one JSON object and nothing else
// but whitespace, and appends the object's members to dst.
func (s *jsonScanner) record(line []byte, dst []jsonMember) ([]jsonMember, error) {
	s.loneSurrogates = 0
	i := skipSpace(line, 0)
	if i == len(line) || line[i] != '{' {
		return dst, syntaxErrorAt(line, i, "at the start of a record; a record is a JSON object")
	}
	dst, i, err := s.object(line, i, 0, dst, true)
	if err != nil {
		return dst, err
	}
	if i = skipSpace(line, i); i != len(line) {
		return dst, syntaxErrorAt(line, i, "after the record's object")
	}
	return dst, nil
}

// members appends the members of obj, an object that record has already
// validated, to dst.
func (s *jsonScanner) members(obj []byte, dst []jsonMember) ([]jsonMember, error) {
	dst, _, err := s.object(obj, 0, 0, dst, true)
	return dst, err
}

// object scans the object that starts at b[i] and returns the index after
// it. With collect set it appends the object's members to dst.
func (s *jsonScanner) object(b []byte, i, depth int, dst []jsonMember, collect bool) ([]jsonMember, int, error) {
	if depth > maxJSONDepth {
		return dst, i, &jsonSyntaxError{offset: i, msg: "nested too deeply"}
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return dst, i + 1, nil
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return dst, i, syntaxErrorAt(b, i, "looking for an object key")
		}
		keyStart := i
		keyEnd, keyEsc, err := s.str(b, i)
		if err != nil {
			return dst, i, err
		}
		i = skipSpace(b, keyEnd)
		if i >= len(b) || b[i] != ':' {
			return dst, i, syntaxErrorAt(b, i, "after an object key")
		}
		valStart := skipSpace(b, i+1)
		if i, err = s.value(b, valStart, depth+1); err != nil {
			return dst, i, err
		}
		if collect {
			dst = append(dst, jsonMember{keyToken: b[keyStart:keyEnd], keyEsc: keyEsc, val: b[valStart:i]})
		}
		i = skipSpace(b, i)
		if i >= len(b) {
			return dst, i, syntaxErrorAt(b, i, "in an object")
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			return dst, i + 1, nil
		default:
			return dst, i, syntaxErrorAt(b, i, "after an object value")
		}
	}
}

// array scans the array that starts at b[i] and returns the index after it.
func (s *jsonScanner) array(b []byte, i, depth int) (int, error) {
	if depth > maxJSONDepth {
		return i, &jsonSyntaxError{offset: i, msg: "nested too deeply"}
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return i + 1, nil
	}
	for {
		var err error
		if i, err = s.value(b, i, depth+1); err != nil {
			return i, err
		}
		i = skipSpace(b, i)
		if i >= len(b) {
			return i, syntaxErrorAt(b, i, "in an array")
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case ']':
			return i + 1, nil
		default:
			return i, syntaxErrorAt(b, i, "after an array element")
		}
	}
}

// value scans the value that starts at b[i] and returns the index after it.
func (s *jsonScanner) value(b []byte, i, depth int) (int, error) {
	if i >= len(b) {
		return i, syntaxErrorAt(b, i, "looking for a value")
	}
	switch c := b[i]; {
	case c == '"':
		end, _, err := s.str(b, i)
		return end, err
	case c == '{':
		_, end, err := s.object(b, i, depth, nil, false)
		return end, err
	case c == '[':
		return s.array(b, i, depth)
	case c == '-' || c >= '0' && c <= '9':
		return scanNumber(b, i)
	case c == 't':
		return scanLiteral(b, i, "true")
	case c == 'f':
		return scanLiteral(b, i, "false")
	case c == 'n':
		return scanLiteral(b, i, "null")
	}
	return i, syntaxErrorAt(b, i, "looking for a value")
}

// str scans the string that starts at b[i], the opening quote, and returns
// the index after its closing quote and whether it holds escapes.
func (s *jsonScanner) str(b []byte, i int) (int, bool, error) {
	escaped := false
	i++
	for {
		i = skipPlainWords(b, i)
		for i < len(b) && !stringStop[b[i]] {
			i++
		}
		if i >= len(b) {
			return i, escaped, syntaxErrorAt(b, i, "in a string")
		}
		switch c := b[i]; {
		case c == '"':
			return i + 1, escaped, nil
		case c == '\\':
			escaped = true
			var err error
			if i, err = s.escape(b, i); err != nil {
				return i, escaped, err
			}
		default:
			return i, escaped, syntaxErrorAt(b, i, "in a string; control characters must be escaped")
		}
	}
}

// escape scans the escape sequence that starts at b[i], a backslash, and
// returns the index after it. A \u escape of a UTF-16 surrogate that is not
// half of a high-low pair counts as a lone surrogate.
func (s *jsonScanner) escape(b []byte, i int) (int, error) {
	if i+1 >= len(b) {
		return i + 1, syntaxErrorAt(b, i+1, "in an escape sequence")
	}
	if b[i+1] != 'u' {
		if escapedByte[b[i+1]] == 0 {
			return i + 1, syntaxErrorAt(b, i+1, "in an escape sequence")
		}
		return i + 2, nil
	}
	r, ok := hexEscape(b, i)
	if !ok {
		return i, syntaxErrorAt(b, i, "starting a \\u escape; it needs four hex digits")
	}
	switch {
	case r >= 0xd800 && r < 0xdc00:
		if low, ok := hexEscape(b, i+6); ok && low >= 0xdc00 && low < 0xe000 {
			return i + 12, nil
		}
		s.loneSurrogates++
	case r >= 0xdc00 && r < 0xe000:
		s.loneSurrogates++
	}
	return i + 6, nil
}

// Byte masks for skipPlainWords.
const (
	lowBits  = 0x0101010101010101
	highBits = 0x8080808080808080
)

// skipPlainWords skips the 8-byte words of string contents that hold no
// quote, backslash or control byte, testing a whole word with bit
// arithmetic, and stops before the first word that needs the byte loop.
func skipPlainWords(b []byte, i int) int {
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		quote := x ^ ('"' * lowBits)
		backslash := x ^ ('\\' * lowBits)
		// (v - lowBits) &^ v has the high bit set in a byte that was zero,
		// and (x - 0x20*lowBits) &^ x in a byte below 0x20. Borrows can add
		// false marks only above a true one, so "any" is exact.
		stop := (quote-lowBits)&^quote | (backslash-lowBits)&^backslash | (x-0x20*lowBits)&^x
		if stop&highBits != 0 {
			return i
		}
	}
	return i
}

// hexEscape decodes the \uXXXX escape at b[i], if there is one.
func hexEscape(b []byte, i int) (rune, bool) {
	if i+6 > len(b) || b[i] != '\\' || b[i+1] != 'u' {
		return 0, false
	}
	for _, c := range b[i+2 : i+6] {
		if hexValue[c] == 0xff {
			return 0, false
		}
	}
	return hex4(b[i+2 : i+6]), true
}

// scanNumber scans the number that starts at b[i] and returns the index
// after it. The byte after a number is checked by the caller.
func scanNumber(b []byte, i int) (int, error) {
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = skipDigits(b, i)
	default:
		return i, syntaxErrorAt(b, i, "in a number")
	}
	if i < len(b) && b[i] == '.' {
		start := i + 1
		if i = skipDigits(b, start); i == start {
			return i, syntaxErrorAt(b, i, "after a decimal point")
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		start := i
		if i = skipDigits(b, start); i == start {
			return i, syntaxErrorAt(b, i, "in an exponent")
		}
	}
	return i, nil
}

func skipDigits(b []byte, i int) int {
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i
}

func scanLiteral(b []byte, i int, lit string) (int, error) {
	if !bytes.HasPrefix(b[i:], []byte(lit)) {
		return i, syntaxErrorAt(b, i, "in a literal")
	}
	return i + len(lit), nil
}

func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// lineReader reads lines of any length from a bufio.Reader. A line longer
// than max is dropped whole and reported as oversized.
type lineReader struct {
	br   *bufio.Reader
	long []byte // a line longer than br's buffer, assembled from its pieces
	max  int
	off  int64 // decoded bytes consumed, newlines included
}

// longLineKeep is the capacity above which the buffer of a long line is
// freed after use instead of kept for the next long line.
const longLineKeep = 16 << 20

// next returns the next line without its line ending; the slice is valid
// until the following call. At the end of input it returns io.EOF; a final
// line without a newline is returned first. A read error drops the partial
// line it interrupted, since its record may be incomplete.
func (lr *lineReader) next() (line []byte, oversized bool, err error) {
	line, err = lr.br.ReadSlice('\n')
	lr.off += int64(len(line))
	if err == bufio.ErrBufferFull {
		return lr.nextLong(line)
	}
	if err != nil && (err != io.EOF || len(line) == 0) {
		return nil, false, err
	}
	if len(line) > lr.max {
		return nil, true, nil
	}
	return trimEOL(line), false, nil
}

// nextLong assembles a line that does not fit in the bufio buffer from its
// first piece.
func (lr *lineReader) nextLong(first []byte) ([]byte, bool, error) {
	if cap(lr.long) > longLineKeep {
		lr.long = nil
	}
	lr.long = append(lr.long[:0], first...)
	oversized := len(lr.long) > lr.max
	for {
		piece, err := lr.br.ReadSlice('\n')
		lr.off += int64(len(piece))
		if !oversized && len(lr.long)+len(piece) > lr.max {
			oversized = true
			lr.long = lr.long[:0]
		}
		if !oversized {
			lr.long = append(lr.long, piece...)
		}
		switch {
		case err == bufio.ErrBufferFull:
			continue
		case err == nil || err == io.EOF:
			if oversized {
				return nil, true, nil
			}
			return trimEOL(lr.long), false, nil
		default:
			return nil, false, err
		}
	}
}

func trimEOL(line []byte) []byte {
	line = bytes.TrimSuffix(line, []byte{'\n'})
	return bytes.TrimSuffix(line, []byte{'\r'})
}

// jsonlReader decodes JSON lines, one record per line. Blank lines take a
// record index and are counted as EventBlankLine, but not logged.
type jsonlReader struct {
	lines   lineReader
	decoder jsonRecordDecoder
	events  *inputEvents
	records int64
}

func newJSONLReader(r io.Reader, paths columnPaths, maxRecord int, events *inputEvents) *jsonlReader {
	return &jsonlReader{
		lines:   lineReader{br: bufio.NewReaderSize(r, readBufferSize), max: maxRecord},
		decoder: jsonRecordDecoder{mapper: jsonMapper{paths: paths}},
		events:  events,
	}
}

func (r *jsonlReader) read(d *pipeline.Doc) (bool, error) {
	for {
		line, oversized, err := r.lines.next()
		if errors.Is(err, io.EOF) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		index := r.records
		r.records++
		if oversized {
			r.events.add(EventOversizedRecord, "line", index+1, errRecordTooLarge(r.lines.max))
			continue
		}
		if index == 0 {
			// A byte order mark, which some Windows tools write, is not JSON.
			line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))
		}
		if len(skipSpaceBytes(line)) == 0 {
			r.events.count(EventBlankLine)
			continue
		}
		if r.decode(line, index, d) {
			return true, nil
		}
	}
}

// decode fills d from one line and reports whether it holds a document.
func (r *jsonlReader) decode(line []byte, index int64, d *pipeline.Doc) bool {
	if !r.decoder.decode(line, r.events, "line", index+1, d) {
		return false
	}
	d.InputOffset = index
	return true
}

// jsonRecordDecoder fills documents from records that each hold one JSON
// object, such as the lines of a JSONL file or the values of Kafka
// records. It keeps scratch buffers between records.
type jsonRecordDecoder struct {
	mapper  jsonMapper
	members []jsonMember
}

// decode fills d from record and reports whether it holds a document. It
// counts a bad record on events, logged under posKey at pos, such as
// "line" 12 or "offset" 4031.
func (j *jsonRecordDecoder) decode(record []byte, events *inputEvents, posKey string, pos int64, d *pipeline.Doc) bool {
	var err error
	j.members, err = j.mapper.scan.record(record, j.members[:0])
	if err != nil {
		events.add(EventMalformedJSON, posKey, pos, err)
		return false
	}
	if n := j.mapper.scan.loneSurrogates; n > 0 {
		events.add(EventLoneSurrogate, posKey, pos, fmt.Errorf("%d lone UTF-16 surrogate escapes, decoded as U+FFFD", n))
	}
	if !j.mapper.fill(d, j.members) {
		events.add(EventMissingText, posKey, pos, errMissingText)
		return false
	}
	events.repairUTF8(d, posKey, pos)
	return true
}

func (r *jsonlReader) progress() (records, offset int64) { return r.records, r.lines.off }

func skipSpaceBytes(b []byte) []byte { return b[skipSpace(b, 0):] }
