package main

import (
	"bufio"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
)

// pairsOptions are the settings of -make-pairs.
type pairsOptions struct {
	originals        int       // originals to take from the source
	from             string    // source corpus, JSON lines, optionally gzip-compressed
	out              string    // corpus to write; the truth goes to out + ".pairs.tsv"
	copies           int       // edited copies per original
	rates            []float64 // edit rates, cycled over the copies
	seed             uint64
	minWords         int     // shortest original, in whitespace-separated words
	minFunctionWords float64 // smallest share of English function words in an original
	pairsMin         float64 // smallest similarity of a listed pair that is not an edited copy
}

// englishFunctionWords are frequent English words. Their share of a text's
// words separates English prose from other languages and from word lists.
var englishFunctionWords = map[string]bool{}

func init() {
	for _, w := range strings.Fields("the of and to a in is that for it with as was on be by are this from at or an") {
		englishFunctionWords[w] = true
	}
}

// isEnglishProse reports whether text has at least minWords words of which
// at least share are English function words.
func isEnglishProse(text string, minWords int, share float64) bool {
	words := strings.Fields(text)
	if len(words) < minWords || len(words) == 0 {
		return false
	}
	n := 0
	for _, w := range words {
		if englishFunctionWords[strings.ToLower(w)] {
			n++
		}
	}
	return float64(n) >= share*float64(len(words))
}

// copyInfo records how an edited copy was made.
type copyInfo struct {
	original int // index of its original in the written corpus
	rate     float64
	mode     string
}

// makePairs writes a corpus of originals and edited copies, then its truth:
// every pair of an edited copy with its original, and every other pair with
// exact similarity >= pairsMin, all with their computed Jaccard similarity.
func makePairs(w io.Writer, o pairsOptions) error {
	src, err := readCorpus(o.from)
	if err != nil {
		return err
	}
	var originals []string
	seen := map[string]bool{}
	for _, text := range src.texts {
		if len(originals) == o.originals {
			break
		}
		if !seen[text] && isEnglishProse(text, o.minWords, o.minFunctionWords) {
			seen[text] = true
			originals = append(originals, text)
		}
	}
	if len(originals) < o.originals {
		return fmt.Errorf("%s has %d distinct English documents of %d words or more, fewer than the %d requested: lower -make-pairs or -min-words",
			o.from, len(originals), o.minWords, o.originals)
	}

	rng := rand.New(rand.NewPCG(o.seed, 0x6e656172)) // the stream constant is arbitrary and fixed
	texts, infos := editCopies(rng, originals, o)

	// Shuffle so that a copy precedes its original about as often as not:
	// near_dedup keeps the first document of a cluster.
	order := rng.Perm(len(texts))
	ids := make([]string, len(texts))
	for pos, d := range order {
		ids[d] = fmt.Sprintf("p%06d", pos)
	}
	if err := writeCorpus(o.out, texts, ids, order); err != nil {
		return err
	}

	s, err := buildShingleSets(texts)
	if err != nil {
		return err
	}
	pairs := truthPairs(s, infos, o.pairsMin)
	if err := writePairs(o.out+".pairs.tsv", pairs, ids, infos); err != nil {
		return err
	}
	fmt.Fprintf(w, "wrote %s: %d originals from %s and %d edited copies; %s: %d pairs\n",
		o.out, len(originals), o.from, len(texts)-len(originals), o.out+".pairs.tsv", len(pairs))
	return nil
}

// editCopies returns the originals followed by o.copies edited copies of
// each, and for each document its copyInfo (original -1 for an original).
// Copy k of original i takes rate o.rates[(i*o.copies+k) % len(o.rates)],
// and the modes alternate, so every rate is used with both modes.
func editCopies(rng *rand.Rand, originals []string, o pairsOptions) ([]string, []copyInfo) {
	// Substitutes and inserts draw words from all originals, weighted by
	// how often they occur.
	var pool []string
	for _, t := range originals {
		pool = append(pool, strings.Fields(t)...)
	}
	texts := slices.Clone(originals)
	infos := make([]copyInfo, len(originals), len(originals)*(1+o.copies))
	for i := range infos {
		infos[i].original = -1
	}
	for i, t := range originals {
		for k := range o.copies {
			n := i*o.copies + k
			rate := o.rates[n%len(o.rates)]
			mode := "scattered"
			if (n/len(o.rates))%2 == 1 {
				mode = "burst"
			}
			texts = append(texts, editText(rng, t, rate, mode, pool))
			infos = append(infos, copyInfo{original: i, rate: rate, mode: mode})
		}
	}
	return texts, infos
}

