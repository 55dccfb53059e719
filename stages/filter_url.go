package stages

import (
	"bytes"
	"compress/gzip"
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"github.com/winnow-data/winnow/pipeline"
)

// Drop reasons and events of url_filter, in the order its checks run.
const (
	urlBlocklisted      = "url_blocklisted"
	urlBannedWord       = "url_banned_word"
	urlBannedSubword    = "url_banned_subword"
	urlSoftBannedWords  = "url_soft_banned_words"
	urlEventNoURL       = "no_url"
	urlMaxSoftWordsSeen = 16 // max distinct soft words remembered per URL, and so the max of min_soft_banned_words
)

const urlFilterDoc = "Drops documents by their URL, as FineWeb's URL filter does: a domain and URL blocklist, " +
	"banned words among the URL's words, banned subwords anywhere in it, and soft banned words that need several distinct hits. " +
	"Documents without a URL pass and are counted as no_url."

//go:embed lists/datatrove/*.txt lists/datamap-rs/*.gz
var urlLists embed.FS

func init() {
	pipeline.Register("url_filter", urlFilterDoc, true, DefaultURLFilterOptions(), newURLFilter)
}

// URLFilterOptions configures url_filter. The embedded lists are FineWeb's:
// its URL blocklist (as published in allenai/datamap-rs) and datatrove's
// banned words, banned subwords and soft banned words.
type URLFilterOptions struct {
	BlocklistFile         string `yaml:"blocklist_file" doc:"file of extra blocklist entries, one a line: a domain (blocks it and its subdomains) or host/path (blocks that path and everything under it); lines starting with # are comments; default none"`
	BannedWordsFile       string `yaml:"banned_words_file" doc:"file of extra banned words, one a line, matched against the URL's words split on non-alphanumerics; default none"`
	BannedSubwordsFile    string `yaml:"banned_subwords_file" doc:"file of extra banned subwords, one a line, matched anywhere in the lowercased URL after each run of non-alphanumerics becomes one space; default none"`
	SoftBannedWordsFile   string `yaml:"soft_banned_words_file" doc:"file of extra soft banned words, one a line; default none"`
	ReplaceLists          bool   `yaml:"replace_lists" doc:"use only the given files instead of adding them to the embedded lists; a list with no file is then empty; default false"`
	MinSoftBannedWords    int    `yaml:"min_soft_banned_words" doc:"distinct soft banned words a URL needs to be dropped; 1 to 16, default 2"`
	DisableBlocklist      bool   `yaml:"disable_blocklist" doc:"skip the domain and URL blocklist; default false"`
	DisableSubwordMatches bool   `yaml:"disable_subword_matches" doc:"skip the banned subwords check; default false"`
}

// DefaultURLFilterOptions returns the options a config that names none gets.
func DefaultURLFilterOptions() URLFilterOptions {
	return URLFilterOptions{MinSoftBannedWords: 2}
}

// Validate checks the threshold and that every named file can be read.
func (o *URLFilterOptions) Validate() error {
	if o.MinSoftBannedWords < 1 || o.MinSoftBannedWords > urlMaxSoftWordsSeen {
		return fmt.Errorf("invalid min_soft_banned_words %d: must be between 1 and %d", o.MinSoftBannedWords, urlMaxSoftWordsSeen)
	}
	files := []struct{ key, path string }{
		{"blocklist_file", o.BlocklistFile}, {"banned_words_file", o.BannedWordsFile},
		{"banned_subwords_file", o.BannedSubwordsFile}, {"soft_banned_words_file", o.SoftBannedWordsFile},
	}
	for _, f := range files {
		if err := checkListFile(f.key, f.path); err != nil {
			return err
		}
	}
	return nil
}

// urlFilter is the url_filter stage. It is never changed after
// newURLFilter, so concurrent Process calls share nothing they write.
type urlFilter struct {
	opts     URLFilterOptions
	events   *pipeline.Counters
	domains  map[string]struct{} // blocked domains, without www.
	prefixes map[string]struct{} // blocked host/path prefixes, no trailing slash
	banned   map[string]struct{}
	soft     map[string]struct{}
	subwords *acMatcher // nil when there are none
}

