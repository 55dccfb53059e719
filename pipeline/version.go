package pipeline

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"strings"
	"time"
)

// Layout of a dataset root.
const (
	ShardsDir   = "shards"      // Parquet shards, named by content hash
	VersionsDir = "versions"    // one manifest per version, <id>.json
	LatestRef   = "refs/latest" // id of the latest version and a newline
)

// VersionIDLen is the length of a version id in hex digits.
const VersionIDLen = 16

var (
	// ErrNoVersions means the dataset root holds no committed version.
	ErrNoVersions = errors.New("no committed version")
	// ErrStaleParent means a manifest's Parent is not the latest version,
	// because another run committed in between.
	ErrStaleParent = errors.New("parent is not the latest version")
	// ErrChecksumMismatch means a file's bytes differ from what the
	// manifest records for it.
	ErrChecksumMismatch = errors.New("checksum mismatch")
)

// Commit publishes m as a new version of the dataset in store and returns
// its id, which it also stores in m.ID.
//
// Commit sets m.Format, and m.CreatedAt when it is zero. The id is the
// first VersionIDLen hex digits of the SHA-256 of the manifest's JSON, as
// this package writes it (two-space indent, trailing newline), with ID
// set to "". ReadManifest checks it the same way.
//
// Every shard m lists must already be in store with the recorded size.
// m.Parent must name the current latest version, or be "" when there is
// none, because a version is a full snapshot built on its parent. When it
// does not, Commit writes nothing and returns an error that matches
// ErrStaleParent.
//
// Commit runs under the root's commit lock (see LockCommits for the
// protocol on each kind of store). It takes the lock itself, unless a
// LockCommits call on the same store value is in force. A caller that
// reads the latest version to build m, as an appending run does, takes
// the lock first, so that no other commit lands in between. The steps
// are:
//
//  1. check that every shard is present with its size;
//  2. check that m.Parent is the latest version;
//  3. check that the lock is still this holder's, since another process
//     may have taken it over as stale;
//  4. write the manifest versions/<id>.json, atomically;
//  5. point refs/latest at the new version, atomically.
//
// The manifest is written last of the version's files, so a version
// exists whole or not at all, and a version without a manifest does not
// exist. A crash between steps 4 and 5 leaves a version that exists but
// is not the latest. Two writers that each take the lock cannot both
// commit on the same parent: the second one to get the lock finds that
// the parent is no longer the latest version and gets ErrStaleParent.
//
// NOTE: the lock expires 10 minutes after it was taken. A holder that
// stops for longer between steps 3 and 5 can still commit on a parent
// that is no longer the latest.
func Commit(store Store, m *Manifest) (string, error) {
	return commit(store, m, true)
}

// CommitHeld publishes m as Commit does, with the same lock and parent
// check, but leaves refs/latest where it is. `winnow run
// --fail-on-expectation` commits a version whose data tests failed this
// way: the version is readable by id or tag, and the next run still
// builds on the current latest version.
func CommitHeld(store Store, m *Manifest) (string, error) {
	return commit(store, m, false)
}

func commit(store Store, m *Manifest, moveLatest bool) (string, error) {
	lock := heldCommitLock(store)
	if lock == nil {
		var err error
		if lock, err = acquireCommitLock(store, CommitLockWait); err != nil {
			return "", fmt.Errorf("committing version: %w", err)
		}
		defer lock.release()
	}

	m.Format = ManifestFormat
	if m.CreatedAt.IsZero() {
		m.CreatedAt = time.Now().UTC()
	}
	if err := checkShardsPresent(store, m); err != nil {
		return "", fmt.Errorf("committing version: %w", err)
	}
	if err := checkParent(store, m.Parent); err != nil {
		return "", fmt.Errorf("committing version: %w", err)
	}

	id, data, err := encodeManifest(m)
	if err != nil {
		return "", fmt.Errorf("committing version: %w", err)
	}
	if err := lock.verify(); err != nil {
		return "", fmt.Errorf("committing version %s: %w", id, err)
	}
	if err := store.WriteFile(manifestPath(id), data); err != nil {
		return "", fmt.Errorf("writing manifest of version %s: %w", id, err)
	}
	if !moveLatest {
		return id, nil
	}
	if err := store.WriteFile(LatestRef, []byte(id+"\n")); err != nil {
		return "", fmt.Errorf("updating %s to version %s: %w", LatestRef, id, err)
	}
	return id, nil
}

