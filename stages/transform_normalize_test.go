package stages

import (
	"context"
	"io"
	"log/slog"
	"maps"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
	"golang.org/x/text/unicode/norm"

	"github.com/winnow-data/winnow/pipeline"
)

// yamlNode parses options, a YAML mapping, into the node Spec.Build takes;
// "" gives nil, which means all defaults.
func yamlNode(tb testing.TB, options string) *yaml.Node {
	tb.Helper()
	if options == "" {
		return nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(options), &doc); err != nil {
		tb.Fatalf("parsing options %q: %v", options, err)
	}
	return doc.Content[0]
}

// stageFromYAML builds the registered stage name with options given as a
// YAML mapping ("" for the defaults).
func stageFromYAML(tb testing.TB, name, options string) (pipeline.Stage, pipeline.Env) {
	tb.Helper()
	spec, ok := pipeline.Lookup(name)
	if !ok {
		tb.Fatalf("stage %s is not registered", name)
	}
	env := pipeline.NewEnv(slog.New(slog.NewTextHandler(io.Discard, nil)), name)
	st, err := spec.Build(yamlNode(tb, options), env)
	if err != nil {
		tb.Fatalf("building %s: %v", name, err)
	}
	return st, env
}

// batchFromTexts builds a batch with one document per text.
func batchFromTexts(seq uint64, texts ...string) *pipeline.Batch {
	bb := pipeline.NewBatchBuilder()
	for _, s := range texts {
		bb.Append(&pipeline.Doc{Text: s})
	}
	return bb.Build(seq)
}

// textsOf returns the text column of b.
func textsOf(b *pipeline.Batch) []string {
	col := b.Strings(pipeline.ColText)
	out := make([]string, b.Len())
	for i := range out {
		out[i] = col.Value(i)
	}
	return out
}

func processOne(tb testing.TB, st pipeline.Stage, b *pipeline.Batch) {
	tb.Helper()
	if err := st.Process(context.Background(), b); err != nil {
		tb.Fatalf("Process: %v", err)
	}
}

