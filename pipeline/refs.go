package pipeline

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"
)

// TagsDir holds one file per tag, refs/tags/<name>, containing the id of
// the tagged version and a newline, as refs/latest does.
const TagsDir = "refs/tags"

// HistoryRef is the log of every change that `winnow tag` and `winnow
// rollback` made to refs/latest and the tags: one JSON object per line,
// oldest first. Commits are not logged there, because every manifest
// records its own parent.
const HistoryRef = "refs/history.jsonl"

// maxTagLen bounds a tag name, so it stays a portable file name.
const maxTagLen = 128

var (
	// ErrTagExists means a tag names another version already, and the
	// caller did not ask to move it.
	ErrTagExists = errors.New("tag exists")
	// ErrVersionNotFound means a version reference names no version.
	ErrVersionNotFound = errors.New("version not found")
)

// CheckTagName returns an error unless name can be a tag: 1 to 128
// letters, digits, '.', '_', '-' or '+', starting with a letter or digit,
// such as web-en-2026.12.0. "latest", "parent" and names that look like
// version ids are reserved, so a reference never means two things.
func CheckTagName(name string) error {
	if name == "" || len(name) > maxTagLen {
		return fmt.Errorf("invalid tag name %q: want 1 to %d characters", name, maxTagLen)
	}
	for i, c := range name {
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if i == 0 && !alnum {
			return fmt.Errorf("invalid tag name %q: it must start with a letter or digit", name)
		}
		if !alnum && c != '.' && c != '_' && c != '-' && c != '+' {
			return fmt.Errorf("invalid tag name %q: %q is not allowed; use letters, digits, '.', '_', '-' or '+'", name, c)
		}
	}
	if name == "latest" || name == "parent" {
		return fmt.Errorf("invalid tag name %q: the name is reserved", name)
	}
	if validVersionID(name) {
		return fmt.Errorf("invalid tag name %q: it looks like a version id", name)
	}
	return nil
}

func tagPath(name string) string { return storePath(TagsDir, name) }

// ReadTags returns every tag of store with the version it names.
func ReadTags(store Store) (map[string]string, error) {
	names, err := store.List(TagsDir)
	if err != nil {
		return nil, fmt.Errorf("listing tags: %w", err)
	}
	out := make(map[string]string, len(names))
	for _, name := range names {
		if CheckTagName(name) != nil {
			continue
		}
		id, err := readTag(store, name)
		if err != nil {
			return nil, err
		}
		out[name] = id
	}
	return out, nil
}

// readTag returns the version that tag name points at. A missing tag gives
// an error that matches fs.ErrNotExist.
func readTag(store Store, name string) (string, error) {
	data, err := readFile(store, tagPath(name))
	if err != nil {
		return "", fmt.Errorf("reading tag %s: %w", name, err)
	}
	id := strings.TrimSuffix(string(data), "\n")
	if !validVersionID(id) {
		return "", fmt.Errorf("reading tag %s in %s: invalid version id %q", name, store, id)
	}
	return id, nil
}

// TagsByVersion inverts tags: the sorted tag names of each version.
func TagsByVersion(tags map[string]string) map[string][]string {
	out := map[string][]string{}
	for _, name := range SortedKeys(tags) {
		out[tags[name]] = append(out[tags[name]], name)
	}
	return out
}

// SetTag points tag name at version id and logs the change in HistoryRef.
// A tag that names another version is moved only when force is set; else
// the error matches ErrTagExists. Callers hold the commit lock, so the
// check and the write are one step for every winnow process.
func SetTag(store Store, name, id string, force bool, now time.Time) (previous string, err error) {
	if err := CheckTagName(name); err != nil {
		return "", err
	}
	if err := checkVersionExists(store, id); err != nil {
		return "", err
	}
	previous, err = readTag(store, name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		previous = ""
	case err != nil:
		return "", err
	case previous == id:
		return previous, nil
	case !force:
		return previous, fmt.Errorf("tag %s names version %s: %w; pass --force to move it to %s", name, previous, ErrTagExists, id)
	}
	if err := store.WriteFile(tagPath(name), []byte(id+"\n")); err != nil {
		return "", fmt.Errorf("writing tag %s: %w", name, err)
	}
	action := "tag"
	if previous != "" {
		action = "move tag"
	}
	return previous, appendHistory(store, HistoryEntry{Time: now, Action: action, Ref: "tags/" + name, From: previous, To: id})
}

// DeleteTag removes tag name and logs it. The version stays.
func DeleteTag(store *LocalStore, name string, now time.Time) (string, error) {
	if err := CheckTagName(name); err != nil {
		return "", err
	}
	previous, err := readTag(store, name)
	if err != nil {
		return "", err
	}
	if err := store.Remove(tagPath(name)); err != nil {
		return "", fmt.Errorf("deleting tag %s: %w", name, err)
	}
	return previous, appendHistory(store, HistoryEntry{Time: now, Action: "delete tag", Ref: "tags/" + name, From: previous})
}

