package pii

import (
	"bufio"
	"encoding/json"
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
	f, err := os.Open(filepath.Join("..", "testdata", "redpajama-cc-2023-06-refined.jsonl"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()

	var all strings.Builder
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var rec struct{ Text string }
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			b.Fatal(err)
		}
		all.WriteString(rec.Text)
		all.WriteString("\n\n")
	}
	if err := sc.Err(); err != nil {
		b.Fatal(err)
	}

	text := all.String()
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

func benchmarkScan(b *testing.B, docs []string) {
	total := 0
	for _, d := range docs {
		total += len(d)
	}
	b.SetBytes(int64(total))
	b.ReportAllocs()
	var dst []Match
	for b.Loop() {
		for _, d := range docs {
			dst = Scan(d, dst[:0])
		}
	}
}

// BenchmarkScan measures the common case: 3 KB English documents with few
// or no hits.
func BenchmarkScan(b *testing.B) {
	benchmarkScan(b, englishDocs(b, 3000))
}

// BenchmarkScanDense measures text where every line holds an address.
func BenchmarkScanDense(b *testing.B) {
	line := "Contact jane.doe@example.com or ops@mail.example.org from 93.184.216.34, not 192.168.1.1 or pkg@1.2.3.\n"
	benchmarkScan(b, []string{strings.Repeat(line, 30)})
}

func BenchmarkReplace(b *testing.B) {
	text := strings.Repeat("Contact jane.doe@example.com from 93.184.216.34 today.\n", 50)
	ms := Scan(text, nil)
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		_ = Replace(text, ms, Tag)
	}
}
