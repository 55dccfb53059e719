package stages

import (
	"context"
	"testing"

	"github.com/winnow-data/winnow/pipeline"
)

func TestURLDomain(t *testing.T) {
	tests := map[string]string{
		"https://www.Example.com/a/b?c#d":       "example.com",
		"http://user:pw@news.example.org:8080/": "news.example.org",
		"example.net/page":                      "example.net",
		"https://example.com.":                  "example.com",
		"http://[2001:db8::1]:80/x":             "[2001:db8::1]",
		"":                                      "",
		"mailto:someone":                        "mailto",
	}
	for in, want := range tests {
		if got := URLDomain(in); got != want {
			t.Errorf("URLDomain(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestBalanceCountsBeforeAndAfter(t *testing.T) {
	bb := pipeline.NewBatchBuilder()
	bb.Append(&pipeline.Doc{ID: "a", Text: "one two three", Lang: "eng_Latn", URL: "https://a.com/1"})
	bb.Append(&pipeline.Doc{ID: "b", Text: "un deux", Lang: "fra_Latn", URL: "https://www.b.org/x"})
	bb.Append(&pipeline.Doc{ID: "c", Text: "x", URL: "https://c.net/"})
	bb.Append(&pipeline.Doc{ID: "d", Text: "four five", Lang: "eng_Latn", URL: "https://a.com/2"})
	b := bb.Build(0)
	defer b.Release()
	b.Drop(2, "empty_text")
	b.Drop(3, "exact_duplicate")

	a := NewBalance(pipeline.SourceByDomain, 2)
	if err := a.Write(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	r := a.Record()
	want := map[string]pipeline.BalanceTotals{
		"eng_Latn": {Before: pipeline.Totals{Docs: 2, Bytes: 22, Tokens: 5}, After: pipeline.Totals{Docs: 1, Bytes: 13, Tokens: 3}},
		"fra_Latn": {Before: pipeline.Totals{Docs: 1, Bytes: 7, Tokens: 2}, After: pipeline.Totals{Docs: 1, Bytes: 7, Tokens: 2}},
		"und":      {Before: pipeline.Totals{Docs: 1, Bytes: 1, Tokens: 1}},
	}
	for lang, w := range want {
		if got := r.Languages[lang]; got != w {
			t.Errorf("language %s: %+v, want %+v", lang, got, w)
		}
	}
	if len(r.Languages) != len(want) {
		t.Errorf("languages %v, want %d", r.Languages, len(want))
	}
	// Two distinct sources at most: c.net, the third, is counted as other.
	if got := r.Sources["(other)"].Before.Docs; got != 1 {
		t.Errorf("sources %+v: want c.net under (other)", r.Sources)
	}
	if got := r.Sources["b.org"].After.Docs; got != 1 {
		t.Errorf("source b.org kept %d docs, want 1", got)
	}
	if len(r.Cells) != 3 || r.Cells[0].Lang != "eng_Latn" || r.Cells[0].Source != "a.com" || r.Cells[0].Before.Docs != 2 {
		t.Errorf("cells %+v", r.Cells)
	}
}