func TestNormalizeText(t *testing.T) {
	// filler makes the invalid fraction small: 200 ASCII code points.
	filler := strings.Repeat("word ", 40)
	tests := []struct {
		name       string
		options    string
		in         string
		want       string
		wantReason string
		wantEvents map[string]int64
	}{
		{name: "clean ascii unchanged", in: "Hello,\tworld.\nSecond line.", want: "Hello,\tworld.\nSecond line."},
		{name: "clean utf8 unchanged", in: "Grüße aus Köln — “quoted” 日本語", want: "Grüße aus Köln — “quoted” 日本語"},
		{
			name: "invalid byte repaired", in: filler + "caf\xe9 ok", want: filler + "caf\uFFFD ok",
			wantEvents: map[string]int64{normalizeEventRepaired: 1},
		},
		{
			name: "truncated sequence is one replacement", in: filler + "a\xe2\x82b", want: filler + "a\uFFFDb",
			wantEvents: map[string]int64{normalizeEventRepaired: 1},
		},
		{name: "mostly invalid dropped", in: "ab\xff\xfe", wantReason: normalizeReasonInvalidUTF8},
		{
			name: "invalid fraction at the limit kept", in: strings.Repeat("x", 99) + "\xff", want: strings.Repeat("x", 99) + "\uFFFD",
			wantEvents: map[string]int64{normalizeEventRepaired: 1},
		},
		{name: "invalid fraction just above the limit dropped", in: strings.Repeat("x", 98) + "\xff", wantReason: normalizeReasonInvalidUTF8},
		{name: "existing replacement characters counted", in: "ab\uFFFD\uFFFD", wantReason: normalizeReasonInvalidUTF8},
		{name: "invalid fraction option raised", options: "max_invalid_fraction: 0.5", in: "abc\xff", want: "abc\uFFFD", wantEvents: map[string]int64{normalizeEventRepaired: 1}},
		{
			name: "nfd becomes nfc", in: "Cafe\u0301 de\u0301ja\u0300", want: "Café déjà",
			wantEvents: map[string]int64{normalizeEventNFC: 1},
		},
		{
			name: "crlf becomes lf", in: "one\r\ntwo\r\nthree\r\n", want: "one\ntwo\nthree",
			wantEvents: map[string]int64{normalizeEventLineEndings: 1},
		},
		{
			name: "lone cr becomes lf", in: "one\rtwo\r\rthree", want: "one\ntwo\n\nthree",
			wantEvents: map[string]int64{normalizeEventLineEndings: 1},
		},
		{name: "cr kept when line endings option off", options: "normalize_line_endings: false", in: "one\r\ntwo", want: "one\r\ntwo"},
		{
			name: "nul and escape removed", in: "a\x00b\x1b[0mc\x7f", want: "ab[0mc\x7f",
			wantEvents: map[string]int64{normalizeEventControls: 1},
		},
		{
			name: "form feed and vertical tab become lf", in: "page one\fpage\vtwo", want: "page one\npage\ntwo",
			wantEvents: map[string]int64{normalizeEventControls: 1},
		},
		{
			name: "control removal lets nfc compose", in: "e\x00\u0301", want: "é",
			wantEvents: map[string]int64{normalizeEventControls: 1, normalizeEventNFC: 1},
		},
		{
			name: "zero width removed", in: "\uFEFFzero\u200Bwidth soft\u00ADhyphen word\u2060joiner", want: "zerowidth softhyphen wordjoiner",
			wantEvents: map[string]int64{normalizeEventZeroWidth: 1},
		},
		{name: "zwj kept", in: "man\u200Dwoman", want: "man\u200Dwoman"},
		{name: "zero width kept when option off", options: "remove_zero_width: false", in: "a\u200Bb", want: "a\u200Bb"},
		{name: "trailing whitespace trimmed", in: "text \t\n\u00A0\u3000\n", want: "text"},
		{name: "leading whitespace kept", in: "\n  text", want: "\n  text"},
		{name: "only whitespace dropped", in: " \t\r\n\u00A0\u2003\n", wantReason: normalizeReasonEmptyText},
		{name: "empty dropped", in: "", wantReason: normalizeReasonEmptyText},
		{name: "only controls dropped", in: "\x00\x01\x02", wantReason: normalizeReasonEmptyText},
		{name: "one character kept", in: "x", want: "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, env := stageFromYAML(t, "normalize", tt.options)
			b := batchFromTexts(0, tt.in)
			defer b.Release()
			processOne(t, st, b)

			if got := b.Dropped[0]; got != tt.wantReason {
				t.Fatalf("drop reason = %q, want %q", got, tt.wantReason)
			}
			if tt.wantReason == "" {
				if got := textsOf(b)[0]; got != tt.want {
					t.Errorf("text = %q, want %q", got, tt.want)
				}
			}
			events := env.Events.Snapshot()
			maps.DeleteFunc(events, func(_ string, v int64) bool { return v == 0 })
			want := tt.wantEvents
			if want == nil {
				want = map[string]int64{}
			}
			if !maps.Equal(events, want) {
				t.Errorf("events = %v, want %v", events, want)
			}
		})
	}
}

func TestNormalizeKeepsDroppedRowsAndOrder(t *testing.T) {
	st, env := stageFromYAML(t, "normalize", "")
	b := batchFromTexts(0, "keep\r\n", "  ", "already dropped\r\n", "e\u0301")
	defer b.Release()
	b.Drop(2, "earlier_stage")
	processOne(t, st, b)

	wantTexts := []string{"keep", "  ", "already dropped\r\n", "é"}
	wantDropped := []string{"", normalizeReasonEmptyText, "earlier_stage", ""}
	for i, got := range textsOf(b) {
		if got != wantTexts[i] {
			t.Errorf("row %d text = %q, want %q", i, got, wantTexts[i])
		}
		if b.Dropped[i] != wantDropped[i] {
			t.Errorf("row %d dropped = %q, want %q", i, b.Dropped[i], wantDropped[i])
		}
	}
	if got := env.Events.Snapshot()[normalizeEventNFC]; got != 1 {
		t.Errorf("nfc_changed = %d, want 1", got)
	}
}