// encodeManifest computes m's id, stores it in m.ID and returns the
// manifest's JSON with that id.
func encodeManifest(m *Manifest) (string, []byte, error) {
	m.ID = ""
	unsigned, err := marshalManifest(m)
	if err != nil {
		return "", nil, err
	}
	m.ID = contentID(unsigned)
	data, err := marshalManifest(m)
	if err != nil {
		return "", nil, err
	}
	return m.ID, data, nil
}

func marshalManifest(m *Manifest) ([]byte, error) {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding manifest: %w", err)
	}
	return append(data, '\n'), nil
}

func contentID(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])[:VersionIDLen]
}

// checkShardsPresent makes sure a manifest only lists shards that were
// written, so a reader of the version finds every file.
func checkShardsPresent(store Store, m *Manifest) error {
	for _, s := range m.Shards {
		info, err := store.Stat(s.Path)
		if err != nil {
			return fmt.Errorf("checking shard %s: %w", s.Path, err)
		}
		if info.Size() != s.Bytes {
			return fmt.Errorf("checking shard %s: file has %d bytes, manifest records %d", s.Path, info.Size(), s.Bytes)
		}
	}
	return nil
}

func checkParent(store Store, parent string) error {
	latest, err := LatestVersion(store)
	if errors.Is(err, ErrNoVersions) {
		latest, err = "", nil
	}
	if err != nil {
		return err
	}
	if latest != parent {
		return fmt.Errorf("manifest parent is %q but the latest version is %q: %w", parent, latest, ErrStaleParent)
	}
	return nil
}

// ReadManifest reads version id from store and checks that its content
// hash matches id, as Commit computed it. It then applies every record of
// `winnow forget` (see ForgetRecord), so the documents forgotten from the
// version are in its Deletions and out of its totals, and purged shards
// have their new paths. The manifest file itself never changes.
func ReadManifest(store Store, id string) (*Manifest, error) {
	m, err := readManifestFile(store, id)
	if err != nil {
		return nil, err
	}
	forgets, err := ReadForgetRecords(store)
	if err != nil {
		return nil, err
	}
	applyForgets(m, forgets)
	return m, nil
}

// readManifestFile reads and checks the manifest file of version id, as
// Commit wrote it, without applying forget records.
func readManifestFile(store Store, id string) (*Manifest, error) {
	if !validVersionID(id) {
		return nil, fmt.Errorf("reading version %q: invalid version id: want %d lowercase hex digits", id, VersionIDLen)
	}
	name := manifestPath(id)
	data, err := readFile(store, name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("reading version %s: no manifest %s in %s: %w", id, name, store, err)
	}
	if err != nil {
		return nil, fmt.Errorf("reading version %s: %w", id, err)
	}

	m := &Manifest{}
	if err := json.Unmarshal(data, m); err != nil {
		return nil, fmt.Errorf("decoding manifest %s: %w", name, err)
	}
	if m.Format > ManifestFormat {
		return nil, fmt.Errorf("reading manifest %s: format %d is not supported, this winnow reads up to %d: upgrade winnow", name, m.Format, ManifestFormat)
	}
	if m.ID != id {
		return nil, fmt.Errorf("reading manifest %s: id field is %q, want %s: %w", name, m.ID, id, ErrChecksumMismatch)
	}
	if err := checkContentID(data, id); err != nil {
		return nil, fmt.Errorf("reading manifest %s: %w", name, err)
	}
	return m, nil
}

// checkContentID recomputes the id of a manifest file from its own bytes:
// the bytes with the id's value emptied are the bytes Commit hashed. This
// does not depend on re-encoding, which could order or format the resolved
// config differently.
func checkContentID(data []byte, id string) error {
	field := []byte(`"id": "` + id + `"`)
	if !bytes.Contains(data, field) {
		return fmt.Errorf("id field is not in the form Commit writes: %w", ErrChecksumMismatch)
	}
	unsigned := bytes.Replace(data, field, []byte(`"id": ""`), 1)
	if got := contentID(unsigned); got != id {
		return fmt.Errorf("content hash is %s, not %s, so the file changed after it was committed: %w", got, id, ErrChecksumMismatch)
	}
	return nil
}

