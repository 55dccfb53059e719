package stages

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	trafilatura "github.com/markusmobius/go-trafilatura"
	"golang.org/x/net/html"

	"github.com/winnow-data/winnow/pipeline"
)

// articlePage is a news-style page: a navigation menu, an article with a
// heading, paragraphs, a list and a table, a sidebar of links and a footer.
const articlePage = `<!DOCTYPE html>
<html><head><title>How rivers shape valleys | Earth Notes</title>
<meta charset="utf-8"></head>
<body>
<header><nav><ul>
  <li><a href="/">Home</a></li><li><a href="/news">Latest news</a></li>
  <li><a href="/shop">Shop our store</a></li><li><a href="/contact">Contact us</a></li>
</ul></nav></header>
<main><article>
<h1>How rivers shape valleys</h1>
<p>Rivers cut valleys over thousands of years. The water carries sand and
   stones that grind the rock of the river bed, and floods widen the valley floor.</p>
<p>In mountains the valleys are narrow and steep, shaped like the letter V.
   Glaciers, by contrast, carve wide valleys with a U-shaped profile.</p>
<ul><li>Erosion deepens the channel.</li><li>Deposition builds the flood plain.</li></ul>
<table><tr><th>River</th><th>Length</th></tr><tr><td>Nile</td><td>6650 km</td></tr></table>
<p>Old meanders are cut off<br>and become oxbow lakes.</p>
</article></main>
<aside class="sidebar"><h3>Popular posts</h3><ul><li><a href="/a">Ten tips for hikers</a></li><li><a href="/b">Best boots of the year</a></li></ul></aside>
<footer><p>Copyright 2024 Earth Notes Ltd. All rights reserved.</p><a href="/privacy">Privacy policy</a></footer>
</body></html>`

// extractRows runs a stage over one batch of documents and returns the
// batch.
func extractRows(t *testing.T, st pipeline.Stage, docs ...pipeline.Doc) *pipeline.Batch {
	t.Helper()
	bb := pipeline.NewBatchBuilder()
	for i := range docs {
		bb.Append(&docs[i])
	}
	b := bb.Build(0)
	t.Cleanup(b.Release)
	processOne(t, st, b)
	return b
}

func TestExtractArticle(t *testing.T) {
	st, _ := stageFromYAML(t, "extract", "")
	b := extractRows(t, st, pipeline.Doc{Text: articlePage, Metadata: `{"content_type":"text/html","warc_date":"2024-05-18T01:58:10Z"}`})

	if !b.Alive(0) {
		t.Fatalf("dropped as %s", b.Dropped[0])
	}
	text := textsOf(b)[0]
	want := "How rivers shape valleys\n" +
		"Rivers cut valleys over thousands of years. The water carries sand and stones that grind the rock of the river bed, and floods widen the valley floor.\n" +
		"In mountains the valleys are narrow and steep, shaped like the letter V. Glaciers, by contrast, carve wide valleys with a U-shaped profile.\n" +
		"Erosion deepens the channel.\n" +
		"Deposition builds the flood plain.\n" +
		"River | Length\n" +
		"Nile | 6650 km\n" +
		"Old meanders are cut off\n" +
		"and become oxbow lakes."
	if text != want {
		t.Errorf("text:\n%s\nwant:\n%s", text, want)
	}
	for _, boilerplate := range []string{"Shop our store", "Contact us", "Ten tips for hikers", "Copyright", "Privacy policy"} {
		if strings.Contains(text, boilerplate) {
			t.Errorf("text keeps boilerplate %q", boilerplate)
		}
	}
	meta := b.Strings(pipeline.ColMetadata).Value(0)
	if want := `{"content_type":"text/html","title":"How rivers shape valleys","warc_date":"2024-05-18T01:58:10Z"}`; meta != want {
		t.Errorf("metadata = %s, want %s", meta, want)
	}
}

