package stages

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"github.com/winnow-data/winnow/pipeline"
)

// Field paths tried, in order, for a document column whose pipeline.FieldMap
// entry is empty. The first path that holds a string or a number fills the
// column. Together they read these layouts without conversion:
//
//   - Dolma: id, text, source, metadata.url
//   - C4: text, url (timestamp goes to metadata)
//   - RedPajama v1: text, meta.url, meta.source; v2: raw_content, doc_id
//   - datatrove: id, text, metadata.url, metadata.source
var (
	defaultIDPaths     = []string{"id", "doc_id"}
	defaultTextPaths   = []string{"text", "content", "raw_content"}
	defaultURLPaths    = []string{"url", "metadata.url", "meta.url", "metadata.warc_url"}
	defaultSourcePaths = []string{"source", "metadata.source", "meta.source"}
)

// fieldPath is a dotted field path split at its dots: "metadata.url" is
// {"metadata", "url"}.
type fieldPath []string

// columnPaths lists, for each document column that records fill, the field
// paths tried in order.
type columnPaths struct {
	id, text, url, source []fieldPath
}

// newColumnPaths returns the paths of fm, or the defaults for its empty
// entries. It rejects a path with an empty segment, such as "meta..url".
func newColumnPaths(fm pipeline.FieldMap) (columnPaths, error) {
	var cp columnPaths
	var err error
	if cp.id, err = candidatePaths("id", fm.ID, defaultIDPaths); err != nil {
		return cp, err
	}
	if cp.text, err = candidatePaths("text", fm.Text, defaultTextPaths); err != nil {
		return cp, err
	}
	if cp.url, err = candidatePaths("url", fm.URL, defaultURLPaths); err != nil {
		return cp, err
	}
	if cp.source, err = candidatePaths("source", fm.Source, defaultSourcePaths); err != nil {
		return cp, err
	}
	return cp, nil
}

func candidatePaths(column, configured string, defaults []string) ([]fieldPath, error) {
	if configured == "" {
		out := make([]fieldPath, len(defaults))
		for i, p := range defaults {
			out[i] = strings.Split(p, ".")
		}
		return out, nil
	}
	path := strings.Split(configured, ".")
	if slices.Contains(path, "") {
		return nil, fmt.Errorf("input.fields.%s: invalid path %q: a dotted path needs a name between dots", column, configured)
	}
	return []fieldPath{path}, nil
}

// Ranks of metadata fields. When two fields have the same key, the one with
// the lowest rank wins: a record's own top-level field beats a key merged
// from its "metadata" object, which beats a key merged from its "meta"
// object. Within one object, the last of two equal keys wins, as in
// encoding/json.
const (
	rankTopLevel = iota
	rankMetadata
	rankMeta
)

// mergedObjects are the top-level fields whose object value is merged into
// the metadata column instead of nested under its own key, in rank order.
var mergedObjects = [...]string{"metadata", "meta"}

// metaField is one entry of the metadata column before sorting.
type metaField struct {
	key   []byte // decoded key, the sort key
	token []byte // key as a JSON string, quotes included
	value []byte // JSON value, as written in the input; nil when it was emptied
	rank  int
	order int // position within its object
}

// appendMetadata sorts fields by key, keeps the winning field of each key,
// and appends them to dst as a JSON object. Sorting makes the column
// independent of the field order of the input. A winner whose value is nil
// is left out, so an emptied field does not let a loser take its place.
func appendMetadata(dst []byte, fields []metaField) []byte {
	slices.SortFunc(fields, func(a, b metaField) int {
		if c := bytes.Compare(a.key, b.key); c != 0 {
			return c
		}
		if a.rank != b.rank {
			return a.rank - b.rank
		}
		return b.order - a.order
	})
	dst = append(dst, '{')
	written := 0
	for i, f := range fields {
		if i > 0 && bytes.Equal(f.key, fields[i-1].key) {
			continue
		}
		if f.value == nil {
			continue
		}
		if written > 0 {
			dst = append(dst, ',')
		}
		written++
		dst = append(dst, f.token...)
		dst = append(dst, ':')
		dst = append(dst, f.value...)
	}
	return append(dst, '}')
}

// derivedID returns the id of a record that has none: the input's name and
// the record's index in it, joined by a colon, as in "2019/part-00.jsonl.gz:17".
// The name is relative to the path argument that found the input, so the id
// stays the same when the data moves, but depends on that argument. The
// same file read through its folder, a glob, or its own path can get
// "2019/part-00.jsonl.gz:17" or "part-00.jsonl.gz:17".
func derivedID(input string, index int64) string {
	return input + ":" + strconv.FormatInt(index, 10)
}

// jsonMember is one key-value pair of a validated JSON object, as slices of
// the input line.
type jsonMember struct {
	keyToken []byte // key with its quotes, escapes not decoded
	keyEsc   bool   // key contains a backslash escape
	val      []byte // value as written
}

// key returns the decoded key. It allocates only for a key with escapes.
func (m *jsonMember) key() []byte {
	raw := m.keyToken[1 : len(m.keyToken)-1]
	if !m.keyEsc {
		return raw
	}
	return appendUnescaped(nil, raw)
}

