package pipeline

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

func TestDropSignalRecordsValueAndThreshold(t *testing.T) {
	bb := NewBatchBuilder()
	for range 3 {
		bb.Append(&Doc{ID: "d", Text: "t", Input: "mem"})
	}
	b := bb.Build(0)
	defer b.Release()

	b.DropSignal(0, "gopher_short_doc", "words", 37, 50)
	b.DropSignal(1, "toxic_words", "toxic_score", math.NaN(), 0.0045)
	b.Drop(2, "exact_duplicate")
	b.DropSignal(2, "gopher_short_doc", "words", 1, 50) // already dropped: no change

	if got, want := b.Detail(0), `{"signal":"words","value":37,"threshold":50}`; got != want {
		t.Errorf("detail 0 = %s, want %s", got, want)
	}
	var d struct {
		Signal    string
		Value     *float64
		Threshold float64
	}
	if err := json.Unmarshal([]byte(b.Detail(1)), &d); err != nil || d.Value != nil || d.Threshold != 0.0045 {
		t.Errorf("detail 1 = %s (%+v, %v): want valid JSON with a null value", b.Detail(1), d, err)
	}
	if b.Dropped[2] != "exact_duplicate" || b.Detail(2) != "" {
		t.Errorf("row 2 = %q %q, want its first reason and no detail", b.Dropped[2], b.Detail(2))
	}
}

func TestCheckReasonSuggestsCodes(t *testing.T) {
	DeclareReasons("test_stage", "testrule_low", "testrule_high")
	if err := CheckReason("--reason", "testrule_low"); err != nil {
		t.Errorf("declared code: %v", err)
	}
	err := CheckReason("--reason", "testrule_lo")
	if err == nil || err.Error() != `--reason: unknown reason code "testrule_lo"; did you mean testrule_low?` {
		t.Errorf("misspelt code: %v", err)
	}
	err = CheckReason("--reason", "testrule")
	if err == nil || !strings.Contains(err.Error(), "did you mean one of testrule_high, testrule_low?") {
		t.Errorf("code that others contain: %v", err)
	}
	if owner, ok := ReasonOwner("testrule_high"); !ok || owner != "test_stage" {
		t.Errorf("owner = %q %v", owner, ok)
	}
}
