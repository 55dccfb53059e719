package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
	"golang.org/x/text/unicode/norm"
)

// Columns of the table, in order. The names are FineWeb-2's field names,
// except min_alpha_words_ratio: FineWeb-2 calls it max_non_alpha_words_ratio,
// but datatrove's Gopher filter drops a document when the fraction of
// words that contain a letter is below it, so it is a minimum. top_N_gram
// and dup_N_gram are the entries of top_n_grams and dup_n_grams for n = N.
var columns = []string{
	"label", "language_score", "min_avg_word_length", "max_avg_word_length", "min_alpha_words_ratio",
	"dup_line_frac", "top_2_gram", "top_3_gram", "top_4_gram",
	"dup_5_gram", "dup_6_gram", "dup_7_gram", "dup_8_gram", "dup_9_gram", "dup_10_gram",
	"line_punct_thr", "new_line_ratio", "stopwords",
}

// maxStopWordBytes is the longest stop word winnow's gopher_quality
// matches, in bytes of its lowercased NFC form.
const maxStopWordBytes = 64

// config is one FineWeb-2 config file. Decoding rejects unknown fields, so
// a field added upstream stops the generator instead of being lost.
type config struct {
	StopWords             []string     `yaml:"stopwords"`
	DupLineFrac           *float64     `yaml:"dup_line_frac"`
	DupNGrams             [][2]float64 `yaml:"dup_n_grams"`
	TopNGrams             [][2]float64 `yaml:"top_n_grams"`
	LinePunctThr          *float64     `yaml:"line_punct_thr"`
	NewLineRatio          *float64     `yaml:"new_line_ratio"`
	MinAvgWordLength      *float64     `yaml:"min_avg_word_length"`
	MaxAvgWordLength      *float64     `yaml:"max_avg_word_length"`
	LanguageScore         *float64     `yaml:"language_score"`
	MaxNonAlphaWordsRatio *float64     `yaml:"max_non_alpha_words_ratio"`
}

// stopWordStats counts what cleanStopWords did to the stop words of all
// languages.
type stopWordStats struct {
	Languages  int
	Kept       int // stop words written
	Trimmed    int // written without the punctuation or symbols at their ends
	Whitespace int // left out: contain whitespace, so they never match one word
	Empty      int // left out: nothing left, or only punctuation and symbols of more than one code point
	Duplicates int // left out: same as an earlier stop word of the language once cleaned
	TooLong    int // left out: longer than maxStopWordBytes
}

// LeftOut returns the number of stop words not written.
func (s stopWordStats) LeftOut() int { return s.Whitespace + s.Empty + s.Duplicates + s.TooLong }

var labelPattern = regexp.MustCompile(`^[a-z]{3}_[A-Z][a-z]{3}$`)

// buildTable reads every *.yml file of dir and returns the table, one row
// per file in label order after a header row of column names.
func buildTable(dir string) ([]byte, stopWordStats, error) {
	var stats stopWordStats
	paths, err := filepath.Glob(filepath.Join(dir, "*.yml"))
	if err != nil {
		return nil, stats, err
	}
	if len(paths) == 0 {
		return nil, stats, fmt.Errorf("no *.yml files in %s", dir)
	}
	slices.Sort(paths)

	var buf bytes.Buffer
	buf.WriteString(strings.Join(columns, "\t"))
	buf.WriteByte('\n')
	for _, path := range paths {
		label := strings.TrimSuffix(filepath.Base(path), ".yml")
		if !labelPattern.MatchString(label) {
			return nil, stats, fmt.Errorf("invalid file name %s: expected a label and .yml, such as fra_Latn.yml", path)
		}
		cfg, err := readConfig(path)
		if err != nil {
			return nil, stats, err
		}
		row, err := formatRow(label, cfg, &stats)
		if err != nil {
			return nil, stats, fmt.Errorf("%s: %w", path, err)
		}
		buf.WriteString(row)
		buf.WriteByte('\n')
		stats.Languages++
	}
	return buf.Bytes(), stats, nil
}

func readConfig(path string) (*config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	var cfg config
	if err := dec.Decode(&cfg); err != nil {
		return nil, fmt.Errorf("decoding %s: %w", path, err)
	}
	return &cfg, nil
}

