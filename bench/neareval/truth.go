package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// pair is two documents of the corpus, by index, with their true Jaccard
// similarity once computed.
type pair struct {
	a, b int32
	sim  float64
	kind string // near_dup or exact_dup (planted truth), a relation (pairs truth), "" when found by search
	mode string // edit mode: scattered or burst; "" when unknown
}

// truth is the pairs and links that a truth file lists for a corpus.
type truth struct {
	format string // "planted" (gen_corpus.py) or "pairs" (-make-pairs)
	pairs  []pair // pairs whose recall is measured
	exact  []pair // planted verbatim copies, counted apart from pairs
	// twins lists, for each document, the documents the truth file links
	// it to; precision checks them before searching the whole corpus.
	twins map[int32][]int32
}

// Column headers of the two truth formats.
const (
	plantedHeader = "id\tkind\tcategory\tsource_id\tedit_rate\tedit_mode\tn_edits\tn_bytes"
	pairsHeader   = "id_a\tid_b\tjaccard\trelation\tedit_rate\tedit_mode"
)

// readTruth reads either truth format, chosen by the header line.
func readTruth(path string, c *corpus) (*truth, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening truth file: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	if !sc.Scan() {
		return nil, fmt.Errorf("truth file %s is empty", path)
	}
	header := strings.TrimRight(sc.Text(), "\r")

	var rows [][]string
	for sc.Scan() {
		if line := strings.TrimRight(sc.Text(), "\r"); line != "" {
			rows = append(rows, strings.Split(line, "\t"))
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading truth file %s: %w", path, err)
	}

	switch header {
	case plantedHeader:
		return plantedTruth(path, rows, c)
	case pairsHeader:
		return pairsTruth(path, rows, c)
	}
	return nil, fmt.Errorf("truth file %s: unknown header %q: expected gen_corpus.py's (%q) or -make-pairs' (%q)",
		path, header, plantedHeader, pairsHeader)
}

// plantedTruth takes every near_dup and exact_dup row with its source_id as
// a pair, and links the members of each source's cluster as twins.
func plantedTruth(path string, rows [][]string, c *corpus) (*truth, error) {
	t := &truth{format: "planted", twins: map[int32][]int32{}}
	clusters := map[int32][]int32{} // source document -> its copies
	for i, row := range rows {
		if len(row) != 8 {
			return nil, fmt.Errorf("%s:%d: %d columns, expected 8", path, i+2, len(row))
		}
		kind := row[1]
		if kind != "near_dup" && kind != "exact_dup" {
			continue
		}
		doc, ok1 := c.index[row[0]]
		src, ok2 := c.index[row[3]]
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("%s:%d: id %q or source_id %q is not in the corpus", path, i+2, row[0], row[3])
		}
		p := pair{a: src, b: doc, kind: kind, mode: row[5]}
		if kind == "exact_dup" {
			t.exact = append(t.exact, p)
		} else {
			t.pairs = append(t.pairs, p)
		}
		clusters[src] = append(clusters[src], doc)
	}
	for src, copies := range clusters {
		members := append([]int32{src}, copies...)
		for _, d := range members {
			for _, other := range members {
				if other != d {
					t.twins[d] = append(t.twins[d], other)
				}
			}
		}
	}
	return t, nil
}

// pairsTruth reads -make-pairs' computed pairs. The listed similarities are
// kept in sim and checked against recomputed ones by the caller.
func pairsTruth(path string, rows [][]string, c *corpus) (*truth, error) {
	t := &truth{format: "pairs", twins: map[int32][]int32{}}
	for i, row := range rows {
		if len(row) != 6 {
			return nil, fmt.Errorf("%s:%d: %d columns, expected 6", path, i+2, len(row))
		}
		a, ok1 := c.index[row[0]]
		b, ok2 := c.index[row[1]]
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("%s:%d: id %q or %q is not in the corpus", path, i+2, row[0], row[1])
		}
		sim, err := strconv.ParseFloat(row[2], 64)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: invalid jaccard %q: %w", path, i+2, row[2], err)
		}
		t.pairs = append(t.pairs, pair{a: a, b: b, sim: sim, kind: row[3], mode: row[5]})
		t.twins[a] = append(t.twins[a], b)
		t.twins[b] = append(t.twins[b], a)
	}
	return t, nil
}
