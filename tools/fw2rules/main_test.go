package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// tablePath is the table embedded in the winnow binary, from this folder.
const tablePath = "../../stages/lists/fineweb2/rules.tsv"

// configsDir returns the FineWeb-2 configs folder the test compares the
// embedded table with: WINNOW_FINEWEB2_CONFIGS, or else the copy kept
// beside the repository.
func configsDir() string {
	if dir := os.Getenv("WINNOW_FINEWEB2_CONFIGS"); dir != "" {
		return dir
	}
	return filepath.Join("..", "..", "..", "shared", "data", "lists", "fineweb2", "configs")
}

func TestEmbeddedTableUpToDate(t *testing.T) {
	dir := configsDir()
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("FineWeb-2 configs folder %s is missing, so the embedded table is not compared with it; set WINNOW_FINEWEB2_CONFIGS to the configs folder of a huggingface/fineweb-2 checkout", dir)
	}
	want, stats, err := buildTable(dir)
	if err != nil {
		t.Fatal(err)
	}
	if stats.Languages != 1929 {
		t.Errorf("configs give %d languages, want 1929", stats.Languages)
	}
	got, err := os.ReadFile(tablePath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from what the configs give; regenerate it with go run ./tools/fw2rules -configs %s", tablePath, dir)
	}
}

func TestEmbeddedTableSpotChecks(t *testing.T) {
	raw, err := os.ReadFile(tablePath)
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string][]string{}
	lines := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
	if lines[0] != strings.Join(columns, "\t") {
		t.Fatalf("header %q, want %q", lines[0], strings.Join(columns, "\t"))
	}
	for _, line := range lines[1:] {
		fields := strings.Split(line, "\t")
		rows[fields[0]] = fields
	}
	column := func(name string) int { return slices.Index(columns, name) }

	fra, cmn := rows["fra_Latn"], rows["cmn_Hani"]
	if fra == nil || cmn == nil {
		t.Fatal("table lacks fra_Latn or cmn_Hani")
	}
	if got := fra[column("dup_line_frac")]; got != "0.264" {
		t.Errorf("fra_Latn dup_line_frac = %s, want 0.264", got)
	}
	if words := strings.Fields(fra[column("stopwords")]); !slices.Contains(words, "de") {
		t.Errorf("fra_Latn stop words %q lack \"de\"", words)
	}
	if got := cmn[column("min_avg_word_length")]; got != "1" {
		t.Errorf("cmn_Hani min_avg_word_length = %s, want 1", got)
	}
	if words := strings.Fields(cmn[column("stopwords")]); !slices.Contains(words, "的") {
		t.Errorf("cmn_Hani stop words %q lack 的", words)
	}
}

func TestCleanStopWords(t *testing.T) {
	in := []string{
		"De", "de", // lowercased, then a duplicate
		"l'", "ཀྱི་", // punctuation trimmed from the ends
		"don't",  // inner punctuation kept
		"،", "¿", // a single mark kept
		"། །", "bok kei", // whitespace: left out
		"--",                 // punctuation only, longer than one code point: left out
		"\u200b", "a\u200bb", // zero-width space removed
		"e\u0301",               // NFC: é
		strings.Repeat("x", 65), // too long
	}
	want := []string{"de", "l", "ཀྱི", "don't", "،", "¿", "ab", "é"}
	var stats stopWordStats
	if got := cleanStopWords(in, &stats); !slices.Equal(got, want) {
		t.Errorf("cleanStopWords = %q, want %q", got, want)
	}
	wantStats := stopWordStats{Kept: 8, Trimmed: 2, Whitespace: 2, Empty: 2, Duplicates: 1, TooLong: 1}
	if stats != wantStats {
		t.Errorf("stats = %+v, want %+v", stats, wantStats)
	}
}

func TestBuildTableErrors(t *testing.T) {
	valid := "dup_line_frac: 0.264\n" +
		"dup_n_grams: [[5, 0.15], [6, 0.141], [7, 0.131], [8, 0.121], [9, 0.111], [10, 0.1]]\n" +
		"language_score: 0.824\nline_punct_thr: 0.1\nmax_avg_word_length: 11\n" +
		"max_non_alpha_words_ratio: 0.812\nmin_avg_word_length: 2\nnew_line_ratio: 0.185\n" +
		"stopwords: [de, la]\ntop_n_grams: [[2, 0.161], [3, 0.149], [4, 0.134]]\n"
	tests := []struct {
		name, file, config, wantErr string
	}{
		{"valid", "fra_Latn.yml", valid, ""},
		{"unknown field", "fra_Latn.yml", valid + "new_field: 1\n", "new_field"},
		{"missing field", "fra_Latn.yml", strings.Replace(valid, "new_line_ratio: 0.185\n", "", 1), "missing field new_line_ratio"},
		{"n-gram out of order", "fra_Latn.yml", strings.Replace(valid, "[[2, 0.161], [3, 0.149]", "[[3, 0.161], [2, 0.149]", 1), "invalid top_n_grams[0]"},
		{"too few n-grams", "fra_Latn.yml", strings.Replace(valid, ", [10, 0.1]]", "]", 1), "invalid dup_n_grams: 5 pairs"},
		{"no usable stop word", "fra_Latn.yml", strings.Replace(valid, "[de, la]", "['a b']", 1), "none of the 1 is usable"},
		{"bad file name", "french.yml", valid, "invalid file name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, tt.file), []byte(tt.config), 0o644); err != nil {
				t.Fatal(err)
			}
			table, _, err := buildTable(dir)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("buildTable: %v", err)
			case tt.wantErr == "":
				wantRow := "fra_Latn\t0.824\t2\t11\t0.812\t0.264\t0.161\t0.149\t0.134\t0.15\t0.141\t0.131\t0.121\t0.111\t0.1\t0.1\t0.185\tde la\n"
				if !strings.HasSuffix(string(table), wantRow) {
					t.Errorf("table = %q, want it to end with %q", table, wantRow)
				}
			case err == nil || !strings.Contains(err.Error(), tt.wantErr):
				t.Errorf("buildTable error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}