// SetLatest points refs/latest at version id, as `winnow rollback` does,
// and logs the change under action. Nothing is deleted: the versions
// after id stay readable by id and tag. Callers hold the commit lock.
func SetLatest(store Store, id, action string, now time.Time) (previous string, err error) {
	if err := checkVersionExists(store, id); err != nil {
		return "", err
	}
	previous, err = LatestVersion(store)
	if err != nil && !errors.Is(err, ErrNoVersions) {
		return "", err
	}
	if previous == id {
		return previous, nil
	}
	if err := store.WriteFile(LatestRef, []byte(id+"\n")); err != nil {
		return "", fmt.Errorf("updating %s to version %s: %w", LatestRef, id, err)
	}
	return previous, appendHistory(store, HistoryEntry{Time: now, Action: action, Ref: "latest", From: previous, To: id})
}

// HistoryEntry is one change of a ref made by `winnow tag` or `winnow
// rollback`.
type HistoryEntry struct {
	Time   time.Time `json:"time"`
	Action string    `json:"action"` // tag, move tag, delete tag or rollback
	Ref    string    `json:"ref"`    // latest or tags/<name>
	From   string    `json:"from,omitempty"`
	To     string    `json:"to,omitempty"`
}

// ReadHistory returns the entries of HistoryRef, oldest first.
func ReadHistory(store Store) ([]HistoryEntry, error) {
	data, err := readFile(store, HistoryRef)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", HistoryRef, err)
	}
	var out []HistoryEntry
	for i, line := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var e HistoryEntry
		if err := json.Unmarshal(line, &e); err != nil {
			return nil, fmt.Errorf("reading %s line %d: %w", HistoryRef, i+1, err)
		}
		out = append(out, e)
	}
	return out, nil
}

// appendHistory rewrites HistoryRef with e added. The whole file is
// replaced atomically, so a crash leaves the old log or the new one.
func appendHistory(store Store, e HistoryEntry) error {
	data, err := readFile(store, HistoryRef)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("reading %s: %w", HistoryRef, err)
	}
	line, err := json.Marshal(e)
	if err != nil {
		return err
	}
	data = append(append(data, line...), '\n')
	if err := store.WriteFile(HistoryRef, data); err != nil {
		return fmt.Errorf("writing %s: %w", HistoryRef, err)
	}
	return nil
}

func checkVersionExists(store Store, id string) error {
	if !validVersionID(id) {
		return fmt.Errorf("invalid version id %q: want %d lowercase hex digits", id, VersionIDLen)
	}
	if _, err := store.Stat(manifestPath(id)); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("version %s has no manifest in %s: %w", id, store, ErrVersionNotFound)
		}
		return fmt.Errorf("checking version %s: %w", id, err)
	}
	return nil
}

// ResolveVersion returns the id of the version that ref names. A ref is
// "latest", a version id, a tag under refs/tags, or a unique prefix of at
// least 4 hex digits of a version id. It can also be the tag that one
// version alone recorded with `winnow run --tag`. An unknown reference
// gives an error that matches ErrVersionNotFound.
func ResolveVersion(store Store, ref string) (string, error) {
	switch {
	case ref == "latest":
		return LatestVersion(store)
	case validVersionID(ref):
		return ref, checkVersionExists(store, ref)
	}
	if CheckTagName(ref) == nil {
		id, err := readTag(store, ref)
		if err == nil {
			return id, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
	}

	names, err := store.List(VersionsDir)
	if err != nil {
		return "", fmt.Errorf("resolving version %q: %w", ref, err)
	}
	var matches []string
	if len(ref) >= 4 && isLowerHex(ref) {
		for _, name := range names {
			if id, ok := strings.CutSuffix(name, ".json"); ok && validVersionID(id) && strings.HasPrefix(id, ref) {
				matches = append(matches, id)
			}
		}
	}
	if len(matches) == 0 {
		if matches, err = versionsWithManifestTag(store, names, ref); err != nil {
			return "", err
		}
	}
	switch len(matches) {
	case 1:
		return matches[0], nil
	case 0:
		return "", fmt.Errorf("%q is not a version id, tag or latest in %s: %w; `winnow log` lists them", ref, store, ErrVersionNotFound)
	}
	return "", fmt.Errorf("%q is ambiguous in %s: it names versions %s; give a full version id", ref, store, strings.Join(matches, ", "))
}

// versionsWithManifestTag returns the versions whose manifest records tag.
func versionsWithManifestTag(store Store, names []string, tag string) ([]string, error) {
	var out []string
	for _, name := range names {
		id, ok := strings.CutSuffix(name, ".json")
		if !ok || !validVersionID(id) {
			continue
		}
		m, err := readManifestFile(store, id)
		if err != nil {
			return nil, fmt.Errorf("resolving version %q: %w", tag, err)
		}
		if m.Tag == tag {
			out = append(out, id)
		}
	}
	return out, nil
}

func isLowerHex(s string) bool {
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