func TestMaximalSubpart(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want int
	}{
		{"lone continuation byte", "\x80abc", 1},
		{"c0 is never a lead byte", "\xc0\xaf", 1},
		{"f5 is never a lead byte", "\xf5\x80\x80\x80", 1},
		{"two byte lead at end", "\xc3", 1},
		{"two byte lead before ascii", "\xc3a", 1},
		{"three byte truncated after two", "\xe2\x82a", 2},
		{"three byte truncated at end", "\xe2\x82", 2},
		{"overlong three byte form", "\xe0\x80\x80", 1},
		{"surrogate", "\xed\xa0\x80", 1},
		{"four byte truncated after three", "\xf0\x9f\x98!", 3},
		{"past u+10ffff", "\xf4\x90\x80\x80", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := maximalSubpart(tt.in); got != tt.want {
				t.Errorf("maximalSubpart(%q) = %d, want %d", tt.in, got, tt.want)
			}
		})
	}
}

func TestNormalizeMixedInvalidSequences(t *testing.T) {
	// F1 80 80, E1 80 and C2 are truncated sequences, so each is one
	// U+FFFD. The stray continuation bytes 80, 80 and BF are one each.
	st, _ := stageFromYAML(t, "normalize", "max_invalid_fraction: 1")
	b := batchFromTexts(0, "\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64")
	defer b.Release()
	processOne(t, st, b)

	want := "a\uFFFD\uFFFD\uFFFDb\uFFFDc\uFFFD\uFFFDd"
	if got := textsOf(b)[0]; got != want {
		t.Errorf("text = %q, want %q", got, want)
	}
}

func TestNormalizeOptionsValidate(t *testing.T) {
	tests := []struct {
		name    string
		options string
		wantErr string
	}{
		{"defaults", "", ""},
		{"zero fraction", "max_invalid_fraction: 0", ""},
		{"negative fraction", "max_invalid_fraction: -0.1", "invalid max_invalid_fraction -0.1"},
		{"fraction above one", "max_invalid_fraction: 1.5", "invalid max_invalid_fraction 1.5"},
		{"not a number", "max_invalid_fraction: .nan", "invalid max_invalid_fraction NaN"},
		{"unknown option", "max_invalid: 0.1", "max_invalid"},
	}
	spec, _ := pipeline.Lookup("normalize")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := spec.Build(yamlNode(t, tt.options), pipeline.Env{})
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Build: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("Build error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestNormalizeSpec(t *testing.T) {
	spec, ok := pipeline.Lookup("normalize")
	if !ok {
		t.Fatal("normalize is not registered")
	}
	if !spec.Concurrent {
		t.Error("normalize is not marked concurrent")
	}
	for _, o := range spec.Options {
		if !strings.Contains(o.Doc, "default") {
			t.Errorf("option %s doc %q does not state its default", o.Name, o.Doc)
		}
	}
}

// TestNormalizeSampleIdempotent checks on real documents that a second pass
// changes nothing and that the output is valid NFC without C0 controls.
func TestNormalizeSampleIdempotent(t *testing.T) {
	texts := dolmaSampleTexts(t)
	first, _ := stageFromYAML(t, "normalize", "")
	b := batchFromTexts(0, texts...)
	defer b.Release()
	processOne(t, first, b)

	once := textsOf(b)
	second, env := stageFromYAML(t, "normalize", "")
	again := batchFromTexts(1, once...)
	defer again.Release()
	for i := range b.Dropped {
		again.Dropped[i] = b.Dropped[i]
	}
	processOne(t, second, again)

	for i, s := range textsOf(again) {
		if !again.Alive(i) {
			continue
		}
		if s != once[i] {
			t.Errorf("doc %d changed on the second pass", i)
		}
		checkNormalized(t, s)
	}
	if ev := env.Events.Snapshot(); len(ev) != 0 {
		t.Errorf("second pass counted events %v", ev)
	}
}

func checkNormalized(tb testing.TB, s string) {
	tb.Helper()
	if !utf8.ValidString(s) {
		tb.Errorf("output %q is not valid UTF-8", s)
	}
	if !norm.NFC.IsNormalString(s) {
		tb.Errorf("output %q is not NFC", s)
	}
	if strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 && r != '\t' && r != '\n' }) {
		tb.Errorf("output %q holds a C0 control", s)
	}
	if strings.TrimRight(s, " \t\n") != s {
		tb.Errorf("output %q ends in whitespace", s)
	}
}

