package stages

import (
	"fmt"
	"strings"
	"testing"

	"github.com/winnow-data/winnow/pipeline"
)

// urlBatch builds a batch with one harmless document per URL.
func urlBatch(urls ...string) *pipeline.Batch {
	bb := pipeline.NewBatchBuilder()
	for _, u := range urls {
		bb.Append(&pipeline.Doc{Text: "some text", URL: u})
	}
	return bb.Build(0)
}

func TestURLFilterStage(t *testing.T) {
	domains := writeListFile(t, "domains.txt", "# local additions\nexample.org\nshop.test/private/\n")
	withDomains := "blocklist_file: " + domains
	tests := []struct {
		name    string
		options string
		url     string
		want    string
	}{
		{"plain url passes", "", "https://www.example.com/news/2024/weather-report", ""},
		{"blocklisted url", "", "https://www.tumblr.com/0-my-dirty-desires-0/184396229330", urlBlocklisted},
		{"blocklisted path prefix", "", "http://tumblr.com/0-my-dirty-desires-0/184396229330/page/2?ref=x", urlBlocklisted},
		{"blocklist needs a segment boundary", "", "https://tumblr.com/0-my-dirty-desires-0/1843962293301", ""},
		{"blocklist host case and port", "", "HTTPS://TUMBLR.COM:443/0-my-dirty-desires-0/184396229330", urlBlocklisted},
		{"extra domain blocks subdomains", withDomains, "https://a.b.example.org/page", urlBlocklisted},
		{"extra domain near miss", withDomains, "https://notexample.org/page", ""},
		{"extra path entry", withDomains, "https://shop.test/private/cart", urlBlocklisted},
		{"extra path entry near miss", withDomains, "https://shop.test/public/cart", ""},
		{"banned word", "", "https://example.com/free-porn-videos", urlBannedWord},
		{"banned word in host", "", "https://hentai.example.com/", urlBannedWord},
		{"banned word inside a word passes", "", "https://example.com/pornographic-art-history", ""},
		{"commented banned word inactive", "", "https://example.com/mong/page", ""},
		{"banned subword", "", "https://example.com/watch/myxvideosclips", urlBannedSubword},
		{"banned multi-word subword", "", "https://example.com/2-girls-1-cup", urlBannedSubword},
		{"percent-encoded subword", "", "https://example.com/free%20sex", urlBannedSubword},
		{"subword near miss", "", "https://example.com/escort-ship-history", ""},
		{"two soft words", "", "https://example.com/naked-lingerie", urlSoftBannedWords},
		{"one soft word repeated", "", "https://example.com/sex/sex-ed", ""},
		{"one soft word with threshold one", "min_soft_banned_words: 1", "https://example.com/sex-ed", urlSoftBannedWords},
		{"subword check off", "disable_subword_matches: true", "https://example.com/watch/myxvideosclips", ""},
		{"blocklist off", "disable_blocklist: true", "https://www.tumblr.com/0-my-dirty-desires-0/184396229330", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, _ := stageFromYAML(t, "url_filter", tt.options)
			b := urlBatch(tt.url)
			defer b.Release()
			processOne(t, st, b)
			if got := b.Dropped[0]; got != tt.want {
				t.Errorf("dropped = %q, want %q (detail %s)", got, tt.want, b.Detail(0))
			}
		})
	}
}

func TestURLFilterDetailNamesMatch(t *testing.T) {
	st, _ := stageFromYAML(t, "url_filter", "")
	b := urlBatch("https://example.com/free-porn-videos")
	defer b.Release()
	processOne(t, st, b)
	if got, want := b.Detail(0), `{"match":"porn"}`; got != want {
		t.Errorf("detail = %s, want %s", got, want)
	}
}

func TestURLFilterNoURL(t *testing.T) {
	st, env := stageFromYAML(t, "url_filter", "")
	b := urlBatch("", "  ", "https://example.com/")
	defer b.Release()
	processOne(t, st, b)
	if b.LiveCount() != 3 {
		t.Errorf("dropped = %q, want none", b.Dropped)
	}
	if got := env.Events.Snapshot()[urlEventNoURL]; got != 2 {
		t.Errorf("%s events = %d, want 2", urlEventNoURL, got)
	}
}

