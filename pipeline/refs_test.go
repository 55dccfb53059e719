package pipeline

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// commitChain commits n versions, each the parent of the next, an hour
// apart, and returns their ids, oldest first.
func commitChain(t *testing.T, store *LocalStore, n int) []string {
	t.Helper()
	var ids []string
	parent := ""
	for i := range n {
		m := testManifest(parent)
		m.CreatedAt = m.CreatedAt.Add(time.Duration(i) * time.Hour)
		m.Message = fmt.Sprintf("version %d", i)
		id, err := Commit(store, m)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
		parent = id
	}
	return ids
}

func TestCheckTagName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"web-en-2026.12.0", true},
		{"v1", true},
		{"release_3+build.7", true},
		{"", false},
		{"-leading-dash", false},
		{".hidden", false},
		{"has/slash", false},
		{"has space", false},
		{"latest", false},
		{"parent", false},
		{"0123456789abcdef", false}, // looks like a version id
		{strings.Repeat("a", 129), false},
	} {
		err := CheckTagName(tc.name)
		if (err == nil) != tc.ok {
			t.Errorf("CheckTagName(%q) = %v, want ok %v", tc.name, err, tc.ok)
		}
	}
}

func TestSetTagMovesOnlyWithForce(t *testing.T) {
	store := newTestStore(t, t.TempDir())
	ids := commitChain(t, store, 2)
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

	if prev, err := SetTag(store, "web-en-2026.12.0", ids[0], false, now); err != nil || prev != "" {
		t.Fatalf("first SetTag: previous %q, err %v", prev, err)
	}
	if prev, err := SetTag(store, "web-en-2026.12.0", ids[0], false, now); err != nil || prev != ids[0] {
		t.Errorf("SetTag to the same version: previous %q, err %v; want no change and no error", prev, err)
	}
	_, err := SetTag(store, "web-en-2026.12.0", ids[1], false, now)
	if !errors.Is(err, ErrTagExists) {
		t.Fatalf("moving a tag without force: err = %v, want ErrTagExists", err)
	}
	if tags, _ := ReadTags(store); tags["web-en-2026.12.0"] != ids[0] {
		t.Errorf("a refused move changed the tag to %s", tags["web-en-2026.12.0"])
	}
	if prev, err := SetTag(store, "web-en-2026.12.0", ids[1], true, now); err != nil || prev != ids[0] {
		t.Fatalf("moving with force: previous %q, err %v", prev, err)
	}
	if _, err := SetTag(store, "other", "0123456789abcdef", false, now); !errors.Is(err, ErrVersionNotFound) {
		t.Errorf("tagging a missing version: err = %v, want ErrVersionNotFound", err)
	}

	if _, err := DeleteTag(store, "web-en-2026.12.0", now); err != nil {
		t.Fatal(err)
	}
	if tags, _ := ReadTags(store); len(tags) != 0 {
		t.Errorf("tags after delete: %v", tags)
	}
	history, err := ReadHistory(store)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, h := range history {
		actions = append(actions, h.Action)
	}
	if got := strings.Join(actions, ","); got != "tag,move tag,delete tag" {
		t.Errorf("history actions = %s, want tag,move tag,delete tag", got)
	}
}

func TestResolveVersion(t *testing.T) {
	store := newTestStore(t, t.TempDir())
	ids := commitChain(t, store, 3)
	if _, err := SetTag(store, "stable", ids[1], false, time.Now()); err != nil {
		t.Fatal(err)
	}
	tagged := testManifest(ids[2])
	tagged.Tag = "from-run"
	runTagged, err := Commit(store, tagged)
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		ref, want string
	}{
		{"latest", runTagged},
		{ids[0], ids[0]},
		{ids[2][:8], ids[2]},
		{"stable", ids[1]},
		{"from-run", runTagged},
	} {
		got, err := ResolveVersion(store, tc.ref)
		if err != nil || got != tc.want {
			t.Errorf("ResolveVersion(%q) = %q, %v; want %q", tc.ref, got, err, tc.want)
		}
	}
	for _, ref := range []string{"nope", "0123456789abcdef", "ffff"} {
		if _, err := ResolveVersion(store, ref); !errors.Is(err, ErrVersionNotFound) {
			t.Errorf("ResolveVersion(%q): err = %v, want ErrVersionNotFound", ref, err)
		}
	}
}