func FuzzNormalizeText(f *testing.F) {
	for _, s := range []string{"", "a\r\nb", "e\u0301", "\xe2\x82", "x\x00\u200B ", "\uFFFD\xff\n"} {
		f.Add(s)
	}
	n := &normalizer{opts: DefaultNormalizeOptions()}
	f.Fuzz(func(t *testing.T, in string) {
		var counts normalizeCounts
		out, reason := n.normalizeText(in, &counts)
		if reason != "" {
			return
		}
		checkNormalized(t, out)
		again, reason := n.normalizeText(out, &counts)
		if reason != "" || again != out {
			t.Errorf("second pass over %q gave %q, reason %q", out, again, reason)
		}
	})
}

// BenchmarkNormalize measures the stage on batches of about 3 KB English
// documents: "clean" as normalize leaves them, "crlf" with every LF written
// as CRLF so each document takes the rewrite path.
func BenchmarkNormalize(b *testing.B) {
	clean := benchEnglishDocs(b)
	crlf := make([]string, len(clean))
	for i, s := range clean {
		crlf[i] = strings.ReplaceAll(s, "\n", "\r\n")
	}
	for _, bc := range []struct {
		name  string
		texts []string
	}{{"clean", clean}, {"crlf", crlf}} {
		b.Run(bc.name, func(b *testing.B) {
			st, _ := stageFromYAML(b, "normalize", "")
			b.SetBytes(int64(totalBytes(bc.texts)))
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				batch := batchFromTexts(0, bc.texts...)
				b.StartTimer()
				processOne(b, st, batch)
				batch.Release()
			}
		})
	}
}

func totalBytes(texts []string) int {
	n := 0
	for _, s := range texts {
		n += len(s)
	}
	return n
}

// TestNoCompositionEndsInASCII checks the fact the per-run NFC check rests
// on: no canonical decomposition has an ASCII character after its first, so
// an ASCII character never composes with the character before it.
func TestNoCompositionEndsInASCII(t *testing.T) {
	for r := rune(0x80); r <= unicode.MaxRune; r++ {
		if r >= 0xD800 && r <= 0xDFFF {
			continue
		}
		d := []rune(norm.NFD.String(string(r)))
		for _, part := range d[1:] {
			if part < utf8.RuneSelf {
				t.Errorf("U+%04X decomposes to %U, which has ASCII after its first character", r, d)
			}
		}
	}
}

func TestNormalizeNFCQuickCheckAgreesWithNorm(t *testing.T) {
	texts := append(dolmaSampleTexts(t),
		"e\u0301", "A\u030a\u0301x", "\u1100\u1161 hangul", "x \u0301 lone mark", "\u00e9\u0301",
		"a\u0328\u0301 order", "q\u0307\u0323 reorder", "\u212b angstrom", "\u0958 nukta", strings.Repeat("\u0301", 40))
	n := &normalizer{opts: DefaultNormalizeOptions()}
	for i, s := range texts {
		if !utf8.ValidString(s) {
			continue
		}
		quickNFC := !n.scan(s).nfcUnsure
		if quickNFC && !norm.NFC.IsNormalString(s) {
			t.Errorf("text %d %q: quick check says NFC, norm says not", i, s)
		}
	}
}
