package stages

import (
	"strings"
	"testing"

	"github.com/winnow-data/winnow/pipeline"
)

func TestLangFilter(t *testing.T) {
	docs := []pipeline.Doc{
		{ID: "fr", Text: "x", Lang: "fra_Latn", LangScore: 0.9},
		{ID: "fr-unsure", Text: "x", Lang: "fra_Latn", LangScore: 0.4},
		{ID: "en", Text: "x", Lang: "eng_Latn", LangScore: 0.99},
		{ID: "und", Text: "x", Lang: LangUndetermined},
		{ID: "none", Text: "x"},
		{ID: "fr-edge", Text: "x", Lang: "fra_Latn", LangScore: 0.5},
	}
	tests := []struct {
		options string
		want    []string // reason per document, "" kept
	}{
		{"", []string{"", "", "", langFilterUnd, langFilterUnd, ""}},
		{"keep_und: true", []string{"", "", "", "", "", ""}},
		{"keep: [fra_Latn]", []string{"", "", langFilterNotKept, langFilterUnd, langFilterUnd, ""}},
		{"{keep: [fra_Latn], min_score: 0.5}", []string{"", langFilterLowScore, langFilterNotKept, langFilterUnd, langFilterUnd, ""}},
		{"{keep: [eng_Latn, fra_Latn], keep_und: true}", []string{"", "", "", "", "", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.options, func(t *testing.T) {
			st, _ := stageFromYAML(t, "lang_filter", tt.options)
			bb := pipeline.NewBatchBuilder()
			for i := range docs {
				bb.Append(&docs[i])
			}
			b := bb.Build(0)
			defer b.Release()
			processOne(t, st, b)
			for i, want := range tt.want {
				if b.Dropped[i] != want {
					t.Errorf("%s: dropped %q, want %q", docs[i].ID, b.Dropped[i], want)
				}
			}
			if b.Dropped[1] == langFilterLowScore {
				if got, want := b.Detail(1), `{"signal":"lang_score","value":0.4000000059604645,"threshold":0.5}`; got != want {
					t.Errorf("detail = %s, want %s", got, want)
				}
			}
		})
	}
}

func TestLangFilterRejectsUnknownLabels(t *testing.T) {
	checkBuild(t, "lang_filter", "keep: [fr]", `invalid keep entry "fr": not a langid label; did you mean fra_Latn?`)
	checkBuild(t, "lang_filter", "keep: [French]", "did you mean fra_Latn?")
	checkBuild(t, "lang_filter", "keep: [fra_Latf]", "did you mean fra_Latn?")
	checkBuild(t, "lang_filter", "keep: [zz_Latn]", "labels are ISO 639-3 plus script")
	checkBuild(t, "lang_filter", "keep: [und]", "keep_und: true")
	checkBuild(t, "lang_filter", "keep: [fra_Latn, fra_Latn]", "listed twice")
	checkBuild(t, "lang_filter", "min_score: 1.5", "invalid min_score 1.5")
	checkBuild(t, "lang_filter", "keep: [fra_Latn, deu_Latn]", "")
}

func TestLangChainNeedsLabelsLangidWrites(t *testing.T) {
	build := func(name, options string) pipeline.StageInstance {
		st, _ := stageFromYAML(t, name, options)
		return pipeline.StageInstance{Name: name, Stage: st}
	}
	tests := []struct {
		name  string
		chain []pipeline.StageInstance
		want  string
	}{
		{"langid then filter", []pipeline.StageInstance{build("langid", ""), build("lang_filter", "keep: [fra_Latn]")}, ""},
		{"filter without langid", []pipeline.StageInstance{build("normalize", ""), build("lang_filter", "keep: [fra_Latn]")},
			"stage lang_filter: no stage before it writes lang labels"},
		{"filter before langid", []pipeline.StageInstance{build("lang_filter", ""), build("langid", "")},
			"stage lang_filter: no stage before it writes lang labels"},
		{"label langid leaves out", []pipeline.StageInstance{
			build("langid", "languages: [eng_Latn, deu_Latn]"), build("lang_filter", "keep: [fra_Latn]")},
			"stage lang_filter: keep: fra_Latn is never written by langid before it, which writes deu_Latn, eng_Latn"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := pipeline.CheckLangChain(tt.chain)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("CheckLangChain: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("CheckLangChain error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}
