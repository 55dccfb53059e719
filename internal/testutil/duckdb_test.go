package testutil

import (
	"testing"
)

func TestDuckDBQueryValues(t *testing.T) {
	rows := DuckDBQuery(t, `SELECT 42 AS small, 9007199254740993::BIGINT AS big,
		'line one
"quoted" ✓ 🙂' AS text, NULL AS missing, 'ab'::BLOB AS blob`)
	if len(rows) != 1 {
		t.Fatalf("got %d rows, want 1", len(rows))
	}
	row := rows[0]
	if got := row["small"]; got != float64(42) {
		t.Errorf("small = %#v, want 42", got)
	}
	if got := row["big"]; got != "9007199254740993" {
		t.Errorf("big = %#v, want the decimal string 9007199254740993", got)
	}
	if got := row["text"]; got != "line one\n\"quoted\" ✓ 🙂" {
		t.Errorf("text = %#v", got)
	}
	if got, ok := row["missing"]; !ok || got != nil {
		t.Errorf("missing = %#v (present %v), want null", got, ok)
	}
	if got := row["blob"]; got != "YWI=" {
		t.Errorf("blob = %#v, want base64 YWI=", got)
	}
}

func TestDuckDBQueryManyRows(t *testing.T) {
	rows := DuckDBQuery(t, "SELECT range AS i FROM range(5000)")
	if len(rows) != 5000 {
		t.Fatalf("got %d rows, want 5000", len(rows))
	}
	if got := rows[4999]["i"]; got != float64(4999) {
		t.Errorf("last row i = %#v, want 4999", got)
	}
}

func TestDuckDBQueryEmptyResult(t *testing.T) {
	rows := DuckDBQuery(t, "SELECT 1 AS x WHERE false")
	if len(rows) != 0 {
		t.Errorf("got %d rows, want none", len(rows))
	}
}
