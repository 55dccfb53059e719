package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeShard puts data at shards/<name> under root and returns its record.
func writeShard(t *testing.T, root, name string, data []byte) ShardRecord {
	t.Helper()
	dir := filepath.Join(root, ShardsDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return ShardRecord{
		Path:      ShardsDir + "/" + name,
		Rows:      1,
		Bytes:     int64(len(data)),
		SHA256:    hex.EncodeToString(sum[:]),
		RowGroups: 1,
	}
}

func testManifest(parent string, shards ...ShardRecord) *Manifest {
	return &Manifest{
		Parent:     parent,
		CreatedAt:  time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC),
		Winnow:     BuildInfo{Version: "test"},
		Config:     map[string]any{"workers": 2, "output": map[string]any{"zstd_level": 3}},
		ConfigHash: "abc",
		Shards:     shards,
		Totals:     Totals{Docs: 1, Bytes: 5, Tokens: 2},
		Languages:  map[string]Totals{"en": {Docs: 1, Bytes: 5, Tokens: 2}},
		Sources:    map[string]Totals{"unknown": {Docs: 1, Bytes: 5, Tokens: 2}},
	}
}

func TestCommitRoundTrip(t *testing.T) {
	root := t.TempDir()
	store := newTestStore(t, root)
	shard := writeShard(t, root, "a.parquet", []byte("shard bytes"))

	m := testManifest("", shard)
	id, err := Commit(store, m)
	if err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if len(id) != VersionIDLen || m.ID != id {
		t.Fatalf("Commit returned id %q and set m.ID %q, want the same %d hex digits", id, m.ID, VersionIDLen)
	}
	if m.Format != ManifestFormat {
		t.Errorf("m.Format = %d, want %d", m.Format, ManifestFormat)
	}

	ref, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(LatestRef)))
	if err != nil {
		t.Fatalf("reading refs/latest: %v", err)
	}
	if string(ref) != id+"\n" {
		t.Errorf("refs/latest = %q, want %q", ref, id+"\n")
	}
	latest, err := LatestVersion(store)
	if err != nil || latest != id {
		t.Errorf("LatestVersion = %q, %v; want %q", latest, err, id)
	}

	got, err := ReadManifest(store, id)
	if err != nil {
		t.Fatalf("ReadManifest: %v", err)
	}
	if got.ID != id || got.CreatedAt != m.CreatedAt || len(got.Shards) != 1 || got.Shards[0] != shard {
		t.Errorf("ReadManifest = %+v, want the committed manifest", got)
	}
	if got.Languages["en"] != m.Languages["en"] {
		t.Errorf("languages = %v, want %v", got.Languages, m.Languages)
	}
	if err := VerifyShards(store, got); err != nil {
		t.Errorf("VerifyShards on intact shards: %v", err)
	}
}

func TestCommitIDIsContentHash(t *testing.T) {
	root := t.TempDir()
	store := newTestStore(t, root)
	m := testManifest("")
	id, err := Commit(store, m)
	if err != nil {
		t.Fatal(err)
	}

	// The id is the hash of the committed file with the id's value emptied.
	data, err := os.ReadFile(filepath.Join(root, VersionsDir, id+".json"))
	if err != nil {
		t.Fatal(err)
	}
	unsigned := strings.Replace(string(data), `"id": "`+id+`"`, `"id": ""`, 1)
	sum := sha256.Sum256([]byte(unsigned))
	if want := hex.EncodeToString(sum[:])[:VersionIDLen]; id != want {
		t.Errorf("id = %s, want %s", id, want)
	}

	// The same manifest commits to the same id.
	again := testManifest("")
	other := newTestStore(t, t.TempDir())
	id2, err := Commit(other, again)
	if err != nil {
		t.Fatal(err)
	}
	if id2 != id {
		t.Errorf("same manifest committed twice gave ids %s and %s", id, id2)
	}
}

func TestCommitChainAndList(t *testing.T) {
	store := newTestStore(t, t.TempDir())
	first := testManifest("")
	id1, err := Commit(store, first)
	if err != nil {
		t.Fatal(err)
	}
	second := testManifest(id1)
	second.CreatedAt = first.CreatedAt.Add(time.Hour)
	id2, err := Commit(store, second)
	if err != nil {
		t.Fatal(err)
	}

	versions, err := ListVersions(store)
	if err != nil {
		t.Fatalf("ListVersions: %v", err)
	}
	if len(versions) != 2 || versions[0].ID != id2 || versions[1].ID != id1 {
		t.Fatalf("ListVersions ids = %v, want [%s %s]", manifestIDs(versions), id2, id1)
	}
	if versions[0].Parent != id1 {
		t.Errorf("second version's parent = %q, want %q", versions[0].Parent, id1)
	}
}

