package main

import (
	"compress/gzip"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode"
)

// sentence is one sentence cut from a labelled file.
type sentence struct {
	label string // the file's label, such as fra_Latn
	text  string
}

// readSentences cuts up to perLang sentences of at least minLetters
// letters from each LABEL__batch0.tsv.gz file in dir, at most perRow from
// one row, in file and row order. Files are read in name order, so the
// same folder gives the same sentences.
func readSentences(dir string, perLang, perRow, minLetters int) ([]sentence, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*__batch0.tsv.gz"))
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("no *__batch0.tsv.gz file in %s", dir)
	}
	slices.Sort(paths)

	var out []sentence
	for _, path := range paths {
		label := strings.TrimSuffix(filepath.Base(path), "__batch0.tsv.gz")
		texts, err := readTextColumn(path)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", path, err)
		}
		taken := 0
		for _, text := range texts {
			for i, s := range cutSentences(text, minLetters) {
				if i == perRow || taken == perLang {
					break
				}
				out = append(out, sentence{label: label, text: s})
				taken++
			}
		}
	}
	return out, nil
}

// readTextColumn returns the text_show cells of a gzipped TSV file whose
// cells may be quoted and span lines.
func readTextColumn(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	r := csv.NewReader(zr)
	r.Comma = '\t'
	r.FieldsPerRecord = -1
	r.LazyQuotes = true

	header, err := r.Read()
	if err != nil {
		return nil, err
	}
	col := slices.Index(header, "text_show")
	if col < 0 {
		return nil, errors.New("no text_show column")
	}
	var texts []string
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return texts, nil
		}
		if err != nil {
			return nil, err
		}
		if col < len(rec) {
			texts = append(texts, rec[col])
		}
	}
}

// sentenceEnds are the characters that end a sentence: Latin, CJK,
// Devanagari, Arabic and Armenian full stops, question and exclamation
// marks.
const sentenceEnds = ".!?。！？।؟։"

// cutSentences splits text into lines, skipping the ".........." lines
// that join excerpts, and each line into sentences at sentenceEnds
// followed by a space or the end of the line (or by anything, for the
// CJK marks). It returns the sentences with at least minLetters letters.
func cutSentences(text string, minLetters int) []string {
	var out []string
	keep := func(s string) {
		s = strings.TrimSpace(strings.ReplaceAll(s, "\t", " "))
		letters := 0
		for _, r := range s {
			if unicode.IsLetter(r) {
				letters++
			}
		}
		if letters >= minLetters {
			out = append(out, s)
		}
	}
	for line := range strings.SplitSeq(text, "\n") {
		if strings.Trim(line, ". ") == "" {
			continue
		}
		runes := []rune(line)
		start := 0
		for i, r := range runes {
			if !strings.ContainsRune(sentenceEnds, r) {
				continue
			}
			cjk := r == '。' || r == '！' || r == '？'
			if cjk || i+1 == len(runes) || unicode.IsSpace(runes[i+1]) {
				keep(string(runes[start : i+1]))
				start = i + 1
			}
		}
		if start < len(runes) {
			keep(string(runes[start:]))
		}
	}
	return out
}