// formatRow returns the table row of one config, without the line end.
func formatRow(label string, cfg *config, stats *stopWordStats) (string, error) {
	scalars := []struct {
		name  string
		value *float64
	}{
		{"language_score", cfg.LanguageScore},
		{"min_avg_word_length", cfg.MinAvgWordLength},
		{"max_avg_word_length", cfg.MaxAvgWordLength},
		{"max_non_alpha_words_ratio", cfg.MaxNonAlphaWordsRatio},
		{"dup_line_frac", cfg.DupLineFrac},
	}
	fields := []string{label}
	for _, s := range scalars {
		if s.value == nil {
			return "", fmt.Errorf("missing field %s", s.name)
		}
		fields = append(fields, formatFloat(*s.value))
	}

	top, err := nGramLimits("top_n_grams", cfg.TopNGrams, 2, 4)
	if err != nil {
		return "", err
	}
	dup, err := nGramLimits("dup_n_grams", cfg.DupNGrams, 5, 10)
	if err != nil {
		return "", err
	}
	fields = append(append(fields, top...), dup...)

	for _, s := range []struct {
		name  string
		value *float64
	}{{"line_punct_thr", cfg.LinePunctThr}, {"new_line_ratio", cfg.NewLineRatio}} {
		if s.value == nil {
			return "", fmt.Errorf("missing field %s", s.name)
		}
		fields = append(fields, formatFloat(*s.value))
	}

	words := cleanStopWords(cfg.StopWords, stats)
	if len(words) == 0 {
		return "", fmt.Errorf("invalid stopwords: none of the %d is usable once cleaned", len(cfg.StopWords))
	}
	fields = append(fields, strings.Join(words, " "))
	return strings.Join(fields, "\t"), nil
}

// nGramLimits returns the limits of pairs [n, limit] for n = from..to, in
// that order, and an error unless the pairs are exactly those.
func nGramLimits(name string, pairs [][2]float64, from, to int) ([]string, error) {
	if len(pairs) != to-from+1 {
		return nil, fmt.Errorf("invalid %s: %d pairs, expected one for each n from %d to %d", name, len(pairs), from, to)
	}
	var out []string
	for i, p := range pairs {
		if p[0] != float64(from+i) {
			return nil, fmt.Errorf("invalid %s[%d]: n = %v, expected %d", name, i, p[0], from+i)
		}
		out = append(out, formatFloat(p[1]))
	}
	return out, nil
}

// formatFloat writes v in its shortest form that parses back to v: 0.264, 1.
func formatFloat(v float64) string {
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// cleanStopWords returns the stop words in the form winnow matches them
// against words:
//
//   - in NFC and lowercase, as gopher_quality compares them;
//   - without U+200B, U+2060, U+FEFF and U+00AD, which the normalize stage
//     deletes from documents;
//   - without the punctuation and symbols (Unicode P and S) at either end,
//     which gopher_quality strips from words, so "ཀྱི་" becomes "ཀྱི";
//   - a single punctuation mark or symbol, such as the Arabic comma "،",
//     stays as it is, because gopher_quality counts each occurrence of one.
//
// It leaves out stop words that contain whitespace (words never do),
// longer runs of punctuation, words over maxStopWordBytes and duplicates,
// and keeps the first occurrence order.
//
// NOTE: FineWeb-2's tokenizers split elided articles off, so its French
// list has l' and d'. winnow keeps l'homme one word, so these become l and
// d, which match only a lone letter.
func cleanStopWords(words []string, stats *stopWordStats) []string {
	var out []string
	seen := map[string]bool{}
	for _, w := range words {
		w = strings.Map(func(r rune) rune {
			switch r {
			case '\u200B', '\u2060', '\uFEFF', '\u00AD':
				return -1
			}
			return unicode.ToLower(r)
		}, norm.NFC.String(w))
		trimmed := strings.TrimFunc(w, isPunctOrSymbol)
		wasTrimmed := trimmed != "" && trimmed != w
		if wasTrimmed {
			w = trimmed
		}

		switch {
		case strings.ContainsFunc(w, unicode.IsSpace):
			stats.Whitespace++
		case trimmed == "" && utf8.RuneCountInString(w) != 1:
			stats.Empty++
		case len(w) > maxStopWordBytes:
			stats.TooLong++
		case seen[w]:
			stats.Duplicates++
		default:
			seen[w] = true
			out = append(out, w)
			stats.Kept++
			if wasTrimmed {
				stats.Trimmed++
			}
		}
	}
	return out
}

func isPunctOrSymbol(r rune) bool { return unicode.IsPunct(r) || unicode.IsSymbol(r) }