func TestURLFilterReplaceLists(t *testing.T) {
	words := writeListFile(t, "words.txt", "wibble\n")
	subs := writeListFile(t, "subs.txt", "wob ble\n")
	soft := writeListFile(t, "soft.txt", "alpha\nbeta\n")
	options := fmt.Sprintf("replace_lists: true\nbanned_words_file: %s\nbanned_subwords_file: %s\nsoft_banned_words_file: %s", words, subs, soft)
	tests := []struct {
		url, want string
	}{
		{"https://www.tumblr.com/0-my-dirty-desires-0/184396229330", ""},
		{"https://example.com/free-porn-videos", ""},
		{"https://example.com/big-wibble", urlBannedWord},
		{"https://example.com/wob_ble_wobble", urlBannedSubword},
		{"https://example.com/alpha-beta", urlSoftBannedWords},
		{"https://example.com/alpha-gamma", ""},
	}
	st, _ := stageFromYAML(t, "url_filter", options)
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			b := urlBatch(tt.url)
			defer b.Release()
			processOne(t, st, b)
			if got := b.Dropped[0]; got != tt.want {
				t.Errorf("dropped = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestURLFilterOptionsValidate(t *testing.T) {
	tests := []struct {
		name, options, wantErr string
	}{
		{"defaults", "", ""},
		{"zero soft words", "min_soft_banned_words: 0", "invalid min_soft_banned_words 0"},
		{"too many soft words", "min_soft_banned_words: 17", "invalid min_soft_banned_words 17"},
		{"missing blocklist", "blocklist_file: /nonexistent/block.txt", `invalid blocklist_file "/nonexistent/block.txt"`},
		{"missing banned words", "banned_words_file: /nonexistent/w.txt", `invalid banned_words_file "/nonexistent/w.txt"`},
		{"unknown option", "banned_word_file: x", "invalid options"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkBuild(t, "url_filter", tt.options, tt.wantErr) })
	}
}

func TestURLFilterSpec(t *testing.T) {
	spec, ok := pipeline.Lookup("url_filter")
	if !ok {
		t.Fatal("url_filter is not registered")
	}
	if !spec.Concurrent {
		t.Error("url_filter is not concurrent")
	}
	for _, o := range spec.Options {
		if !strings.Contains(o.Doc, "default") {
			t.Errorf("option %s: doc %q does not state its default", o.Name, o.Doc)
		}
	}
}

func TestURLFilterEmbeddedBlocklistSize(t *testing.T) {
	st, _ := stageFromYAML(t, "url_filter", "")
	f := st.(*urlFilter)
	// The file has 19,586 newlines and a last line without one.
	if n := len(f.domains) + len(f.prefixes); n != 19587 {
		t.Errorf("blocklist has %d entries, want the 19587 of the embedded list", n)
	}
}

func TestACMatcher(t *testing.T) {
	m := newACMatcher([]string{"he", "she", "hers", "his"}, true)
	var got []string
	m.scan("uSHErs", func(id, end int) { got = append(got, fmt.Sprintf("%s@%d", m.patterns[id], end)) })
	if want := "she@4 he@4 hers@6"; strings.Join(got, " ") != want {
		t.Errorf("matches = %v, want %s", got, want)
	}
	if got := m.first([]byte("this")); got != "his" {
		t.Errorf("first = %q, want his", got)
	}
	if got := m.first([]byte("xyz")); got != "" {
		t.Errorf("first = %q, want none", got)
	}
}

// BenchmarkURLFilter measures the stage on the URLs of the Dolma sample
// with about 3 KB documents, so MB/s counts text bytes as the other
// filters' benchmarks do.
func BenchmarkURLFilter(b *testing.B) {
	texts := benchEnglishDocs(b)
	bb := pipeline.NewBatchBuilder()
	for i, s := range texts {
		bb.Append(&pipeline.Doc{Text: s, URL: fmt.Sprintf("https://www.site%d.example.com/blog/2019/07/article-%d.html?page=2", i%50, i)})
	}
	batch := bb.Build(0)
	defer batch.Release()
	st, _ := stageFromYAML(b, "url_filter", "")

	b.SetBytes(int64(totalBytes(texts)))
	b.ReportAllocs()
	for b.Loop() {
		clear(batch.Dropped)
		processOne(b, st, batch)
	}
}