// editText edits round(rate*words) word positions of text, at least one,
// keeping its line breaks. Positions are chosen one by one ("scattered") or
// in runs of 3 to 8 consecutive words ("burst"). At each position the word
// is replaced (60%), deleted (20%), or gets a new word inserted before it
// (20%); new words come from pool.
func editText(rng *rand.Rand, text string, rate float64, mode string, pool []string) string {
	type token struct {
		line int
		word string
	}
	var tokens []token
	lines := strings.Split(text, "\n")
	for i, line := range lines {
		for _, word := range strings.Fields(line) {
			tokens = append(tokens, token{i, word})
		}
	}
	n := len(tokens)
	if n == 0 {
		return text
	}

	edits := min(n, max(1, int(math.Round(rate*float64(n)))))
	positions := make(map[int]bool, edits)
	if mode == "scattered" {
		for _, p := range rng.Perm(n)[:edits] {
			positions[p] = true
		}
	} else {
		for len(positions) < edits {
			start, run := rng.IntN(n), 3+rng.IntN(6)
			for p := start; p < min(n, start+run) && len(positions) < edits; p++ {
				positions[p] = true
			}
		}
	}

	out := make([][]string, len(lines))
	for p, t := range tokens {
		if !positions[p] {
			out[t.line] = append(out[t.line], t.word)
			continue
		}
		switch op := rng.Float64(); {
		case op < 0.6:
			out[t.line] = append(out[t.line], pool[rng.IntN(len(pool))])
		case op < 0.8:
			// deleted
		default:
			out[t.line] = append(out[t.line], pool[rng.IntN(len(pool))], t.word)
		}
	}
	for i, words := range out {
		lines[i] = strings.Join(words, " ")
	}
	return strings.Join(lines, "\n")
}

// writeCorpus writes texts as {"id","text"} lines, document order[pos] at
// line pos.
func writeCorpus(path string, texts, ids []string, order []int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(f)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for _, d := range order {
		if err := enc.Encode(struct {
			ID   string `json:"id"`
			Text string `json:"text"`
		}{ids[d], texts[d]}); err != nil {
			f.Close()
			return fmt.Errorf("writing %s: %w", path, err)
		}
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return f.Close()
}

// truthPairs returns every edited copy with its original, whatever their
// similarity, and every other pair at pairsMin or above. In each pair, a
// is the lower document index.
func truthPairs(s *shingleSets, infos []copyInfo, pairsMin float64) []pair {
	planted := map[[2]int32]bool{}
	var pairs []pair
	for d, info := range infos {
		if info.original < 0 {
			continue
		}
		a, b := int32(info.original), int32(d)
		planted[[2]int32{a, b}] = true
		pairs = append(pairs, pair{a: a, b: b, sim: jaccard(s.sets[a], s.sets[b]), kind: "edited", mode: info.mode})
	}
	for _, p := range allPairs(s, pairsMin) {
		if planted[[2]int32{p.a, p.b}] {
			continue
		}
		p.kind = "other"
		if ia, ib := infos[p.a], infos[p.b]; ia.original >= 0 && ia.original == ib.original {
			p.kind = "sibling"
		}
		pairs = append(pairs, p)
	}
	return pairs
}

// writePairs writes the pairs TSV sorted by the two ids.
func writePairs(path string, pairs []pair, ids []string, infos []copyInfo) error {
	type row struct{ a, b, line string }
	rows := make([]row, 0, len(pairs))
	for _, p := range pairs {
		a, b := ids[p.a], ids[p.b]
		if a > b {
			a, b = b, a
		}
		rate := ""
		if p.kind == "edited" {
			rate = fmt.Sprintf("%.4f", infos[p.b].rate)
		}
		rows = append(rows, row{a, b, fmt.Sprintf("%s\t%s\t%.6f\t%s\t%s\t%s\n", a, b, p.sim, p.kind, rate, p.mode)})
	}
	slices.SortFunc(rows, func(x, y row) int { return cmp.Or(cmp.Compare(x.a, y.a), cmp.Compare(x.b, y.b)) })

	var sb strings.Builder
	sb.WriteString(pairsHeader + "\n")
	for _, r := range rows {
		sb.WriteString(r.line)
	}
	return os.WriteFile(path, []byte(sb.String()), 0o644)
}