func TestCommitStaleParent(t *testing.T) {
	store := newTestStore(t, t.TempDir())
	id1, err := Commit(store, testManifest(""))
	if err != nil {
		t.Fatal(err)
	}

	// A second run that started before the first committed still names no
	// parent; committing it would drop the first version from the chain.
	late := testManifest("")
	late.Message = "late"
	_, err = Commit(store, late)
	if !errors.Is(err, ErrStaleParent) {
		t.Fatalf("Commit with a stale parent: err = %v, want ErrStaleParent", err)
	}
	if latest, _ := LatestVersion(store); latest != id1 {
		t.Errorf("latest after a rejected commit = %s, want %s", latest, id1)
	}
	if versions, _ := ListVersions(store); len(versions) != 1 {
		t.Errorf("rejected commit left %d versions, want 1", len(versions))
	}
}

func TestCommitMissingShard(t *testing.T) {
	root := t.TempDir()
	store := newTestStore(t, root)
	shard := writeShard(t, root, "a.parquet", []byte("x"))
	shard.Path = ShardsDir + "/missing.parquet"

	_, err := Commit(store, testManifest("", shard))
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "missing.parquet") {
		t.Fatalf("Commit listing a missing shard: err = %v, want not-exist naming the shard", err)
	}
	if _, err := os.Stat(filepath.Join(root, VersionsDir)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a rejected commit created %s (stat err %v)", VersionsDir, err)
	}
}

func TestLeftoverTempFilesIgnored(t *testing.T) {
	root := t.TempDir()
	store := newTestStore(t, root)
	id, err := Commit(store, testManifest(""))
	if err != nil {
		t.Fatal(err)
	}

	// A crash mid-write leaves temporary files next to the real ones.
	for _, name := range []string{
		VersionsDir + "/.tmp-ffffffffffffffff.json-123",
		"refs/.tmp-latest-456",
	} {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.WriteFile(p, []byte(`{"format": 1, "id": "fff`), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	versions, err := ListVersions(store)
	if err != nil {
		t.Fatalf("ListVersions with leftovers: %v", err)
	}
	if len(versions) != 1 || versions[0].ID != id {
		t.Errorf("ListVersions = %v, want [%s]", manifestIDs(versions), id)
	}
	latest, err := LatestVersion(store)
	if err != nil || latest != id {
		t.Errorf("LatestVersion = %q, %v; want %q", latest, err, id)
	}
}

func TestLatestWithoutRef(t *testing.T) {
	root := t.TempDir()
	store := newTestStore(t, root)
	id, err := Commit(store, testManifest(""))
	if err != nil {
		t.Fatal(err)
	}
	// A crash after the manifest but before refs/latest.
	if err := os.Remove(filepath.Join(root, filepath.FromSlash(LatestRef))); err != nil {
		t.Fatal(err)
	}
	latest, err := LatestVersion(store)
	if err != nil || latest != id {
		t.Errorf("LatestVersion without a ref = %q, %v; want %q", latest, err, id)
	}
}

func TestVersionWithoutManifestMissing(t *testing.T) {
	root := t.TempDir()
	store := newTestStore(t, root)
	writeShard(t, root, "orphan.parquet", []byte("written by a run that crashed"))

	if _, err := LatestVersion(store); !errors.Is(err, ErrNoVersions) {
		t.Errorf("LatestVersion with shards but no manifest: err = %v, want ErrNoVersions", err)
	}
	versions, err := ListVersions(store)
	if err != nil || len(versions) != 0 {
		t.Errorf("ListVersions = %v, %v; want none", manifestIDs(versions), err)
	}
}

func TestMissingRoot(t *testing.T) {
	root := filepath.Join(t.TempDir(), "no-such-root")

	_, err := OpenLocalStore(root)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("OpenLocalStore: err = %v, want not-exist", err)
	}
	if err == nil || !strings.Contains(err.Error(), root) {
		t.Errorf("OpenLocalStore error %q should name the missing root %s", err, root)
	}

	// A root removed after the store was made.
	store := newTestStore(t, root)
	if err := os.Remove(root); err != nil {
		t.Fatal(err)
	}
	_, err = LatestVersion(store)
	if !errors.Is(err, ErrNoVersions) {
		t.Errorf("LatestVersion: err = %v, want ErrNoVersions", err)
	}
	if err == nil || !strings.Contains(err.Error(), root) || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("LatestVersion error %q should name the missing root %s", err, root)
	}
	if _, err := ListVersions(store); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ListVersions: err = %v, want not-exist", err)
	}
	if _, err := ReadManifest(store, "0123456789abcdef"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadManifest: err = %v, want not-exist", err)
	}
}

func TestOpenLocalStoreNotFolder(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenLocalStore(file); err == nil || !strings.Contains(err.Error(), "not a folder") {
		t.Errorf("OpenLocalStore on a file: err = %v, want not a folder", err)
	}
}

func TestNewLocalStoreCreatesRoot(t *testing.T) {
	root := filepath.Join(t.TempDir(), "a", "b")
	if _, err := NewLocalStore(root); err != nil {
		t.Fatalf("NewLocalStore: %v", err)
	}
	if info, err := os.Stat(root); err != nil || !info.IsDir() {
		t.Errorf("root %s not created: %v", root, err)
	}
	if _, err := OpenLocalStore(root); err != nil {
		t.Errorf("OpenLocalStore after NewLocalStore: %v", err)
	}
}

