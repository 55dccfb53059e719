package main

import (
	"cmp"
	"compress/gzip"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/pemistahl/lingua-go"

	"github.com/winnow-data/winnow/langid"
)

type options struct {
	data              string
	perLang, perRow   int
	minLetters        int
	minScore          float64
	golden            string
	goldenEvery       int
	showDisagreements int
}

// outcome is both scorers' results on one sentence.
type outcome struct {
	sentence
	fast, ref langid.Result
}

func evaluate(o options, w io.Writer) error {
	sentences, err := readSentences(o.data, o.perLang, o.perRow, o.minLetters)
	if err != nil {
		return err
	}
	start := time.Now()
	fast, err := langid.NewDetector(nil, true)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%d sentences from %s; langid models loaded in %v\n\n", len(sentences), o.data, time.Since(start).Round(time.Millisecond))

	ref := lingua.NewLanguageDetectorBuilder().FromAllLanguages().Build()
	outcomes := make([]outcome, len(sentences))
	var fastTime, refTime time.Duration
	for i, s := range sentences {
		t0 := time.Now()
		f := fast.Detect(s.text)
		t1 := time.Now()
		top := ref.ComputeLanguageConfidenceValues(s.text)[0]
		refTime += time.Since(t1)
		fastTime += t1.Sub(t0)
		r := langid.Result{Language: top.Language(), Confidence: top.Value()}
		if r.Confidence <= 0 {
			r = langid.Result{Language: lingua.Unknown}
		}
		outcomes[i] = outcome{s, f, r}
	}
	fmt.Fprintf(w, "time: langid %v, lingua %v (%.0fx)\n\n", fastTime.Round(time.Millisecond), refTime.Round(time.Millisecond), float64(refTime)/float64(fastTime))

	reportAgreement(w, outcomes, o)
	reportAccuracy(w, outcomes)
	if o.golden != "" {
		return writeGolden(o.golden, outcomes, o.goldenEvery)
	}
	return nil
}

// stageLabel returns the language the langid stage writes for r, or
// Unknown for und.
func stageLabel(r langid.Result, minScore float64) lingua.Language {
	if r.Confidence <= 0 || r.Confidence < minScore {
		return lingua.Unknown
	}
	return r.Language
}

func reportAgreement(w io.Writer, outcomes []outcome, o options) {
	same, sameLabel := 0, 0
	maxDiff := 0.0
	pairs := map[[2]lingua.Language]int{}
	var shown []outcome
	for _, oc := range outcomes {
		if oc.fast.Language == oc.ref.Language {
			same++
			maxDiff = max(maxDiff, math.Abs(oc.fast.Confidence-oc.ref.Confidence))
		} else {
			pairs[[2]lingua.Language{oc.ref.Language, oc.fast.Language}]++
			if len(shown) < o.showDisagreements {
				shown = append(shown, oc)
			}
		}
		if stageLabel(oc.fast, o.minScore) == stageLabel(oc.ref, o.minScore) {
			sameLabel++
		}
	}
	n := float64(len(outcomes))
	fmt.Fprintf(w, "agreement with lingua's high-accuracy detector, top language: %d of %d (%.2f%%)\n", same, len(outcomes), 100*float64(same)/n)
	fmt.Fprintf(w, "agreement on the stage's label (und below min_score %.2f): %d of %d (%.2f%%)\n", o.minScore, sameLabel, len(outcomes), 100*float64(sameLabel)/n)
	fmt.Fprintf(w, "largest confidence difference where the top languages agree: %.2g\n\n", maxDiff)

	if len(pairs) > 0 {
		fmt.Fprintln(w, "disagreements (lingua -> langid: count):")
		for _, p := range sortedCounts(pairs) {
			fmt.Fprintf(w, "  %v -> %v: %d\n", p.key[0], p.key[1], p.n)
		}
		for _, oc := range shown {
			fmt.Fprintf(w, "  [%s] lingua %v %.4f, langid %v %.4f: %q\n", oc.label, oc.ref.Language, oc.ref.Confidence, oc.fast.Language, oc.fast.Confidence, oc.text)
		}
		fmt.Fprintln(w)
	}
}