// LatestVersion returns the id of the latest version: the one refs/latest
// names or, when that file is missing, the newest manifest by created_at.
// A root with no version gives an error that matches ErrNoVersions.
func LatestVersion(store Store) (string, error) {
	data, err := readFile(store, LatestRef)
	if err == nil {
		return checkLatestRef(store, data)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("reading %s in %s: %w", LatestRef, store, err)
	}

	// No ref: the first commit stopped between its manifest and its ref,
	// or the root was copied without refs/.
	versions, err := ListVersions(store)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("finding latest version: %w: %w", ErrNoVersions, err)
	}
	if err != nil {
		return "", fmt.Errorf("finding latest version: %w", err)
	}
	// Held versions never move the ref: a run's checkpoints and versions
	// whose data tests failed are not the latest even when they are the
	// newest.
	for _, m := range versions {
		if !m.held() {
			return m.ID, nil
		}
	}
	return "", fmt.Errorf("finding latest version in %s: %w (a successful run commits one)", store, ErrNoVersions)
}

// held reports whether m was committed without moving refs/latest.
func (m *Manifest) held() bool {
	return (m.Run != nil && m.Run.Checkpoint) || (m.Expectations != nil && m.Expectations.Held)
}

// checkLatestRef validates the content of refs/latest and that the version
// it names has a manifest.
func checkLatestRef(store Store, data []byte) (string, error) {
	id := strings.TrimSuffix(string(data), "\n")
	if !validVersionID(id) {
		return "", fmt.Errorf("reading %s in %s: invalid version id %q", LatestRef, store, id)
	}
	if _, err := store.Stat(manifestPath(id)); err != nil {
		return "", fmt.Errorf("reading %s in %s: version %s has no manifest: %w", LatestRef, store, id, err)
	}
	return id, nil
}

// ListVersions reads every version in store, as ReadManifest does,
// newest first: by created_at descending, then by id descending between
// versions created at the same instant. Files in versions/ that are not
// named <id>.json, such as temporary files left by a crash, are ignored.
func ListVersions(store Store) ([]*Manifest, error) {
	names, err := store.List(VersionsDir)
	if err != nil {
		return nil, fmt.Errorf("listing versions: %w", err)
	}
	forgets, err := ReadForgetRecords(store)
	if err != nil {
		return nil, fmt.Errorf("listing versions: %w", err)
	}
	var out []*Manifest
	for _, name := range names {
		id, ok := strings.CutSuffix(name, ".json")
		if !ok || !validVersionID(id) {
			continue
		}
		m, err := readManifestFile(store, id)
		if err != nil {
			return nil, fmt.Errorf("listing versions: %w", err)
		}
		applyForgets(m, forgets)
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.After(out[j].CreatedAt)
		}
		return out[i].ID > out[j].ID
	})
	return out, nil
}

// VerifyShards recomputes the size and SHA-256 of every shard m lists and
// compares them with the manifest. It checks all shards and joins one
// error per bad shard. Each error names its shard, and a content mismatch
// matches ErrChecksumMismatch.
func VerifyShards(store Store, m *Manifest) error {
	var errs []error
	for _, s := range m.Shards {
		if err := verifyShard(store, s); err != nil {
			errs = append(errs, fmt.Errorf("verifying shard %s: %w", s.Path, err))
		}
	}
	return errors.Join(errs...)
}

func verifyShard(store Store, s ShardRecord) error {
	r, err := store.Open(s.Path)
	if err != nil {
		return err
	}
	defer r.Close()
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		return err
	}
	if n != s.Bytes {
		return fmt.Errorf("file has %d bytes, manifest records %d: %w", n, s.Bytes, ErrChecksumMismatch)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != s.SHA256 {
		return fmt.Errorf("sha256 is %s, manifest records %s: %w", got, s.SHA256, ErrChecksumMismatch)
	}
	return nil
}

func manifestPath(id string) string { return storePath(VersionsDir, id+".json") }

func validVersionID(id string) bool {
	if len(id) != VersionIDLen {
		return false
	}
	for _, c := range id {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