func TestVerifyShardsFlippedByte(t *testing.T) {
	root := t.TempDir()
	store := newTestStore(t, root)
	good := writeShard(t, root, "good.parquet", []byte("unchanged shard"))
	bad := writeShard(t, root, "bad.parquet", []byte("shard that will rot"))
	m := testManifest("", good, bad)
	if _, err := Commit(store, m); err != nil {
		t.Fatal(err)
	}

	p := filepath.Join(root, ShardsDir, "bad.parquet")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	data[3] ^= 0x01
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}

	err = VerifyShards(store, m)
	if !errors.Is(err, ErrChecksumMismatch) {
		t.Fatalf("VerifyShards: err = %v, want ErrChecksumMismatch", err)
	}
	if !strings.Contains(err.Error(), bad.Path) {
		t.Errorf("error %q does not name %s", err, bad.Path)
	}
	if strings.Contains(err.Error(), good.Path) {
		t.Errorf("error %q names the intact shard %s", err, good.Path)
	}
}

func TestVerifyShardsTruncated(t *testing.T) {
	root := t.TempDir()
	store := newTestStore(t, root)
	shard := writeShard(t, root, "s.parquet", []byte("0123456789"))
	if err := os.Truncate(filepath.Join(root, ShardsDir, "s.parquet"), 4); err != nil {
		t.Fatal(err)
	}
	err := VerifyShards(store, testManifest("", shard))
	if !errors.Is(err, ErrChecksumMismatch) || !strings.Contains(err.Error(), shard.Path) {
		t.Errorf("VerifyShards on a truncated shard: err = %v", err)
	}
}

func TestReadManifestTampered(t *testing.T) {
	root := t.TempDir()
	store := newTestStore(t, root)
	id, err := Commit(store, testManifest(""))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(root, VersionsDir, id+".json")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(data), `"docs": 1`, `"docs": 2`, 1)
	if err := os.WriteFile(p, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadManifest(store, id); !errors.Is(err, ErrChecksumMismatch) {
		t.Errorf("ReadManifest of an edited manifest: err = %v, want ErrChecksumMismatch", err)
	}
}

func TestReadManifestInvalidID(t *testing.T) {
	store := newTestStore(t, t.TempDir())
	for _, id := range []string{"", "../../etc/passwd", "0123456789ABCDEF", "0123"} {
		if _, err := ReadManifest(store, id); err == nil || !strings.Contains(err.Error(), "invalid version id") {
			t.Errorf("ReadManifest(%q): err = %v, want invalid version id", id, err)
		}
	}
}

func TestLocalStoreRejectsEscapingPaths(t *testing.T) {
	store := newTestStore(t, t.TempDir())
	for _, name := range []string{"../x", "/etc/passwd", "a/../../x", ""} {
		if err := store.WriteFile(name, []byte("x")); err == nil {
			t.Errorf("WriteFile(%q) succeeded, want an invalid path error", name)
		}
		if _, err := store.Open(name); err == nil {
			t.Errorf("Open(%q) succeeded, want an invalid path error", name)
		}
	}
}

func TestLocalStoreListSkipsHidden(t *testing.T) {
	root := t.TempDir()
	store := newTestStore(t, root)
	if err := store.WriteFile("d/b.json", []byte("b")); err != nil {
		t.Fatal(err)
	}
	if err := store.WriteFile("d/a.json", []byte("a")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "d", ".tmp-c"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(root, "d", "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	names, err := store.List("d")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(names, ",") != "a.json,b.json" {
		t.Errorf("List = %v, want [a.json b.json]", names)
	}
	if names, err := store.List("empty"); err != nil || len(names) != 0 {
		t.Errorf("List of a missing folder = %v, %v; want none and no error", names, err)
	}
}

func newTestStore(t *testing.T, root string) *LocalStore {
	t.Helper()
	store, err := NewLocalStore(root)
	if err != nil {
		t.Fatalf("NewLocalStore: %v", err)
	}
	return store
}

func manifestIDs(ms []*Manifest) []string {
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.ID
	}
	return ids
}

// TestLatestVersionSkipsCheckpoints commits a checkpoint on a new root,
// which writes no refs/latest, and expects it not to count as latest.
func TestLatestVersionSkipsCheckpoints(t *testing.T) {
	root := t.TempDir()
	store, err := NewLocalStore(root)
	if err != nil {
		t.Fatal(err)
	}
	m := testManifest("", writeShard(t, root, "a", []byte("first shard")))
	m.Run = &RunRecord{ID: "r", Key: "k", Checkpoint: true, Next: &ResumePoint{Input: "in", Record: 3}, Attempts: 1}
	if _, err := CommitHeld(store, m); err != nil {
		t.Fatal(err)
	}
	if id, err := LatestVersion(store); !errors.Is(err, ErrNoVersions) {
		t.Fatalf("LatestVersion after a checkpoint = %q, %v; want ErrNoVersions", id, err)
	}
	final := testManifest("", writeShard(t, root, "b", []byte("second shard")))
	id, err := Commit(store, final)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := LatestVersion(store); err != nil || got != id {
		t.Fatalf("LatestVersion = %q, %v; want %s", got, err, id)
	}
}
