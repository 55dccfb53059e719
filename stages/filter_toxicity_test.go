package stages

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/winnow-data/winnow/pipeline"
)

// cleanWords returns n words of harmless English.
func cleanWords(n int) string {
	words := strings.Fields("the river runs past the old mill and the farm")
	var sb strings.Builder
	for i := range n {
		sb.WriteString(words[i%len(words)])
		sb.WriteByte(' ')
	}
	return sb.String()
}

func TestToxicityStage(t *testing.T) {
	strict := "max_flagged_ratio: 0"
	strictAll := "{max_flagged_ratio: 0, unlabelled: []}" // every list for these unlabelled texts
	tests := []struct {
		name    string
		options string
		text    string
		want    string
	}{
		{"clean prose passes", "", cleanWords(300), ""},
		{"one word in 222 dropped", "", cleanWords(221) + "wank", toxicWords},
		{"one word in 223 passes", "", cleanWords(222) + "wank", ""},
		{"score exactly at threshold passes", "max_flagged_ratio: 0.01", cleanWords(99) + "wank", ""},
		{"score above threshold dropped", "max_flagged_ratio: 0.01", cleanWords(98) + "wank", toxicWords},
		{"upper case and punctuation", strict, "He said: WANK!", toxicWords},
		{"Scunthorpe not flagged", strict, "Scunthorpe beat Grimsby 2-1", ""},
		{"homogeneous not flagged", strict, "a homogeneous mixture", ""},
		{"word inside a word not flagged", strict, "the wankel engine", ""},
		{"phrase flagged", strict, "they watched two girls one cup again", toxicWords},
		{"phrase split by another word passes", strict, "two girls and one cup", ""},
		{"hyphenated entry matches spaced text", strict, "find the g spot", toxicWords},
		{"chinese substring", strictAll, "你他妈的在干什么", toxicWords},
		{"chinese allowed compound", strictAll, "这款手机的性能很好，适合女性", ""},
		{"japanese substring", strictAll, "これはセックスの話です", toxicWords},
		{"japanese allowed compound", strictAll, "グローバル企業のカントリーマネージャー", ""},
		{"thai substring", strictAll, "มึงไปไหน", toxicWords},
		{"thai allowed compound", strictAll, "ค้นหาด้วยกูเกิล", ""},
		{"number entry left out", strict, "chapter 13. begins", ""},
		{"empty text passes", strict, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, _ := stageFromYAML(t, "toxicity", tt.options)
			b := batchFromTexts(0, tt.text)
			defer b.Release()
			processOne(t, st, b)
			if got := b.Dropped[0]; got != tt.want {
				t.Errorf("dropped = %q, want %q (detail %s)", got, tt.want, b.Detail(0))
			}
		})
	}
}

func TestToxicityDetailRecordsScore(t *testing.T) {
	st, _ := stageFromYAML(t, "toxicity", "")
	b := batchFromTexts(0, cleanWords(99)+"wank")
	defer b.Release()
	processOne(t, st, b)
	want := `{"signal":"toxic_score","value":0.01,"threshold":0.0045,"flagged_words":1,"words":100}`
	if got := b.Detail(0); got != want {
		t.Errorf("detail = %s, want %s", got, want)
	}
}

func TestToxicMatcherCount(t *testing.T) {
	st, _ := stageFromYAML(t, "toxicity", "")
	m := st.(*toxicity).matcher
	all := st.(*toxicity).all | toxicExtraBit
	tests := []struct {
		name        string
		text        string
		words, hits int
	}{
		{"overlapping chinese entries count once", "他妈的", 3, 1},
		{"two separate chinese hits", "他妈的，他妈的", 6, 2},
		{"phrase and its last word count once", "eat my ass", 3, 1},
		{"each ideograph is a word", "你好世界", 4, 0},
		{"apostrophe splits words", "don't stop", 3, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			words, hits := m.count(tt.text, all)
			if words != tt.words || hits != tt.hits {
				t.Errorf("count(%q) = %d words, %d hits; want %d, %d", tt.text, words, hits, tt.words, tt.hits)
			}
		})
	}
}