func TestExtractEmptyPage(t *testing.T) {
	st, _ := stageFromYAML(t, "extract", "")
	b := extractRows(t, st,
		pipeline.Doc{Text: "<html><head><script>var a = 1;</script></head><body><div> </div><img src=a.png></body></html>"},
		pipeline.Doc{Text: "<html><body></body></html>", Metadata: `{"content_type":"text/html"}`},
	)

	for i := range 2 {
		if b.Dropped[i] != extractEmpty {
			t.Errorf("row %d: dropped %q, want %s", i, b.Dropped[i], extractEmpty)
		}
		if !strings.Contains(b.Detail(i), `"html_bytes"`) {
			t.Errorf("row %d: detail %q, want html_bytes", i, b.Detail(i))
		}
	}
}

func TestExtractSelectsHTMLRows(t *testing.T) {
	st, env := stageFromYAML(t, "extract", "")
	plain := "Plain text from a WET file.\nSecond line."
	tagged := "<b>tagged</b> text declared as plain"
	b := extractRows(t, st,
		pipeline.Doc{Text: plain, Metadata: `{"warc_date":"2024-05-18T01:58:10Z"}`},
		pipeline.Doc{Text: tagged, Metadata: `{"content_type":"text/plain"}`},
		pipeline.Doc{Text: "\uFEFF \n" + articlePage},
		pipeline.Doc{Text: articlePage, Metadata: `{"content_type":"application/xhtml+xml"}`},
	)

	texts := textsOf(b)
	if texts[0] != plain || texts[1] != tagged {
		t.Errorf("non-HTML rows changed: %q, %q", texts[0], texts[1])
	}
	for i := 2; i < 4; i++ {
		if !strings.HasPrefix(texts[i], "How rivers shape valleys\n") {
			t.Errorf("row %d not extracted: %.60q", i, texts[i])
		}
	}
	if n := env.Events.Snapshot()[extractEventNonHTML]; n != 2 {
		t.Errorf("%s = %d, want 2", extractEventNonHTML, n)
	}
}

func TestExtractOptions(t *testing.T) {
	short := "<html><body><article><p>Only a short sentence here.</p></article></body></html>"
	tests := []struct {
		name    string
		options string
		page    string
		reason  string
	}{
		{"short text kept by default", "", short, ""},
		{"min_text_chars", "{min_text_chars: 100}", short, extractTooShort},
		{"max_html_bytes", "{max_html_bytes: 100}", articlePage, extractTooLarge},
		{"precision", "{focus: precision}", articlePage, ""},
		{"recall with fallback", "{focus: recall, fallback: true}", articlePage, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, _ := stageFromYAML(t, "extract", tt.options)
			b := extractRows(t, st, pipeline.Doc{Text: tt.page})
			if b.Dropped[0] != tt.reason {
				t.Errorf("dropped %q, want %q", b.Dropped[0], tt.reason)
			}
		})
	}
}

func TestExtractTablesOption(t *testing.T) {
	for _, tt := range []struct {
		options string
		want    bool
	}{{"", true}, {"{include_tables: false}", false}} {
		st, _ := stageFromYAML(t, "extract", tt.options)
		b := extractRows(t, st, pipeline.Doc{Text: articlePage})
		if got := strings.Contains(textsOf(b)[0], "Nile | 6650 km"); got != tt.want {
			t.Errorf("options %q: table row in text = %v, want %v", tt.options, got, tt.want)
		}
	}
}

func TestExtractOptionErrors(t *testing.T) {
	checkBuild(t, "extract", "{focus: speed}", `invalid focus "speed"`)
	checkBuild(t, "extract", "{min_text_chars: -1}", "invalid min_text_chars -1")
	checkBuild(t, "extract", "{max_html_bytes: -5}", "invalid max_html_bytes -5")
	checkBuild(t, "extract", "{include_comments: true, fallback: true}", "")
}