func TestCommitHeldLeavesLatest(t *testing.T) {
	store := newTestStore(t, t.TempDir())
	ids := commitChain(t, store, 1)
	held := testManifest(ids[0])
	held.Message = "failed its data tests"
	id, err := CommitHeld(store, held)
	if err != nil {
		t.Fatal(err)
	}
	if latest, _ := LatestVersion(store); latest != ids[0] {
		t.Errorf("latest after CommitHeld = %s, want %s", latest, ids[0])
	}
	if _, err := ReadManifest(store, id); err != nil {
		t.Errorf("the held version is not readable: %v", err)
	}
	// The next commit still builds on the old latest version.
	next := testManifest(ids[0])
	next.Message = "next"
	if _, err := Commit(store, next); err != nil {
		t.Errorf("commit after a held version: %v", err)
	}
}

func TestSetLatestRollsBack(t *testing.T) {
	store := newTestStore(t, t.TempDir())
	ids := commitChain(t, store, 3)
	prev, err := SetLatest(store, ids[0], "rollback", time.Now())
	if err != nil || prev != ids[2] {
		t.Fatalf("SetLatest: previous %q, err %v", prev, err)
	}
	if latest, _ := LatestVersion(store); latest != ids[0] {
		t.Errorf("latest = %s, want %s", latest, ids[0])
	}
	if list, _ := ListVersions(store); len(list) != 3 {
		t.Errorf("rollback left %d versions, want all 3", len(list))
	}
}

// TestConcurrentCommitsKeepRefsWhole runs 20 commits at once, each taking
// the commit lock as winnow run does, while other goroutines move a tag
// and read the refs. Every read must see a whole, valid ref, and the
// versions must form one chain.
func TestConcurrentCommitsKeepRefsWhole(t *testing.T) {
	root := t.TempDir()
	store := newTestStore(t, root)
	first := commitChain(t, store, 1)[0]
	const commits = 20

	var stop atomic.Bool
	var readers sync.WaitGroup
	var badReads atomic.Int64
	readers.Add(1)
	go func() {
		defer readers.Done()
		for !stop.Load() {
			for _, ref := range []string{LatestRef, TagsDir + "/moving"} {
				data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(ref)))
				if errors.Is(err, os.ErrNotExist) {
					continue
				}
				id := strings.TrimSuffix(string(data), "\n")
				if err != nil || !validVersionID(id) || !strings.HasSuffix(string(data), "\n") {
					badReads.Add(1)
					continue
				}
				if _, err := ReadManifest(store, id); err != nil {
					badReads.Add(1)
				}
			}
		}
	}()

	var wg sync.WaitGroup
	errs := make(chan error, 2*commits)
	for i := range commits {
		wg.Add(2)
		go func() {
			defer wg.Done()
			errs <- lockedCommit(store, i)
		}()
		go func() {
			defer wg.Done()
			unlock, err := store.LockCommits(time.Minute)
			if err != nil {
				errs <- err
				return
			}
			defer unlock()
			latest, err := LatestVersion(store)
			if err == nil {
				_, err = SetTag(store, "moving", latest, true, time.Now())
			}
			errs <- err
		}()
	}
	wg.Wait()
	stop.Store(true)
	readers.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := badReads.Load(); n > 0 {
		t.Errorf("%d reads saw a partial or invalid ref", n)
	}

	list, err := ListVersions(store)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != commits+1 {
		t.Fatalf("%d versions, want %d", len(list), commits+1)
	}
	children := map[string]int{}
	for _, m := range list {
		children[m.Parent]++
	}
	for parent, n := range children {
		if n != 1 {
			t.Errorf("version %q has %d children, want a single chain", parent, n)
		}
	}
	latest, err := LatestVersion(store)
	if err != nil {
		t.Fatal(err)
	}
	if children[latest] != 0 {
		t.Errorf("latest %s has a child: a commit did not move latest", latest)
	}
	// Walking the parents from latest reaches every version.
	seen := 0
	byID := map[string]*Manifest{}
	for _, m := range list {
		byID[m.ID] = m
	}
	for id := latest; id != ""; id = byID[id].Parent {
		seen++
	}
	if seen != commits+1 || children[""] != 1 || byID[first].Parent != "" {
		t.Errorf("chain from latest has %d versions, want %d", seen, commits+1)
	}
	if entries, _ := os.ReadDir(filepath.Join(root, "refs")); len(entries) > 0 {
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), ".") {
				t.Errorf("refs/%s left behind", e.Name())
			}
		}
	}
}

// lockedCommit commits one version on top of the latest, under the
// commit lock.
func lockedCommit(store *LocalStore, i int) error {
	unlock, err := store.LockCommits(time.Minute)
	if err != nil {
		return err
	}
	defer unlock()
	parent, err := LatestVersion(store)
	if err != nil {
		return err
	}
	m := testManifest(parent)
	m.CreatedAt = time.Now().UTC()
	m.Message = fmt.Sprintf("concurrent %d", i)
	_, err = Commit(store, m)
	return err
}
