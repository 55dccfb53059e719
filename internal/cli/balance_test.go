package cli

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
)

// mixtureInput writes English, French and German documents whose
// whitespace tokens add up to 900, 90 and 10, from two sources, plus one
// document too short for langid.
func mixtureInput(t *testing.T) string {
	var lines []string
	add := func(id, source, text string) {
		raw, _ := json.Marshal(map[string]string{"id": id, "source": source, "text": text})
		lines = append(lines, string(raw))
	}
	english := strings.Repeat("The cat has been asleep on the sofa since morning. ", 10) // 100 tokens
	for i := range 9 {
		add(fmt.Sprintf("en%d", i), "web", english)
	}
	for i := range 9 {
		add(fmt.Sprintf("fr%d", i), "books", "Nous partons demain matin pour Lyon avec mes cousins aujourd'hui.") // 10 tokens
	}
	add("de", "web", "Die Katze schläft seit heute Morgen gemütlich auf dem Sofa.") // 10 tokens
	add("short", "web", "ok")
	return writeFile(t, "docs.jsonl", strings.Join(lines, "\n")+"\n")
}

func TestManifestRecordsBalanceAndMixture(t *testing.T) {
	cfg := writeFile(t, "winnow.yaml", `stages: [normalize, langid, lang_filter]
balance:
  source: source
  mixture: {alpha: 0.5, max_repeats: 4}
`)
	root := t.TempDir()
	mustRun(t, "-c", cfg, "-o", root, mixtureInput(t))
	b := latestManifest(t, root).Balance
	if b == nil {
		t.Fatal("the manifest has no balance")
	}

	langs := map[string][4]int64{ // docs before, after; tokens before, after
		"eng_Latn": {9, 9, 900, 900},
		"fra_Latn": {9, 9, 90, 90},
		"deu_Latn": {1, 1, 10, 10},
		"und":      {1, 0, 1, 0},
	}
	for lang, w := range langs {
		got := b.Languages[lang]
		if [4]int64{got.Before.Docs, got.After.Docs, got.Before.Tokens, got.After.Tokens} != w {
			t.Errorf("language %s: %+v, want docs %d -> %d, tokens %d -> %d", lang, got, w[0], w[1], w[2], w[3])
		}
	}
	if got := b.Sources["books"].After.Docs; got != 9 {
		t.Errorf("source books kept %d docs, want 9", got)
	}
	if got := b.Sources["web"].Before.Docs; got != 11 {
		t.Errorf("source web had %d docs before curation, want 11", got)
	}
	for _, c := range b.Cells {
		if c.Lang == "fra_Latn" && c.Source != "books" {
			t.Errorf("cell %+v: French documents all come from books", c)
		}
	}

	// By hand, alpha 0.5: sqrt(900) = 30, sqrt(90) = 9.48683 and
	// sqrt(10) = 3.16228 give shares 0.70341, 0.22244 and 0.07415 of a
	// 1,000-token budget. German would be repeated 7.41 times, over the
	// cap of 4, so it keeps 4 * 10 / 1000 = 0.04, and its excess 0.03415
	// goes to English and French in proportion 0.70341 : 0.22244.
	m := b.Mixture
	if m == nil || m.BudgetTokens != 1000 {
		t.Fatalf("mixture %+v: want one over a 1,000-token budget", m)
	}
	want := map[string][2]float64{ // share, repeats
		"deu_Latn": {0.04, 4},
		"eng_Latn": {0.72935, 0.81039},
		"fra_Latn": {0.23065, 2.56278},
	}
	if len(m.Weights) != len(want) {
		t.Errorf("weights %+v, want %d languages (und has no kept tokens)", m.Weights, len(want))
	}
	for _, w := range m.Weights {
		if math.Abs(w.Share-want[w.Name][0]) > 1e-4 || math.Abs(w.Repeats-want[w.Name][1]) > 1e-3 {
			t.Errorf("%s: share %.5f, repeats %.5f; want %v", w.Name, w.Share, w.Repeats, want[w.Name])
		}
	}
	if len(m.Warnings) != 1 || !strings.Contains(m.Warnings[0], "deu_Latn") {
		t.Errorf("warnings %q, want one about deu_Latn's cap", m.Warnings)
	}
}

func TestMixtureConfigErrors(t *testing.T) {
	tests := map[string]string{
		"balance: {mixture: {alpha: 2}}":                  "balance.mixture: invalid alpha 2",
		"balance: {mixture: {targets: {french: 0.5}}}":    `balance.mixture.targets: invalid label "french": not a langid label; did you mean fra_Latn?`,
		"balance: {mixture: {targets: {fra_Latn: 1.5}}}":  "invalid targets.fra_Latn 1.5",
		"balance: {source: domain}":                       `balance.source: invalid value "domain"`,
		"balance: {mixture: {alpha: 0.5, max_repeat: 4}}": "max_repeat",
	}
	for config, want := range tests {
		path := writeFile(t, "winnow.yaml", config+"\n")
		code, _, stderr := runCLI(t, "run", "-c", path, "-o", t.TempDir(), mixtureInput(t))
		if code != exitUsage || !strings.Contains(stderr, want) {
			t.Errorf("%s: exit %d, stderr %q; want exit %d and %q", config, code, stderr, exitUsage, want)
		}
	}
}