func newURLFilter(opts URLFilterOptions, env pipeline.Env) (pipeline.Stage, error) {
	f := &urlFilter{opts: opts, events: env.Events, domains: map[string]struct{}{}, prefixes: map[string]struct{}{}}
	block, err := loadList(urlLists, "lists/datamap-rs/fineweb_url_filters__urls.txt.gz", opts.BlocklistFile, opts.ReplaceLists)
	if err != nil {
		return nil, err
	}
	for _, e := range block {
		f.addBlockEntry(e)
	}
	if f.banned, err = loadWordSet("lists/datatrove/banned_words.txt", opts.BannedWordsFile, opts.ReplaceLists); err != nil {
		return nil, err
	}
	if f.soft, err = loadWordSet("lists/datatrove/soft_banned_words.txt", opts.SoftBannedWordsFile, opts.ReplaceLists); err != nil {
		return nil, err
	}
	subs, err := loadList(urlLists, "lists/datatrove/banned_subwords.txt", opts.BannedSubwordsFile, opts.ReplaceLists)
	if err != nil {
		return nil, err
	}
	var patterns []string
	for _, s := range subs {
		if p := strings.TrimSpace(string(appendURLSpaced(nil, s))); p != "" {
			patterns = append(patterns, p)
		}
	}
	if len(patterns) > 0 {
		f.subwords = newACMatcher(patterns, false)
	}
	return f, nil
}

// addBlockEntry files a blocklist line as a domain or as a host/path prefix.
// Entries are normalized as URLs are: no scheme, lowercase host without
// www., no trailing slash.
func (f *urlFilter) addBlockEntry(entry string) {
	host, path := splitURL(entry)
	if host == "" {
		return
	}
	if path == "" {
		f.domains[host] = struct{}{}
		return
	}
	f.prefixes[host+path] = struct{}{}
}

func loadWordSet(embedded, file string, replace bool) (map[string]struct{}, error) {
	words, err := loadList(urlLists, embedded, file, replace)
	if err != nil {
		return nil, err
	}
	set := make(map[string]struct{}, len(words))
	for _, w := range words {
		set[strings.ToLower(w)] = struct{}{}
	}
	return set, nil
}

// Process drops the alive rows whose URL fails a check.
func (f *urlFilter) Process(_ context.Context, b *pipeline.Batch) error {
	urls := b.Strings(pipeline.ColURL)
	var noURL int64
	for i := range b.Len() {
		if !b.Alive(i) {
			continue
		}
		u := urls.Value(i)
		if strings.TrimSpace(u) == "" {
			noURL++
			continue
		}
		if reason, match := f.check(u); reason != "" {
			detail, _ := json.Marshal(map[string]string{"match": match})
			b.DropWithDetail(i, reason, string(detail))
		}
	}
	f.events.Add(urlEventNoURL, noURL)
	return nil
}

// check returns the reason code of the first check rawURL fails and the
// list entry that matched, or "" and "".
func (f *urlFilter) check(rawURL string) (reason, match string) {
	if !f.opts.DisableBlocklist {
		if m := f.blocklisted(rawURL); m != "" {
			return urlBlocklisted, m
		}
	}
	// Words and subwords are read from the decoded URL so that
	// "free%20sex" and "free-sex" look the same.
	decoded := strings.ToLower(rawURL)
	if d, err := url.PathUnescape(decoded); err == nil {
		decoded = strings.ToLower(d)
	}
	if m := f.bannedWord(decoded); m != "" {
		return urlBannedWord, m
	}
	if f.subwords != nil && !f.opts.DisableSubwordMatches {
		var stack [512]byte
		spaced := appendURLSpaced(stack[:0], decoded)
		if m := f.subwords.first(spaced); m != "" {
			return urlBannedSubword, strings.TrimSpace(m)
		}
	}
	if m := f.softBanned(decoded); m != "" {
		return urlSoftBannedWords, m
	}
	return "", ""
}

// blocklisted returns the blocklist entry that covers rawURL, or "". A
// domain entry covers its subdomains; a host/path entry covers the paths
// under it at segment boundaries, so "site.com/a" blocks "site.com/a/b" but
// not "site.com/ab".
func (f *urlFilter) blocklisted(rawURL string) string {
	host, path := splitURL(rawURL)
	if host == "" {
		return ""
	}
	for d := host; ; {
		if _, ok := f.domains[d]; ok {
			return d
		}
		dot := strings.IndexByte(d, '.')
		if dot < 0 {
			break
		}
		d = d[dot+1:]
	}
	if len(f.prefixes) == 0 || path == "" {
		return ""
	}
	key := host + path
	for end := len(host) + 1; end <= len(key); end++ {
		if end < len(key) && key[end] != '/' {
			continue
		}
		if _, ok := f.prefixes[key[:end]]; ok {
			return key[:end]
		}
	}
	return ""
}

