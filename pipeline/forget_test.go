package pipeline

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestForgetRecordAppliesToListedVersions(t *testing.T) {
	root := t.TempDir()
	store := newTestStore(t, root)
	a := writeShard(t, root, "a.parquet", []byte("shard a"))
	a.Rows = 3
	b := writeShard(t, root, "b.parquet", []byte("shard b"))

	m1 := testManifest("", a)
	m1.Totals = Totals{Docs: 3, Bytes: 30, Tokens: 6}
	m1.Languages = map[string]Totals{"eng_Latn": {Docs: 2, Bytes: 20, Tokens: 4}, "fra_Latn": {Docs: 1, Bytes: 10, Tokens: 2}}
	m1.Sources = map[string]Totals{"web": m1.Totals}
	m1.Deletions = []Deletion{{Shard: a.Path, Rows: []int64{2}, Reason: "near_duplicate"}}
	v1, err := Commit(store, m1)
	if err != nil {
		t.Fatal(err)
	}

	// The record replaces shard a by a purged copy and removes row 0.
	purged := writeShard(t, root, "a-purged.parquet", []byte("shard a, purged"))
	purged.Rows = 3
	rec := &ForgetRecord{
		Reason:    "erasure request 7",
		Selectors: []ForgetSelector{{Kind: "id", SHA256: []string{HashValue("doc-0")}}},
		Docs:      1,
		Purged:    true,
		Versions: []ForgetVersion{{
			Version:   v1,
			Deletions: []Deletion{{Shard: purged.Path, Rows: []int64{0}, Reason: ReasonForgotten}},
			Removed:   Totals{Docs: 1, Bytes: 10, Tokens: 2},
			Languages: map[string]Totals{"fra_Latn": {Docs: 1, Bytes: 10, Tokens: 2}},
			Sources:   map[string]Totals{"web": {Docs: 1, Bytes: 10, Tokens: 2}},
		}},
		Replaced: []ReplacedFile{{Old: a.Path, New: purged}},
	}
	if _, err := WriteForgetRecord(store, rec); err != nil {
		t.Fatal(err)
	}

	// A version committed after the record, on a shard of the same name,
	// is not changed by it.
	m2 := testManifest(v1, b, a)
	m2.Message = "later"
	v2, err := Commit(store, m2)
	if err != nil {
		t.Fatal(err)
	}

	got, err := ReadManifest(store, v1)
	if err != nil {
		t.Fatal(err)
	}
	if got.Shards[0].Path != purged.Path || got.Shards[0].SHA256 != purged.SHA256 {
		t.Errorf("shard = %+v, want the purged copy", got.Shards[0])
	}
	rows := got.DeletedRows()[purged.Path]
	if len(rows) != 2 || !rows[0] || !rows[2] {
		t.Errorf("deleted rows of the purged shard = %v, want 0 (forgotten) and 2 (near duplicate, moved to the new path)", rows)
	}
	if got.Totals.Docs != 2 || got.Languages["fra_Latn"].Docs != 0 || got.Sources["web"].Docs != 2 {
		t.Errorf("totals %+v, languages %v, sources %v after forgetting one document", got.Totals, got.Languages, got.Sources)
	}
	if len(got.Forgotten) != 1 || got.Forgotten[0].Reason != "erasure request 7" || got.Forgotten[0].Docs != 1 {
		t.Errorf("forgotten notes = %+v", got.Forgotten)
	}

	later, err := ReadManifest(store, v2)
	if err != nil {
		t.Fatal(err)
	}
	if later.Shards[1].Path != a.Path || len(later.Deletions) != 0 || len(later.Forgotten) != 0 {
		t.Errorf("a version newer than the record was changed: shards %v, deletions %v", later.Shards, later.Deletions)
	}

	list, err := ListVersions(store)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range list {
		if m.ID == v1 && m.Totals.Docs != 2 {
			t.Errorf("ListVersions does not apply the record: %d docs", m.Totals.Docs)
		}
	}
}

func TestForgetRecordTampered(t *testing.T) {
	root := t.TempDir()
	store := newTestStore(t, root)
	commitChain(t, store, 1)
	id, err := WriteForgetRecord(store, &ForgetRecord{Reason: "test", CreatedAt: time.Now().UTC()})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(root, ForgottenDir, id+".json")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(strings.Replace(string(data), `"test"`, `"edited"`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadForgetRecords(store); !errors.Is(err, ErrChecksumMismatch) {
		t.Errorf("ReadForgetRecords of an edited record: err = %v, want ErrChecksumMismatch", err)
	}
	if _, err := ListVersions(store); err == nil {
		t.Error("ListVersions ignores an edited forget record")
	}
}

func TestLeaseLifecycle(t *testing.T) {
	store := newTestStore(t, t.TempDir())
	lease, err := store.TakeLease("run")
	if err != nil {
		t.Fatal(err)
	}
	leases, err := ReadLeases(store)
	if err != nil || len(leases) != 1 {
		t.Fatalf("ReadLeases = %v, %v; want one lease", leases, err)
	}
	l := leases[0]
	if l.PID != os.Getpid() || l.Command != "run" || l.Stale(time.Now()) {
		t.Errorf("lease %+v: want this process's live run lease", l)
	}
	if !l.Stale(time.Now().Add(LeaseStale + time.Minute)) {
		t.Error("a lease not refreshed for longer than LeaseStale is not stale")
	}
	dead := l
	dead.PID = 1 << 30 // no such process
	if !dead.Stale(time.Now()) {
		t.Error("a lease of a process of this host that is gone is not stale")
	}
	lease.Release()
	if leases, _ := ReadLeases(store); len(leases) != 0 {
		t.Errorf("%d leases after Release", len(leases))
	}
}
