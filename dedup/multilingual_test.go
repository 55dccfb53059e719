package dedup

import (
	"bufio"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// loadExcerpts reads testdata/dedup/<name>.jsonl: HPLT v2 web excerpts.
func loadExcerpts(t *testing.T, name string) []string {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "testdata", "dedup", name+".jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var texts []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var doc struct{ Text string }
		if err := json.Unmarshal(sc.Bytes(), &doc); err != nil {
			t.Fatalf("reading %s: %v", name, err)
		}
		texts = append(texts, doc.Text)
	}
	if err := sc.Err(); err != nil || len(texts) < 2 {
		t.Fatalf("reading %s: %d texts, err %v", name, len(texts), err)
	}
	return texts
}

// nearCopy returns text with one rune in every 60 replaced by another
// rune of the text and a short footer added, the kind of difference two
// crawls of one page show.
func nearCopy(text string, rng *rand.Rand) string {
	r := []rune(text)
	for i := rng.IntN(60); i < len(r); i += 60 {
		r[i] = r[rng.IntN(len(r))]
	}
	return string(r) + " 2024-05-01"
}

func TestMinHashSpacelessScripts(t *testing.T) {
	for _, lang := range []string{"zho_Hant", "jpn_Jpan", "tha_Thai"} {
		t.Run(lang, func(t *testing.T) {
			texts := loadExcerpts(t, lang)
			m := newTestMinHasher(t, MinHashConfig{})
			rng := rand.New(rand.NewPCG(7, 8))
			sigs := make([]Signature, len(texts))
			for i, text := range texts {
				sigs[i] = m.AppendSignature(nil, text)
				near := m.AppendSignature(nil, nearCopy(text, rng))
				if s := Similarity(sigs[i], near); s < 0.65 {
					t.Errorf("text %d: near copy has similarity %.3f, want at least 0.65", i, s)
				}
			}
			for i := range sigs {
				for j := i + 1; j < len(sigs); j++ {
					if s := Similarity(sigs[i], sigs[j]); s > 0.1 {
						t.Errorf("texts %d and %d: similarity %.3f, want at most 0.1", i, j, s)
					}
				}
			}
		})
	}
}

func TestSimHashSpacelessScripts(t *testing.T) {
	// A near copy of a 450-character excerpt has about 0.8 of its shingles
	// in common with the original: measured distances are 3 to 14, while
	// distinct excerpts are 25 to 40 apart.
	s := newTestShingler(t, ShingleConfig{})
	for _, lang := range []string{"zho_Hant", "jpn_Jpan", "tha_Thai"} {
		texts := loadExcerpts(t, lang)
		rng := rand.New(rand.NewPCG(9, 10))
		hashes := make([]uint64, len(texts))
		for i, text := range texts {
			hashes[i], _ = SimHash(s.AppendShingles(nil, text))
			near, _ := SimHash(s.AppendShingles(nil, nearCopy(text, rng)))
			if d := HammingDistance(hashes[i], near); d > 16 {
				t.Errorf("%s text %d: near copy at distance %d, want at most 16", lang, i, d)
			}
		}
		for i := range hashes {
			for j := i + 1; j < len(hashes); j++ {
				if d := HammingDistance(hashes[i], hashes[j]); d < 20 {
					t.Errorf("%s texts %d and %d: distance %d, want at least 20", lang, i, j, d)
				}
			}
		}
	}
}
