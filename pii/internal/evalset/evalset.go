// Package evalset builds and scores winnow's labelled evaluation set for
// the pii scanner. The set is short synthetic documents with labelled
// spans. A seeded generator draws every value, so none is taken from a
// real person. Hard negatives (code, versions, hashes, UUIDs, timestamps,
// ISBNs, dates) hold no value at all.
package evalset

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/winnow-data/winnow/pii"
)

// Span is one labelled value: text[Start:End] is of type Type, a pii.Type
// name such as EMAIL_ADDRESS.
type Span struct {
	Type  string `json:"type"`
	Start int    `json:"start"`
	End   int    `json:"end"`
}

// Doc is one document of the set. Kind names the template the generator
// used, such as "phone:national:DE" or "negative:uuid", so errors can be
// traced to it.
type Doc struct {
	ID    string `json:"id"`
	Kind  string `json:"kind"`
	Text  string `json:"text"`
	Spans []Span `json:"spans"`
}

// Write writes docs as JSON lines.
func Write(w io.Writer, docs []Doc) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, d := range docs {
		if err := enc.Encode(d); err != nil {
			return err
		}
	}
	return nil
}

// Read reads the JSON lines that Write writes.
func Read(path string) ([]Doc, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var docs []Doc
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var d Doc
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			return nil, fmt.Errorf("reading %s line %d: %w", path, len(docs)+1, err)
		}
		docs = append(docs, d)
	}
	return docs, sc.Err()
}

// Counts holds the outcome of one type. A true positive is a match whose
// type, start and end equal a label's. Any other match is a false
// positive, and any label without such a match is a false negative.
type Counts struct {
	Labels, TruePositives, FalsePositives, FalseNegatives int
}

// Precision returns TP / (TP + FP), or 1 when nothing was matched.
func (c Counts) Precision() float64 {
	if c.TruePositives+c.FalsePositives == 0 {
		return 1
	}
	return float64(c.TruePositives) / float64(c.TruePositives+c.FalsePositives)
}

// Recall returns TP / (TP + FN), or 1 when there is no label.
func (c Counts) Recall() float64 {
	if c.Labels == 0 {
		return 1
	}
	return float64(c.TruePositives) / float64(c.Labels)
}

// Error is one wrong or missed span, for reports.
type Error struct {
	DocID, Kind, Type, Value string
	Missed                   bool // a label not found; otherwise a false match
}

// Score scans every document and returns the counts per type name and the
// errors, sorted by document.
func Score(docs []Doc, s *pii.Scanner) (map[string]Counts, []Error) {
	counts := map[string]Counts{}
	for _, t := range pii.Types {
		counts[t.String()] = Counts{}
	}
	var errs []Error
	var matches []pii.Match
	for _, d := range docs {
		gold := map[Span]bool{}
		for _, sp := range d.Spans {
			gold[sp] = true
			c := counts[sp.Type]
			c.Labels++
			counts[sp.Type] = c
		}
		matches = s.Scan(d.Text, matches[:0])
		for _, m := range matches {
			sp := Span{Type: m.Type.String(), Start: m.Start, End: m.End}
			c := counts[sp.Type]
			if gold[sp] {
				c.TruePositives++
				delete(gold, sp)
			} else {
				c.FalsePositives++
				errs = append(errs, Error{DocID: d.ID, Kind: d.Kind, Type: sp.Type, Value: d.Text[m.Start:m.End]})
			}
			counts[sp.Type] = c
		}
		for sp := range gold {
			c := counts[sp.Type]
			c.FalseNegatives++
			counts[sp.Type] = c
			errs = append(errs, Error{DocID: d.ID, Kind: d.Kind, Type: sp.Type, Value: d.Text[sp.Start:sp.End], Missed: true})
		}
	}
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].DocID < errs[j].DocID })
	return counts, errs
}

// Table formats counts as a Markdown table, one row per type in the order
// of pii.Types.
func Table(counts map[string]Counts) string {
	var b strings.Builder
	b.WriteString("| type | labels | found | false matches | missed | precision | recall |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|\n")
	for _, t := range pii.Types {
		c := counts[t.String()]
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %.4f | %.4f |\n",
			t, c.Labels, c.TruePositives, c.FalsePositives, c.FalseNegatives, c.Precision(), c.Recall())
	}
	return b.String()
}