// findMember returns the value of the last member named name, the one
// encoding/json would keep.
func findMember(members []jsonMember, name string) ([]byte, bool) {
	var val []byte
	found := false
	for i := range members {
		if string(members[i].key()) == name {
			val, found = members[i].val, true
		}
	}
	return val, found
}

// mergedIndex returns the index of name in mergedObjects, or -1.
func mergedIndex[T ~string | ~[]byte](name T) int {
	for i, obj := range mergedObjects {
		if string(name) == obj {
			return i
		}
	}
	return -1
}

// jsonMapper fills documents from the members of JSON records. It keeps
// scratch buffers between records, so each reader has its own.
type jsonMapper struct {
	paths    columnPaths
	scan     jsonScanner
	top      []jsonMember
	merged   [len(mergedObjects)][]jsonMember
	isMerged [len(mergedObjects)]bool
	nested   []jsonMember
	used     []fieldPath // paths that filled a column of the current record
	fields   []metaField
	meta     []byte
	str      []byte // decoded id, url or source
	textBuf  []byte // decoded text, which d.Text may alias
}

// fill sets the id, text, url, source and metadata of d from a record's
// top-level members. It returns false, leaving d partly set, when no text
// path holds a string or a number.
func (m *jsonMapper) fill(d *pipeline.Doc, top []jsonMember) bool {
	m.top = top
	m.used = m.used[:0]
	for i, name := range mergedObjects {
		v, ok := findMember(top, name)
		m.isMerged[i] = ok && v[0] == '{'
		if m.isMerged[i] {
			m.merged[i], _ = m.scan.members(v, m.merged[i][:0])
		}
	}

	text, ok := m.text()
	if !ok {
		return false
	}
	d.Text = text
	d.ID, _ = m.column(m.paths.id)
	d.URL, _ = m.column(m.paths.url)
	d.Source, _ = m.column(m.paths.source)
	d.Metadata = m.metadata()
	return true
}

// column returns the value of the first path that holds a string or a
// number, and remembers the path so the field stays out of the metadata.
func (m *jsonMapper) column(paths []fieldPath) (string, bool) {
	for _, p := range paths {
		v, ok := m.lookup(p)
		if !ok {
			continue
		}
		if s, ok := m.scalarString(v); ok {
			m.used = append(m.used, p)
			return s, true
		}
	}
	return "", false
}

// text returns the record's text like column does, but without copying
// it: the string aliases the line or m.textBuf and is valid until the next
// record is read. Skipping that copy made BenchmarkJSONLSource about 15%
// faster, since the batch builder copies the text anyway.
func (m *jsonMapper) text() (string, bool) {
	for _, p := range m.paths.text {
		v, ok := m.lookup(p)
		if !ok {
			continue
		}
		raw, ok := scalarBytes(v)
		if !ok {
			continue
		}
		if v[0] == '"' && bytes.IndexByte(raw, '\\') >= 0 {
			m.textBuf = appendUnescaped(m.textBuf[:0], raw)
			raw = m.textBuf
		}
		m.used = append(m.used, p)
		return unsafe.String(unsafe.SliceData(raw), len(raw)), true
	}
	return "", false
}

// lookup returns the value at path in the current record.
func (m *jsonMapper) lookup(path fieldPath) ([]byte, bool) {
	members := m.top
	for i, name := range path[:len(path)-1] {
		if k := mergedIndex(name); i == 0 && k >= 0 {
			if !m.isMerged[k] {
				return nil, false
			}
			members = m.merged[k]
			continue
		}
		v, ok := findMember(members, name)
		if !ok || v[0] != '{' {
			return nil, false
		}
		// v points into the line, not into m.nested, so reusing it is safe.
		m.nested, _ = m.scan.members(v, m.nested[:0])
		members = m.nested
	}
	return findMember(members, path[len(path)-1])
}

// scalarString returns the text of a JSON string or number; ok is false for
// other values, null included.
func (m *jsonMapper) scalarString(v []byte) (string, bool) {
	raw, ok := scalarBytes(v)
	if !ok {
		return "", false
	}
	if v[0] == '"' && bytes.IndexByte(raw, '\\') >= 0 {
		m.str = appendUnescaped(m.str[:0], raw)
		raw = m.str
	}
	return string(raw), true
}

// scalarBytes returns the contents of a JSON string, escapes not decoded,
// or the text of a JSON number.
func scalarBytes(v []byte) ([]byte, bool) {
	switch c := v[0]; {
	case c == '"':
		return v[1 : len(v)-1], true
	case c == '-' || c >= '0' && c <= '9':
		return v, true
	}
	return nil, false
}

