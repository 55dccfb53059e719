package tokens

import (
	"github.com/winnow-data/winnow/internal/testutil"

	"compress/gzip"
	"encoding/csv"
	"go/build"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode"
)

// samplePath is the Common Crawl sample that the demo curates: 697
// documents in many languages.
const samplePath = "../testdata/cc-2019-30-00140.dolma.jsonl.gz"

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// readTSVColumn returns the cells of column in a gzipped TSV file whose
// cells may be quoted and span lines. A file without that header reads
// as the column at index fallback of every line.
func readTSVColumn(tb testing.TB, path, column string, fallback int) []string {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		tb.Fatalf("reading %s: %v", path, err)
	}
	r := csv.NewReader(zr)
	r.Comma = '\t'
	r.FieldsPerRecord = -1
	r.LazyQuotes = true

	header, err := r.Read()
	if err != nil {
		tb.Fatalf("reading %s: %v", path, err)
	}
	col := slices.Index(header, column)
	if col < 0 {
		col = fallback
	}

	var cells []string
	for {
		row, err := r.Read()
		if err == io.EOF {
			return cells
		}
		if err != nil {
			tb.Fatalf("reading %s: %v", path, err)
		}
		if col < len(row) {
			cells = append(cells, row[col])
		}
	}
}

// multilingualDir returns the folder of HPLT v2 excerpts in 165 languages
// (LABEL__batch0.tsv.gz files): WINNOW_MULTILINGUAL_DIR, or else the copy
// kept beside the repository. It returns "" when the folder is missing.
func multilingualDir() string {
	dir := os.Getenv("WINNOW_MULTILINGUAL_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", "shared", "data", "multilingual")
	}
	if _, err := os.Stat(dir); err != nil {
		return ""
	}
	return dir
}

// Groups of benchmark documents.
const (
	groupWeb  = "web"  // the whole sample, mixed languages
	groupEng  = "eng"  // English
	groupDeu  = "deu"  // German
	groupRus  = "rus"  // Russian
	groupZho  = "zho"  // Chinese
	groupCode = "code" // Go source
)

// benchGroups returns the benchmark documents by group. English is the
// sample's English documents plus the RedPajama web documents. German,
// Russian and Chinese are the sample's documents that sampleLanguage
// labels with those languages. Code is three files of the Go standard
// library, when its source is installed.
func benchGroups(tb testing.TB) map[string][]string {
	tb.Helper()
	sample := testutil.ReadJSONLTexts(tb, samplePath)
	groups := map[string][]string{groupWeb: sample}
	for _, text := range sample {
		if lang := sampleLanguage(text); lang != "" {
			groups[lang] = append(groups[lang], text)
		}
	}
	groups[groupEng] = append(groups[groupEng], testutil.ReadJSONLTexts(tb, "../testdata/redpajama-cc-2023-06-refined.jsonl")...)

	for _, name := range []string{"net/http/server.go", "encoding/json/decode.go", "go/parser/parser.go"} {
		src, err := os.ReadFile(filepath.Join(build.Default.GOROOT, "src", filepath.FromSlash(name)))
		if err == nil {
			groups[groupCode] = append(groups[groupCode], string(src))
		}
	}
	return groups
}

// sampleLanguage guesses the language of a sample document from its
// letters and function words, well enough to group benchmark documents:
// groupEng, groupDeu, groupRus, groupZho, or "" for other languages and
// unclear cases.
func sampleLanguage(text string) string {
	var latin, cyrillic, han, kana int
	for _, r := range text {
		switch {
		case unicode.Is(unicode.Latin, r):
			latin++
		case unicode.Is(unicode.Cyrillic, r):
			cyrillic++
		case unicode.Is(unicode.Han, r):
			han++
		case unicode.In(r, unicode.Hiragana, unicode.Katakana):
			kana++
		}
	}
	letters := latin + cyrillic + han + kana
	switch {
	case letters == 0:
		return ""
	case 2*(han+kana) > letters:
		if kana == 0 {
			return groupZho
		}
	case 2*cyrillic > letters:
		// Letters of other Cyrillic alphabets rule out Russian, and ы or
		// э rule out Ukrainian and Bulgarian.
		if !strings.ContainsAny(text, "іїєґўјљњћџѓќѕ") && strings.ContainsAny(text, "ыэ") {
			return groupRus
		}
	default:
		var english, german int
		for _, w := range strings.Fields(strings.ToLower(text)) {
			switch w {
			case "the", "and", "of", "to", "is", "that", "with":
				english++
			case "der", "die", "und", "das", "nicht", "ist", "mit":
				german++
			}
		}
		switch {
		case english >= 5 && english > 3*german:
			return groupEng
		case german >= 5 && german > 3*english:
			return groupDeu
		}
	}
	return ""
}