func TestExtractRecoversFromPanic(t *testing.T) {
	saved := extractDocument
	t.Cleanup(func() { extractDocument = saved })
	extractDocument = func(*html.Node, trafilatura.Options) (*trafilatura.ExtractResult, error) {
		panic("index out of range")
	}

	st, _ := stageFromYAML(t, "extract", "")
	b := extractRows(t, st, pipeline.Doc{Text: articlePage}, pipeline.Doc{Text: "plain"})

	if b.Dropped[0] != extractFailed || !strings.Contains(b.Detail(0), "index out of range") {
		t.Errorf("row 0: dropped %q with detail %q, want %s", b.Dropped[0], b.Detail(0), extractFailed)
	}
	if !b.Alive(1) {
		t.Errorf("row 1 dropped as %s", b.Dropped[1])
	}
}

func TestExtractStopsOnCancel(t *testing.T) {
	st, _ := stageFromYAML(t, "extract", "")
	b := batchFromTexts(0, articlePage, articlePage)
	defer b.Release()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	if err := st.Process(ctx, b); !errors.Is(err, context.Canceled) {
		t.Errorf("Process error = %v, want context.Canceled", err)
	}
}

// TestExtractConcurrentDeterministic runs one stage on several batches at
// once, as the engine's worker pool does, and checks that each result
// equals that of a serial run.
func TestExtractConcurrentDeterministic(t *testing.T) {
	docs := ccExcerptDocs(t)
	var pages []string
	for _, d := range docs {
		pages = append(pages, d.Text)
	}
	st, _ := stageFromYAML(t, "extract", "")

	run := func() []string {
		b := batchFromTexts(0, pages...)
		defer b.Release()
		processOne(t, st, b)
		out := textsOf(b)
		for i, r := range b.Dropped {
			out[i] = r + ":" + out[i]
		}
		return out
	}
	want := run()
	const workers = 4
	results := make([][]string, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() { results[w] = run() })
	}
	wg.Wait()
	for w, got := range results {
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("worker %d, page %d: result differs from the serial run", w, i)
			}
		}
	}
}

func TestRenderText(t *testing.T) {
	tests := []struct {
		name, html, want string
	}{
		{"whitespace collapsed", "<p>  a \n\t b  </p><p>c</p>", "a b\nc"},
		{"inline elements join words", "<p>foo<b>bar</b> <i>baz</i></p>", "foobar baz"},
		{"br breaks a line", "<p>one<br>two<br><br>three</p>", "one\ntwo\nthree"},
		{"table cells", "<table><tr><th>a</th><th>b</th></tr><tr><td> c </td><td>d</td><td></td></tr></table>", "a | b\nc | d"},
		{"pre keeps lines", "<pre>  x = 1\n\n  y = 2\n</pre><p>after</p>", "  x = 1\n  y = 2\nafter"},
		{"nested lists", "<ul><li>a<ul><li>b</li></ul></li><li>c</li></ul>", "a\nb\nc"},
		{"script and style skipped", "<p>a<script>x()</script><style>p{}</style>b</p>", "ab"},
		{"no blank lines", "<div><p></p><p>x</p><div> </div></div>", "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := html.Parse(strings.NewReader(tt.html))
			if err != nil {
				t.Fatal(err)
			}
			if got := renderText(doc); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestMergeMetadata(t *testing.T) {
	tests := []struct {
		name, meta, want string
		changed          bool
	}{
		{"empty", "", `{"title":"A <b> & C"}`, true},
		{"sorted keys", `{"z":1,"a":{"n":[1,2]}}`, `{"a":{"n":[1,2]},"title":"A <b> & C","z":1}`, true},
		{"title replaced", `{"title":"old","url":"https://x.example/?a=1&b=2"}`, `{"title":"A <b> & C","url":"https://x.example/?a=1&b=2"}`, true},
		{"not an object", `[1,2]`, `[1,2]`, false},
		{"invalid JSON", `{"a":`, `{"a":`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, changed := mergeMetadata(tt.meta, "title", "A <b> & C")
			if got != tt.want || changed != tt.changed {
				t.Errorf("got %s, %v, want %s, %v", got, changed, tt.want, tt.changed)
			}
		})
	}
}
