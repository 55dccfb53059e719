package cli

import (
	"slices"
	"strings"
	"testing"
)

// languagesInput writes one document per language, each a plain sentence.
func languagesInput(t *testing.T) string {
	return writeFile(t, "docs.jsonl", strings.Join([]string{
		`{"id":"fr","text":"Le chat dort sur le canapé du salon depuis ce matin."}`,
		`{"id":"en","text":"The cat has been asleep on the living room sofa since this morning."}`,
		`{"id":"de","text":"Die Katze schläft seit heute Morgen auf dem Sofa im Wohnzimmer."}`,
		`{"id":"short","text":"ok"}`,
	}, "\n")+"\n")
}

func TestFrenchOnlyConfigKeepsFrench(t *testing.T) {
	cfg := writeFile(t, "winnow.yaml", "stages:\n  - normalize\n  - langid\n  - lang_filter: {keep: [fra_Latn]}\n")
	root := t.TempDir()
	s := mustRun(t, "-c", cfg, "-o", root, "--rejects", languagesInput(t))
	if got := keptIDSet(t, root); !slices.Equal(got, []string{"fr"}) {
		t.Errorf("kept %v, want [fr]", got)
	}
	if s.DocsKept != 1 {
		t.Errorf("summary docs kept = %d, want 1", s.DocsKept)
	}

	code, out, stderr := runCLI(t, "rejects", "--reason", "lang_not_kept", "--sample", "0", root)
	if code != 0 || strings.Count(out, "\n") != 2 || !strings.Contains(out, `"stage":"lang_filter"`) {
		t.Errorf("rejects lang_not_kept: exit %d, out %q, stderr %q; want the English and German documents", code, out, stderr)
	}
}

func TestLanguageConfigErrorsFailAtStartup(t *testing.T) {
	tests := []struct {
		name, config, want string
	}{
		{"ISO 639-1 code", "stages: [langid, {lang_filter: {keep: [fr]}}]\n", `invalid keep entry "fr": not a langid label; did you mean fra_Latn?`},
		{"unknown label", "stages: [langid, {lang_filter: {keep: [xyz_Latn]}}]\n", `invalid keep entry "xyz_Latn"`},
		{"no langid", "stages: [normalize, {lang_filter: {keep: [fra_Latn]}}]\n", "no stage before it writes lang labels"},
		{"label langid cannot write", "stages: [{langid: {languages: [eng_Latn, deu_Latn]}}, {lang_filter: {keep: [fra_Latn]}}]\n",
			"keep: fra_Latn is never written by langid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := writeFile(t, "winnow.yaml", tt.config)
			root := t.TempDir()
			code, _, stderr := runCLI(t, "run", "-c", cfg, "-o", root, languagesInput(t))
			if code != exitUsage || !strings.Contains(stderr, tt.want) || !strings.Contains(stderr, cfg) {
				t.Errorf("exit %d, stderr %q; want exit %d naming the config and %q", code, stderr, exitUsage, tt.want)
			}
		})
	}
}
