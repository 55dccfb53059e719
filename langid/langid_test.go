package langid

import (
	"bufio"
	"compress/gzip"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/pemistahl/lingua-go"
)

// newTestDetector returns a high-accuracy detector of all languages.
func newTestDetector(t *testing.T) *Detector {
	t.Helper()
	d, err := NewDetector(nil, true)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestModelFilesPresent(t *testing.T) {
	for _, lang := range lingua.AllLanguages() {
		code := strings.ToLower(lang.IsoCode639_1().String())
		if _, err := fs.Stat(linguaModelFS, "language-models/"+code+"/unigrams.pb.bin.zip"); err != nil {
			t.Errorf("%v: %v", lang, err)
		}
	}
	files, err := fs.Glob(linguaModelFS, "language-models/*/*.pb.bin.zip")
	if err != nil {
		t.Fatal(err)
	}
	// 63 languages have all five orders; the 12 told by script alone
	// have unigrams only.
	if want := 63*5 + 12; len(files) != want {
		t.Errorf("lingua's embedded folder has %d model files, want %d", len(files), want)
	}
}

func TestCharTablesUnambiguous(t *testing.T) {
	groupOf := map[rune]int{}
	for i, g := range charGroups {
		for _, r := range g.chars {
			if j, ok := groupOf[r]; ok {
				t.Errorf("%q is in letter groups %d and %d", r, j, i)
			}
			groupOf[r] = i
		}
	}
	langOf := map[rune]lingua.Language{}
	for lang, chars := range uniqueCharacters {
		for _, r := range chars {
			if other, ok := langOf[r]; ok {
				t.Errorf("%q is unique to both %v and %v", r, other, lang)
			}
			langOf[r] = lang
		}
	}
}

// linguaWords is lingua v1.4.0's word pattern, applied to lower-cased text.
var linguaWords = regexp.MustCompile(`\p{Han}|\p{Hangul}|\p{Hiragana}|\p{Katakana}|\p{L}+`)

func TestSplitWordsLikeLingua(t *testing.T) {
	d := newTestDetector(t)
	texts := []string{
		"Hello, World! It's 2024.",
		"日本語のテキストとカタカナ、漢字〇々",
		"abc中文def 한국어 ひらがなカタカナー",
		"İstanbul'da ŞİMDİ Σίσυφος ΣΊΣΥΦΟΣ",
		"ภาษาไทย हिन्दी भाषा العربية‎ עברית",
		"mixed\u00adsoft hyphen, e\u0301 combining, ǅ titlecase",
		"emoji 😀 and 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 math letters 𠀀𠀁",
		"bad \xff utf8 \xe2\x82 here",
	}
	for _, text := range texts {
		want := linguaWords.FindAllString(strings.ToLower(text), -1)
		s := new(scratch)
		d.splitWords(s, text)
		var got []string
		start := 0
		for _, end := range s.wordEnds {
			got = append(got, string(s.runes[start:end]))
			start = int(end)
		}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("words of %q:\n got %q\nwant %q", text, got, want)
		}
	}
}

// TestAgreesWithLinguaGolden compares the detector with lingua-go's own
// high-accuracy detector, all 75 languages, on sentences of HPLT web
// text whose lingua results bench/langideval wrote with -golden.
func TestAgreesWithLinguaGolden(t *testing.T) {
	d := newTestDetector(t)
	f, err := os.Open(filepath.Join("..", "testdata", "langid", "hplt-sentences.tsv.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]lingua.Language{}
	for _, lang := range append(lingua.AllLanguages(), lingua.Unknown) {
		byName[lang.String()] = lang
	}

	sc := bufio.NewScanner(zr)
	sc.Scan() // header
	n, same := 0, 0
	for sc.Scan() {
		fields := strings.SplitN(sc.Text(), "\t", 4)
		if len(fields) != 4 {
			t.Fatalf("line %d: %d fields, want 4", n+2, len(fields))
		}
		want, ok := byName[fields[1]]
		if !ok {
			t.Fatalf("line %d: unknown language %q", n+2, fields[1])
		}
		wantConf, err := strconv.ParseFloat(fields[2], 64)
		if err != nil {
			t.Fatal(err)
		}
		n++
		got := d.Detect(fields[3])
		if got.Language != want {
			t.Logf("%s: lingua %v %.4f, langid %v %.4f: %q", fields[0], want, wantConf, got.Language, got.Confidence, fields[3])
			continue
		}
		same++
		if math.Abs(got.Confidence-wantConf) > 1e-4 {
			t.Errorf("%q: confidence %.6f, lingua's %.6f", fields[3], got.Confidence, wantConf)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}

	// Measured: 1430 of 1430.
	agreement := float64(same) / float64(n)
	t.Logf("agreement %.4f (%d of %d)", agreement, same, n)
	if n < 1000 {
		t.Errorf("only %d sentences, want 1000 or more", n)
	}
	if agreement < 0.99 {
		t.Errorf("agreement %.4f, want 0.99 or more", agreement)
	}
}

func TestDetectEmptyAndSubset(t *testing.T) {
	d := newTestDetector(t)
	for _, text := range []string{"", "  12 345 !?", "\xff\xfe"} {
		if got := d.Detect(text); got != (Result{Language: lingua.Unknown}) {
			t.Errorf("Detect(%q) = %+v, want Unknown", text, got)
		}
	}

	sub, err := NewDetector([]lingua.Language{lingua.English, lingua.French}, true)
	if err != nil {
		t.Fatal(err)
	}
	german := "Der Ausschuss trifft sich am Dienstag, um den Haushalt zu besprechen."
	if got := sub.Detect(german); got.Language != lingua.English && got.Language != lingua.French {
		t.Errorf("English-French detector labelled German text %v", got.Language)
	}
	if got := sub.Detect("Ελληνικά κείμενα"); got.Language != lingua.Unknown {
		t.Errorf("English-French detector labelled Greek text %v, want Unknown", got.Language)
	}
	if _, err := NewDetector([]lingua.Language{lingua.Unknown}, true); err == nil {
		t.Error("NewDetector accepted lingua.Unknown")
	}
}

func TestDetectPartsEndWords(t *testing.T) {
	d := newTestDetector(t)
	whole := d.Detect("Le comité se réunira mardi\npour discuter du budget.")
	parts := d.Detect("Le comité se réunira mardi", "pour discuter du budget.")
	if whole != parts {
		t.Errorf("parts scored %+v, the joined text %+v", parts, whole)
	}
}