func TestToxicityLangRouting(t *testing.T) {
	tests := []struct {
		name    string
		options string
		lang    string
		want    string
	}{
		{"english label uses en list", "", "eng_Latn", toxicWords},
		{"bare code uses en list", "", "en", toxicWords},
		{"no lang uses en list", "", "", toxicWords},
		{"und uses en list", "", "und", toxicWords},
		{"unlabelled french list only", "unlabelled: [fr]", "", ""},
		{"unlabelled every list", "unlabelled: []", "", toxicWords},
		{"french label skips en list", "", "fra_Latn", ""},
		{"language without a list", "", "vie_Latn", ""},
		{"en not selected", "languages: [fr, zh]", "", ""},
		{"en selected", "languages: [en]", "eng_Latn", toxicWords},
		{"en selected by label", "languages: [eng_Latn]", "", toxicWords},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, env := stageFromYAML(t, "toxicity", tt.options)
			bb := pipeline.NewBatchBuilder()
			bb.Append(&pipeline.Doc{Text: "what a wank", Lang: tt.lang})
			b := bb.Build(0)
			defer b.Release()
			processOne(t, st, b)
			if got := b.Dropped[0]; got != tt.want {
				t.Errorf("dropped = %q, want %q", got, tt.want)
			}
			if tt.lang == "vie_Latn" && env.Events.Snapshot()[toxicEventNoList] != 1 {
				t.Errorf("events = %v, want one %s", env.Events.Snapshot(), toxicEventNoList)
			}
		})
	}
}

func TestToxicityUnlabelledUsesEnglishList(t *testing.T) {
	// "con" is on the French list and "del" on the Dutch one; both are
	// ordinary words in English prose about Spanish.
	text := "the con artist met me at the del mar fair"
	tests := []struct {
		options string
		want    string
	}{
		{"max_flagged_ratio: 0", ""},
		{"{max_flagged_ratio: 0, unlabelled: []}", toxicWords},
		{"{max_flagged_ratio: 0, unlabelled: [fr]}", toxicWords},
	}
	for _, tt := range tests {
		st, _ := stageFromYAML(t, "toxicity", tt.options)
		b := batchFromTexts(0, text)
		processOne(t, st, b)
		if got := b.Dropped[0]; got != tt.want {
			t.Errorf("%s: dropped = %q, want %q", tt.options, got, tt.want)
		}
		b.Release()
	}
	checkBuild(t, "toxicity", "unlabelled: [xx]", `invalid unlabelled entry "xx"`)
}

func TestToxicityChineseRoutedByLang(t *testing.T) {
	st, _ := stageFromYAML(t, "toxicity", "")
	bb := pipeline.NewBatchBuilder()
	for _, lang := range []string{"cmn_Hani", "eng_Latn"} {
		bb.Append(&pipeline.Doc{Text: "你他妈的在干什么", Lang: lang})
	}
	b := bb.Build(0)
	defer b.Release()
	processOne(t, st, b)
	if b.Dropped[0] != toxicWords || b.Dropped[1] != "" {
		t.Errorf("dropped = %q, want [%q, \"\"]", b.Dropped, toxicWords)
	}
}

func writeListFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestToxicityListFiles(t *testing.T) {
	extra := writeListFile(t, "extra.txt", "# team words\nwibble\n夜\n")
	allow := writeListFile(t, "allow.txt", "夜景\n")
	replace := "max_flagged_ratio: 0\nreplace_lists: true\nextra_words_file: " + extra + "\nallow_words_file: " + allow
	add := "max_flagged_ratio: 0\nextra_words_file: " + extra
	tests := []struct {
		name, options, text, lang, want string
	}{
		{"extra word flagged", add, "a wibble here", "", toxicWords},
		{"extra word applies to any lang", add, "a wibble here", "vie_Latn", toxicWords},
		{"embedded list kept when adding", add, "what a wank", "", toxicWords},
		{"embedded list gone when replacing", replace, "what a wank", "", ""},
		{"replacement word flagged", replace, "a wibble here", "", toxicWords},
		{"replacement substring flagged", replace, "今夜", "", toxicWords},
		{"replacement allow word respected", replace, "看夜景", "", ""},
		{"embedded allow list gone when replacing", replace, "Scunthorpe", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, _ := stageFromYAML(t, "toxicity", tt.options)
			bb := pipeline.NewBatchBuilder()
			bb.Append(&pipeline.Doc{Text: tt.text, Lang: tt.lang})
			b := bb.Build(0)
			defer b.Release()
			processOne(t, st, b)
			if got := b.Dropped[0]; got != tt.want {
				t.Errorf("dropped = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestToxicityOptionsValidate(t *testing.T) {
	tests := []struct {
		name, options, wantErr string
	}{
		{"defaults", "", ""},
		{"all languages", "languages: []", ""},
		{"langid label accepted", "languages: [eng_Latn, fra_Latn]", ""},
		{"label without a list", "languages: [vie_Latn]", `invalid languages entry "vie_Latn": not a lang label with an LDNOOBW list`},
		{"unknown code", "languages: [en, xx]", `invalid languages entry "xx"`},
		{"negative ratio", "max_flagged_ratio: -0.1", "invalid max_flagged_ratio -0.1"},
		{"ratio above one", "max_flagged_ratio: 2", "invalid max_flagged_ratio 2"},
		{"nan ratio", "max_flagged_ratio: .nan", "invalid max_flagged_ratio NaN"},
		{"replace without file", "replace_lists: true", "invalid replace_lists true"},
		{"missing extra file", "extra_words_file: /nonexistent/words.txt", `invalid extra_words_file "/nonexistent/words.txt"`},
		{"missing allow file", "allow_words_file: /nonexistent/allow.txt", `invalid allow_words_file "/nonexistent/allow.txt"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkBuild(t, "toxicity", tt.options, tt.wantErr) })
	}
}

func TestToxicitySpec(t *testing.T) {
	spec, ok := pipeline.Lookup("toxicity")
	if !ok {
		t.Fatal("toxicity is not registered")
	}
	if !spec.Concurrent {
		t.Error("toxicity is not concurrent")
	}
	for _, o := range spec.Options {
		if o.Doc == "" || !strings.Contains(o.Doc, "default") {
			t.Errorf("option %s: doc %q does not state its default", o.Name, o.Doc)
		}
	}
}

func TestToxicityEmbedsEveryList(t *testing.T) {
	for _, code := range ldnoobwCodes {
		words, err := loadList(toxicLists, "lists/ldnoobw/"+code+".txt", "", false)
		if err != nil || len(words) == 0 {
			t.Errorf("list %s: %d entries, error %v", code, len(words), err)
		}
	}
}

func TestToxicityCountDoesNotAllocate(t *testing.T) {
	st, _ := stageFromYAML(t, "toxicity", "")
	m := st.(*toxicity).matcher
	text := strings.Repeat("The Quick brown fox, WANK and two girls one cup. ", 40)
	if n := testing.AllocsPerRun(20, func() { m.count(text, ^uint32(0)) }); n != 0 {
		t.Errorf("count allocates %v times per call, want 0", n)
	}
}

// BenchmarkToxicity measures the stage with every list on about 3 KB
// English documents without a lang, the slowest case.
func BenchmarkToxicity(b *testing.B) {
	texts := benchEnglishDocs(b)
	batch := batchFromTexts(0, texts...)
	defer batch.Release()
	st, _ := stageFromYAML(b, "toxicity", "")

	b.SetBytes(int64(totalBytes(texts)))
	b.ReportAllocs()
	for b.Loop() {
		clear(batch.Dropped)
		processOne(b, st, batch)
	}
}