// linguaLanguageOf returns the lingua language of a file label, or
// Unknown when lingua has no model for it. FineWeb-2 style labels name
// some macrolanguages by an individual language.
func linguaLanguageOf(label string) lingua.Language {
	code, _, _ := strings.Cut(label, "_")
	aliases := map[string]string{
		"als": "sqi", "arb": "ara", "azj": "aze", "ekk": "est", "khk": "mon", "lvs": "lav",
		"pes": "fas", "swh": "swa", "zsm": "msa", "cmn": "zho",
	}
	if a, ok := aliases[code]; ok {
		code = a
	}
	for _, lang := range lingua.AllLanguages() {
		if strings.EqualFold(lang.IsoCode639_3().String(), code) {
			return lang
		}
	}
	return lingua.Unknown
}

func reportAccuracy(w io.Writer, outcomes []outcome) {
	type tally struct {
		n, fast, ref int
		wrong        map[lingua.Language]int
	}
	byLabel := map[string]*tally{}
	var labels []string
	for _, oc := range outcomes {
		want := linguaLanguageOf(oc.label)
		if want == lingua.Unknown {
			continue
		}
		t := byLabel[oc.label]
		if t == nil {
			t = &tally{wrong: map[lingua.Language]int{}}
			byLabel[oc.label] = t
			labels = append(labels, oc.label)
		}
		t.n++
		if oc.fast.Language == want {
			t.fast++
		} else {
			t.wrong[oc.fast.Language]++
		}
		if oc.ref.Language == want {
			t.ref++
		}
	}

	total, fastRight, refRight := 0, 0, 0
	fmt.Fprintln(w, "accuracy against the file labels, languages lingua covers:")
	fmt.Fprintln(w, "| label | sentences | langid | lingua | langid's mistakes |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---|")
	for _, label := range labels {
		t := byLabel[label]
		total, fastRight, refRight = total+t.n, fastRight+t.fast, refRight+t.ref
		var mistakes []string
		for _, p := range sortedCounts(t.wrong) {
			if len(mistakes) == 4 {
				break
			}
			mistakes = append(mistakes, fmt.Sprintf("%v %d", p.key, p.n))
		}
		fmt.Fprintf(w, "| %s | %d | %.1f%% | %.1f%% | %s |\n", label, t.n, 100*float64(t.fast)/float64(t.n), 100*float64(t.ref)/float64(t.n), strings.Join(mistakes, ", "))
	}
	fmt.Fprintf(w, "| all %d | %d | %.1f%% | %.1f%% | |\n", len(labels), total, 100*float64(fastRight)/float64(total), 100*float64(refRight)/float64(total))
}

type counted[K comparable] struct {
	key K
	n   int
}

// sortedCounts returns the entries of m, the largest count first and ties
// in the order of their printed keys.
func sortedCounts[K comparable](m map[K]int) []counted[K] {
	out := make([]counted[K], 0, len(m))
	for k, n := range m {
		out = append(out, counted[K]{k, n})
	}
	slices.SortFunc(out, func(a, b counted[K]) int {
		if c := cmp.Compare(b.n, a.n); c != 0 {
			return c
		}
		return cmp.Compare(fmt.Sprint(a.key), fmt.Sprint(b.key))
	})
	return out
}

// writeGolden writes every n-th outcome as label, lingua's language,
// lingua's confidence and the sentence, tab-separated, gzipped.
func writeGolden(path string, outcomes []outcome, every int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	zw := gzip.NewWriter(f)
	fmt.Fprintln(zw, "label\tlingua\tlingua_confidence\ttext")
	for i := 0; i < len(outcomes); i += every {
		oc := outcomes[i]
		fmt.Fprintf(zw, "%s\t%v\t%.6f\t%s\n", oc.label, oc.ref.Language, oc.ref.Confidence, oc.text)
	}
	if err := zw.Close(); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return f.Close()
}