// metadata returns the record's unmapped fields as a JSON object with
// sorted keys: the top-level fields, with the keys of a top-level
// "metadata" or "meta" object merged in. A field that filled a column is
// left out wherever it is nested, so that the metadata never holds a second
// copy of a column, such as text that a later stage scrubs. It returns ""
// when there are no fields.
func (m *jsonMapper) metadata() string {
	m.fields = m.fields[:0]
	for i := range m.top {
		mem := &m.top[i]
		key := mem.key()
		if k := mergedIndex(key); k >= 0 && m.isMerged[k] {
			continue
		}
		value, ok := m.unusedValue(nil, mem, key)
		if !ok {
			continue
		}
		m.fields = append(m.fields, metaField{key: key, token: mem.keyToken, value: value, rank: rankTopLevel, order: i})
	}
	for k := range mergedObjects {
		if !m.isMerged[k] {
			continue
		}
		for i := range m.merged[k] {
			mem := &m.merged[k][i]
			key := mem.key()
			value, ok := m.unusedValue(mergedObjects[k:k+1], mem, key)
			if !ok {
				continue
			}
			m.fields = append(m.fields, metaField{key: key, token: mem.keyToken, value: value, rank: rankMetadata + k, order: i})
		}
	}
	if len(m.fields) == 0 {
		return ""
	}
	m.meta = appendMetadata(m.meta[:0], m.fields)
	return string(m.meta)
}

// unusedValue returns the value of the member mem, whose decoded key is
// key, at the path parent (nil for the top level), without the fields that
// filled a column. ok is false when the member itself filled one. The
// value is nil when removing nested fields left it empty.
func (m *jsonMapper) unusedValue(parent []string, mem *jsonMember, key []byte) (value []byte, ok bool) {
	whole, below := usedBelow(m.used, parent, key)
	switch {
	case whole:
		return nil, false
	case len(below) > 0:
		return pruneObject(&m.scan, mem.val, below), true
	}
	return mem.val, true
}

// usedBelow reports whether paths holds the path parent.key itself, and
// returns the rest of each longer path that starts with parent.key.
func usedBelow(paths []fieldPath, parent []string, key []byte) (whole bool, below []fieldPath) {
	depth := len(parent) + 1
	for _, p := range paths {
		if len(p) < depth || p[depth-1] != string(key) || !slices.Equal(p[:depth-1], parent) {
			continue
		}
		if len(p) == depth {
			return true, nil
		}
		below = append(below, p[depth:])
	}
	return false, below
}

// pruneObject returns a copy of obj, a validated JSON object, without the
// fields at paths, which are relative to obj. All members with a removed
// key go, not only the last one that lookup finds. An object that the
// removal leaves empty goes too, and pruneObject returns nil when nothing
// is left. A value that is not an object is returned unchanged.
func pruneObject(scan *jsonScanner, obj []byte, paths []fieldPath) []byte {
	if obj[0] != '{' {
		return obj
	}
	members, _ := scan.members(obj, nil)
	out := append(make([]byte, 0, len(obj)), '{')
	kept := 0
	for i := range members {
		mem := &members[i]
		whole, below := usedBelow(paths, nil, mem.key())
		if whole {
			continue
		}
		value := mem.val
		if len(below) > 0 {
			if value = pruneObject(scan, value, below); value == nil {
				continue
			}
		}
		if kept > 0 {
			out = append(out, ',')
		}
		out = append(out, mem.keyToken...)
		out = append(out, ':')
		out = append(out, value...)
		kept++
	}
	if kept == 0 {
		return nil
	}
	return append(out, '}')
}

// appendUnescaped appends the decoded contents of a validated JSON string,
// quotes removed, to dst. A lone UTF-16 surrogate escape becomes U+FFFD, as
// encoding/json decodes it. Other bytes pass through unchanged, so invalid
// UTF-8 in the input stays invalid.
func appendUnescaped(dst, raw []byte) []byte {
	for len(raw) > 0 {
		i := bytes.IndexByte(raw, '\\')
		if i < 0 {
			return append(dst, raw...)
		}
		dst = append(dst, raw[:i]...)
		raw = raw[i:]
		if raw[1] != 'u' {
			dst = append(dst, escapedByte[raw[1]])
			raw = raw[2:]
			continue
		}
		r := hex4(raw[2:6])
		raw = raw[6:]
		if utf16.IsSurrogate(r) {
			next := utf8.RuneError
			if len(raw) >= 6 && raw[0] == '\\' && raw[1] == 'u' {
				next = hex4(raw[2:6])
			}
			r = utf16.DecodeRune(r, next)
			if r != utf8.RuneError {
				raw = raw[6:]
			}
		}
		dst = utf8.AppendRune(dst, r)
	}
	return dst
}

// escapedByte maps the letter after a backslash to the byte it stands for.
var escapedByte = [256]byte{
	'"': '"', '\\': '\\', '/': '/',
	'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t',
}

// hex4 decodes four hex digits that the scanner has validated.
func hex4(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		r = r<<4 | rune(hexValue[c])
	}
	return r
}

// hexValue maps a hex digit to its value and other bytes to 0xff.
var hexValue = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = byte(c - '0')
	}
	for c := 'a'; c <= 'f'; c++ {
		t[c] = byte(c - 'a' + 10)
		t[c-'a'+'A'] = byte(c - 'a' + 10)
	}
	return t
}()

// appendJSONString appends s to dst as a JSON string. It escapes quotes,
// backslashes and control characters and passes other bytes through, so
// invalid UTF-8 stays as it was.
func appendJSONString(dst []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