// splitURL returns the lowercase host of a URL or blocklist entry, without
// scheme, user info, port, trailing dot and leading www., and its path
// without query, fragment and trailing slashes ("" or starting with "/").
func splitURL(raw string) (host, path string) {
	s := strings.TrimSpace(raw)
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	}
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		s = s[:i]
	}
	host, path = s, ""
	if i := strings.IndexByte(s, '/'); i >= 0 {
		host, path = s[:i], strings.TrimRight(s[i:], "/")
	}
	if i := strings.LastIndexByte(host, '@'); i >= 0 {
		host = host[i+1:]
	}
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.Contains(host[i:], "]") {
		host = host[:i]
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	return strings.TrimPrefix(host, "www."), path
}

// bannedWord returns the first word of the lowercased URL that is a
// banned word, or "". Words are runs of ASCII letters and digits and of
// non-ASCII bytes, so a UTF-8 character never splits a word.
func (f *urlFilter) bannedWord(lower string) string {
	for w := range urlWords(lower) {
		if _, ok := f.banned[w]; ok {
			return w
		}
	}
	return ""
}

// softBanned returns the soft banned words of the URL, joined by commas,
// when it has at least min_soft_banned_words distinct ones, or "". Distinct
// words are counted, so "sex-sex-sex" is one hit: a repeated word adds no
// evidence.
func (f *urlFilter) softBanned(lower string) string {
	var seen [urlMaxSoftWordsSeen]string
	n := 0
	for w := range urlWords(lower) {
		if _, ok := f.soft[w]; !ok {
			continue
		}
		dup := false
		for _, s := range seen[:n] {
			dup = dup || s == w
		}
		if dup {
			continue
		}
		seen[n] = w
		n++
		if n >= f.opts.MinSoftBannedWords {
			return strings.Join(seen[:n], ",")
		}
	}
	return ""
}

// urlWords yields the words of s: maximal runs of ASCII alphanumerics and
// non-ASCII bytes.
func urlWords(s string) func(yield func(string) bool) {
	return func(yield func(string) bool) {
		start := -1
		for i := 0; i <= len(s); i++ {
			if i < len(s) && isURLWordByte(s[i]) {
				if start < 0 {
					start = i
				}
				continue
			}
			if start >= 0 && !yield(s[start:i]) {
				return
			}
			start = -1
		}
	}
}

func isURLWordByte(c byte) bool {
	return c >= 0x80 || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// appendURLSpaced appends s lowercased, with each run of bytes that are
// not word bytes replaced by one space and a space added at both ends.
// Subword entries such as "2 girls 1 cup" are stored the same way, so they
// match "2-girls-1-cup" and "2_girls_1_cup".
//
// The padding spaces let an entry match at the URL's start and end as
// inside it. Entries are trimmed before matching, so "pornhub" still
// matches inside "mypornhubclips".
func appendURLSpaced(dst []byte, s string) []byte {
	dst = append(dst, ' ')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isURLWordByte(c):
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			dst = append(dst, c)
		case dst[len(dst)-1] != ' ':
			dst = append(dst, ' ')
		}
	}
	if dst[len(dst)-1] != ' ' {
		dst = append(dst, ' ')
	}
	return dst
}

// loadList returns the entries of the embedded list at name followed by
// those of file, or only those of file when replace is set. Lines are
// trimmed; empty lines and lines starting with # are skipped. A name
// ending in .gz is gunzipped.
func loadList(fsys embed.FS, name, file string, replace bool) ([]string, error) {
	var out []string
	if !replace {
		data, err := fsys.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("reading embedded list %s: %w", name, err)
		}
		if out, err = parseList(name, data); err != nil {
			return nil, err
		}
	}
	if file == "" {
		return out, nil
	}
	data, err := readListFile(file)
	if err != nil {
		return nil, err
	}
	extra, err := parseList(file, data)
	if err != nil {
		return nil, err
	}
	return append(out, extra...), nil
}

func parseList(name string, data []byte) ([]string, error) {
	if strings.HasSuffix(name, ".gz") {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("reading list %s: %w", name, err)
		}
		if data, err = io.ReadAll(zr); err != nil {
			return nil, fmt.Errorf("reading list %s: %w", name, err)
		}
	}
	var out []string
	for line := range strings.Lines(string(data)) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, line)
	}
	return out, nil
}

