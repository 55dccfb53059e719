package mixture

import (
	"math"
	"strings"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-4 }

var sizes = []Bucket{{"eng_Latn", 900}, {"fra_Latn", 90}, {"deu_Latn", 10}, {"empty", 0}}

func TestComputeTemperature(t *testing.T) {
	// alpha 0.5: sqrt(900) = 30, sqrt(90) = 9.48683, sqrt(10) = 3.16228,
	// sum 42.64911; shares 0.70341, 0.22244, 0.07415. Budget 1000 tokens:
	// repeats 0.78157, 2.47158, 7.41464.
	ws, warnings, err := Compute(sizes, Spec{Alpha: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][2]float64{
		"deu_Latn": {0.07415, 7.41464},
		"eng_Latn": {0.70341, 0.78157},
		"fra_Latn": {0.22244, 2.47158},
	}
	if len(ws) != 3 || len(warnings) != 0 {
		t.Fatalf("weights %+v, warnings %q: want 3 weights and no warning", ws, warnings)
	}
	for _, w := range ws {
		if !near(w.Share, want[w.Name][0]) || !near(w.Repeats, want[w.Name][1]) {
			t.Errorf("%s: share %.5f repeats %.5f, want %v", w.Name, w.Share, w.Repeats, want[w.Name])
		}
	}
	if ws[0].Name != "deu_Latn" || !near(ws[1].Natural, 0.9) {
		t.Errorf("weights not sorted by name or natural share wrong: %+v", ws)
	}
}

func TestComputeAlphaOneKeepsNaturalMix(t *testing.T) {
	ws, _, err := Compute(sizes, Spec{Alpha: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range ws {
		if !near(w.Share, w.Natural) || !near(w.Repeats, 1) {
			t.Errorf("%s: share %v repeats %v, want natural %v and 1 pass", w.Name, w.Share, w.Repeats, w.Natural)
		}
	}
}

func TestComputeRepeatCap(t *testing.T) {
	// deu_Latn may take 4 * 10 / 1000 = 0.04. Its excess 0.07415 - 0.04 =
	// 0.03415 goes to eng_Latn and fra_Latn in proportion 0.70341 : 0.22244:
	// eng 0.70341 + 0.02594 = 0.72935, fra 0.22244 + 0.00820 = 0.23065.
	ws, warnings, err := Compute(sizes, Spec{Alpha: 0.5, MaxRepeats: 4})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"deu_Latn": 0.04, "eng_Latn": 0.72935, "fra_Latn": 0.23065}
	for _, w := range ws {
		if !near(w.Share, want[w.Name]) {
			t.Errorf("%s: share %.5f, want %.5f", w.Name, w.Share, want[w.Name])
		}
		if w.Capped != (w.Name == "deu_Latn") {
			t.Errorf("%s: capped %v", w.Name, w.Capped)
		}
	}
	if !near(ws[0].Repeats, 4) {
		t.Errorf("deu_Latn repeats %v, want 4", ws[0].Repeats)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "share of deu_Latn cut from 0.07415 to 0.04") {
		t.Errorf("warnings %q", warnings)
	}
}

func TestComputeTargets(t *testing.T) {
	// fra_Latn gets 0.5; eng and deu split 0.5 by alpha 1: 900/910 and
	// 10/910 of it, 0.49451 and 0.00549.
	ws, warnings, err := Compute(sizes, Spec{Alpha: 1, Targets: map[string]float64{"fra_Latn": 0.5, "spa_Latn": 0.1}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"deu_Latn": 0.00549, "eng_Latn": 0.49451, "fra_Latn": 0.5}
	for _, w := range ws {
		if !near(w.Share, want[w.Name]) {
			t.Errorf("%s: share %.5f, want %.5f", w.Name, w.Share, want[w.Name])
		}
	}
	if !near(ws[2].Repeats, 500.0/90) {
		t.Errorf("fra_Latn repeats %v, want 5.556", ws[2].Repeats)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "target for spa_Latn cannot be met") {
		t.Errorf("warnings %q", warnings)
	}
}

func TestComputeEveryBucketCapped(t *testing.T) {
	// A budget of 10,000 tokens with at most 2 passes: the data holds
	// 2 * 1000 = 2000, a fifth of it.
	ws, warnings, err := Compute(sizes, Spec{Alpha: 1, MaxRepeats: 2, Budget: 10000})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range ws {
		if !near(w.Repeats, 2) || !near(w.Share, w.Natural) {
			t.Errorf("%s: share %v repeats %v, want the natural share at 2 passes", w.Name, w.Share, w.Repeats)
		}
	}
	if len(warnings) == 0 || !strings.Contains(warnings[len(warnings)-1], "holds 0.2 of the budget") {
		t.Errorf("warnings %q", warnings)
	}
}

func TestSpecValidate(t *testing.T) {
	tests := []struct {
		spec Spec
		want string
	}{
		{Spec{Alpha: 0}, "invalid alpha 0"},
		{Spec{Alpha: 1.5}, "invalid alpha 1.5"},
		{Spec{Alpha: 1, MaxRepeats: 0.5}, "invalid max_repeats 0.5"},
		{Spec{Alpha: 1, Budget: -1}, "invalid budget -1"},
		{Spec{Alpha: 1, Targets: map[string]float64{"eng_Latn": 0}}, "invalid targets.eng_Latn 0"},
		{Spec{Alpha: 1, Targets: map[string]float64{"eng_Latn": 0.7, "fra_Latn": 0.6}}, "shares sum to 1.3"},
	}
	for _, tt := range tests {
		if err := tt.spec.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Validate(%+v) = %v, want %q", tt.spec, err, tt.want)
		}
	}
	if _, _, err := Compute([]Bucket{{"x", 0}}, Spec{Alpha: 1}); err != ErrEmpty {
		t.Errorf("Compute on empty buckets: %v", err)
	}
}
