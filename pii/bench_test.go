package pii

import (
	"github.com/winnow-data/winnow/internal/testutil"

	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// englishDocs cuts the English web text of the RedPajama sample into
// documents of about size bytes, each cut at a rune boundary.
func englishDocs(b *testing.B, size int) []string {
	b.Helper()
	text := strings.Join(testutil.ReadJSONLTexts(b, filepath.Join("..", "testdata", "redpajama-cc-2023-06-refined.jsonl")), "\n\n")
	var docs []string
	for len(text) > size {
		cut := size
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		docs = append(docs, text[:cut])
		text = text[cut:]
	}
	return docs
}

func benchmarkScan(b *testing.B, s *Scanner, docs []string) {
	total := 0
	for _, d := range docs {
		total += len(d)
	}
	b.SetBytes(int64(total))
	b.ReportAllocs()
	var dst []Match
	for b.Loop() {
		for _, d := range docs {
			dst = s.Scan(d, dst[:0])
		}
	}
}

// BenchmarkScanWebText measures the whole scanner, every type on, on the
// synthetic web text of bench/gen_corpus.py: 300 documents of the default
// corpus, a tenth of them with email and IPv4 addresses, with numbers,
// prices and citations throughout. WINNOW_PII_CORPUS names another JSON
// lines file to read instead, such as the full 20,000-document corpus
// that `make bench` generates under bench/out.
func BenchmarkScanWebText(b *testing.B) {
	path := os.Getenv("WINNOW_PII_CORPUS")
	if path == "" {
		path = filepath.Join("..", "testdata", "pii", "gen_corpus-excerpt.jsonl.gz")
	}
	benchmarkScan(b, defaultScanner, testutil.ReadJSONLTexts(b, path))
}

// BenchmarkScanEnglish measures 3 KB English documents of a real crawl
// with few or no hits.
func BenchmarkScanEnglish(b *testing.B) {
	benchmarkScan(b, defaultScanner, englishDocs(b, 3000))
}

// BenchmarkScanDense measures text where every line holds a value of
// every type and several near misses.
func BenchmarkScanDense(b *testing.B) {
	line := "Mail jane.doe@example.com or call +44 20 7946 0958 from 93.184.216.34 or 2001:db8::8a2e:370:7334; " +
		"card 4111 1111 1111 1111, IBAN DE89 3704 0044 0532 0130 00, SSN 514-14-8905, key AKIAZ3MPLEK3YID7Q2WX; " +
		"not lodash@4.17.21, std::vector, ts=1718236800005 or 192.168.1.1.\n"
	benchmarkScan(b, defaultScanner, []string{strings.Repeat(line, 10)})
}

func BenchmarkReplaceTag(b *testing.B) {
	text := strings.Repeat("Contact jane.doe@example.com from 93.184.216.34 today.\n", 50)
	ms := Scan(text, nil)
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		_ = Replace(text, ms, Tag)
	}
}

func BenchmarkReplacePseudonymize(b *testing.B) {
	text := strings.Repeat("Contact jane.doe@example.com from 93.184.216.34 today.\n", 50)
	ms := Scan(text, nil)
	p, err := NewPseudonymizer([]byte("benchmark key of 32 bytes length"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		_ = Replace(text, ms, p.Fake)
	}
}
