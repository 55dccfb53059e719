package pii_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/winnow-data/winnow/pii"
	"github.com/winnow-data/winnow/pii/internal/evalset"
)

var update = flag.Bool("update", false, "rewrite testdata/pii/evalset.jsonl from the generator")

var evalSetPath = filepath.Join("..", "testdata", "pii", "evalset.jsonl")

// TestEvalSetUpToDate keeps the committed evaluation set equal to the
// generator's output, so the set can be read and diffed as a file while
// the generator stays its source. Run with -update after changing the
// generator.
func TestEvalSetUpToDate(t *testing.T) {
	var want bytes.Buffer
	if err := evalset.Write(&want, evalset.Generate(evalset.DefaultSeed)); err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(evalSetPath, want.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(evalSetPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Errorf("%s differs from the generator's output; run go test ./pii -run EvalSetUpToDate -update", evalSetPath)
	}
}

// TestEvalSetScores checks precision and recall per type on the committed
// set: at least 0.97 for every type but phone numbers, 0.95 for those.
func TestEvalSetScores(t *testing.T) {
	docs, err := evalset.Read(evalSetPath)
	if err != nil {
		t.Fatal(err)
	}
	scanner, err := pii.NewScanner(pii.Options{})
	if err != nil {
		t.Fatal(err)
	}
	counts, errs := evalset.Score(docs, scanner)
	for _, typ := range pii.Types {
		c := counts[typ.String()]
		if c.Labels == 0 {
			t.Errorf("%s: the set holds no label", typ)
		}
		floor := 0.97
		if typ == pii.PhoneNumber {
			floor = 0.95
		}
		if c.Precision() < floor || c.Recall() < floor {
			t.Errorf("%s: precision %.4f, recall %.4f, want both at least %.2f", typ, c.Precision(), c.Recall(), floor)
		}
	}
	if t.Failed() {
		for _, e := range errs {
			t.Logf("%s %s %s missed=%v %q", e.DocID, e.Kind, e.Type, e.Missed, e.Value)
		}
	}
	t.Logf("\n%s", evalset.Table(counts))
}