// readListFile reads a list file named in the options.
func readListFile(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading list file: %w", err)
	}
	return data, nil
}

// checkListFile reports an error naming key when path is set but cannot be
// read, so a typo fails at startup rather than when the stage is built.
func checkListFile(key, path string) error {
	if path == "" {
		return nil
	}
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("invalid %s %q: %w", key, path, err)
	}
	return nil
}

// acMatcher is an Aho-Corasick automaton over bytes with a dense
// transition table, so matching is one table lookup per input byte. Bytes
// that occur in no pattern share class 0, which keeps the table small.
// It is never changed after newACMatcher and is safe for concurrent use.
type acMatcher struct {
	class    [256]uint8
	nclass   int
	next     []int32 // next[state*nclass+class]
	out      []int32 // pattern ending at the state, or -1
	dict     []int32 // nearest proper suffix state with a pattern, or -1
	patterns []string
	fold     bool // lowercase ASCII input bytes
}

// newACMatcher builds an automaton for patterns. With fold, patterns and
// input are compared with ASCII letters lowercased.
func newACMatcher(patterns []string, fold bool) *acMatcher {
	m := &acMatcher{fold: fold, nclass: 1}
	for i, p := range patterns {
		if fold {
			patterns[i] = asciiLower(p)
		}
		for j := 0; j < len(patterns[i]); j++ {
			if c := patterns[i][j]; m.class[c] == 0 {
				m.class[c] = uint8(m.nclass)
				m.nclass++
			}
		}
	}
	m.patterns = patterns
	m.buildTrie()
	m.buildLinks()
	return m
}

func (m *acMatcher) addState() int32 {
	m.next = append(m.next, make([]int32, m.nclass)...)
	m.out = append(m.out, -1)
	m.dict = append(m.dict, -1)
	return int32(len(m.out) - 1)
}

// buildTrie inserts the patterns. A transition of 0 means "none yet".
func (m *acMatcher) buildTrie() {
	m.addState()
	for id, p := range m.patterns {
		var s int32
		for j := 0; j < len(p); j++ {
			c := int32(m.class[p[j]])
			if m.next[s*int32(m.nclass)+c] == 0 {
				t := m.addState()
				m.next[s*int32(m.nclass)+c] = t
			}
			s = m.next[s*int32(m.nclass)+c]
		}
		if m.out[s] < 0 {
			m.out[s] = int32(id)
		}
	}
}

// buildLinks turns the trie into the automaton in breadth-first order:
// missing transitions take the failure state's, and dict links skip to the
// nearest suffix state that ends a pattern.
func (m *acMatcher) buildLinks() {
	n := int32(m.nclass)
	fail := make([]int32, len(m.out))
	var queue []int32
	for c := int32(1); c < n; c++ {
		if t := m.next[c]; t != 0 {
			queue = append(queue, t)
		}
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		for c := int32(0); c < n; c++ {
			t := m.next[s*n+c]
			if t == 0 {
				m.next[s*n+c] = m.next[fail[s]*n+c]
				continue
			}
			f := m.next[fail[s]*n+c]
			fail[t] = f
			if m.out[f] >= 0 {
				m.dict[t] = f
			} else {
				m.dict[t] = m.dict[f]
			}
			queue = append(queue, t)
		}
	}
}

// scan calls fn with the pattern id and end offset of every match in text,
// in order of end offset and, at one offset, longest pattern first.
func (m *acMatcher) scan(text string, fn func(id, end int)) {
	n := int32(m.nclass)
	var s int32
	for i := 0; i < len(text); i++ {
		c := text[i]
		if m.fold && c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		s = m.next[s*n+int32(m.class[c])]
		for t := s; t >= 0; t = m.dict[t] {
			if m.out[t] >= 0 {
				fn(int(m.out[t]), i+1)
			}
		}
	}
}

// first returns the first pattern found in text, or "".
func (m *acMatcher) first(text []byte) string {
	n := int32(m.nclass)
	var s int32
	for _, c := range text {
		if m.fold && c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		s = m.next[s*n+int32(m.class[c])]
		if m.out[s] >= 0 {
			return m.patterns[m.out[s]]
		}
		if d := m.dict[s]; d >= 0 {
			return m.patterns[m.out[d]]
		}
	}
	return ""
}

func asciiLower(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, s)
}
