package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// ForgottenDir holds one record per `winnow forget` request,
// forgotten/<id>.json, where id is the record's content hash as for
// manifests.
const ForgottenDir = "forgotten"

// ReasonForgotten is the reason code of the deletions a forget request
// adds to a version.
const ReasonForgotten = "forgotten"

// ForgetRecord is one `winnow forget` request: the rows it removed from
// every version that existed when it ran and, after --purge, the files it
// rewrote without them.
//
// Manifests are content-addressed and never rewritten, so ReadManifest
// applies the records instead: each version gets the record's deletions
// and loses their totals, and paths of replaced files are swapped for the
// new ones. Every reader that goes through ReadManifest or ListVersions
// honours a record as soon as it is written.
//
// A record names no document: it keeps the SHA-256 of each id and URL
// prefix asked for, so an auditor can check that a given id was forgotten,
// and row numbers, never text.
type ForgetRecord struct {
	ID        string           `json:"id"` // content hash of the record written with an empty ID
	CreatedAt time.Time        `json:"created_at"`
	Reason    string           `json:"reason"` // why, as the operator gave it: a ticket or licence reference
	Selectors []ForgetSelector `json:"selectors"`
	Docs      int64            `json:"docs"` // distinct rows that matched, in all shards
	Purged    bool             `json:"purged"`
	// Versions has one entry per version that existed when the request
	// ran, including versions none of whose rows matched.
	Versions []ForgetVersion `json:"versions"`
	// Replaced are the shards and rejects files that --purge rewrote.
	Replaced []ReplacedFile `json:"replaced,omitempty"`
}

// ForgetSelector is one way a request chose documents.
type ForgetSelector struct {
	Kind   string   `json:"kind"`   // id or url_prefix
	SHA256 []string `json:"sha256"` // hex SHA-256 of each value, sorted
}

// ForgetVersion lists the rows a forget request removed from one version,
// with their totals.
type ForgetVersion struct {
	Version   string            `json:"version"`
	Deletions []Deletion        `json:"deletions,omitempty"` // reason ReasonForgotten
	Removed   Totals            `json:"removed"`
	Languages map[string]Totals `json:"languages,omitempty"` // removed, by lang as Manifest.Languages counts them
	Sources   map[string]Totals `json:"sources,omitempty"`   // removed, by source as Manifest.Sources counts them
}

// ReplacedFile is a shard or rejects file that --purge rewrote. A shard
// keeps its row count and order, with the forgotten rows emptied, so
// every deletion list stays valid. A rejects file loses the rows.
type ReplacedFile struct {
	Old string      `json:"old"` // path of the removed file
	New ShardRecord `json:"new"`
}

// ForgetNote is the summary of one forget request that a version shows.
type ForgetNote struct {
	Forget string    `json:"forget"` // id of the ForgetRecord
	At     time.Time `json:"at"`
	Reason string    `json:"reason"`
	Docs   int64     `json:"docs"` // documents removed from this version
}

// HashValue returns the hex SHA-256 of a forgotten id or URL prefix, as
// ForgetSelector stores it.
func HashValue(v string) string {
	sum := sha256.Sum256([]byte(v))
	return hex.EncodeToString(sum[:])
}

// WriteForgetRecord computes r's id, stores it in r.ID and writes the
// record atomically. Callers hold the commit lock, so a run that commits
// at the same time either is in r.Versions or reads its parent with r
// applied.
func WriteForgetRecord(store Store, r *ForgetRecord) (string, error) {
	if r.CreatedAt.IsZero() {
		r.CreatedAt = time.Now().UTC()
	}
	// apply looks versions up by binary search.
	sort.Slice(r.Versions, func(i, j int) bool { return r.Versions[i].Version < r.Versions[j].Version })
	r.ID = ""
	unsigned, err := marshalIndented(r)
	if err != nil {
		return "", err
	}
	r.ID = contentID(unsigned)
	data, err := marshalIndented(r)
	if err != nil {
		return "", err
	}
	if err := store.WriteFile(storePath(ForgottenDir, r.ID+".json"), data); err != nil {
		return "", fmt.Errorf("writing forget record %s: %w", r.ID, err)
	}
	return r.ID, nil
}

func marshalIndented(v any) ([]byte, error) {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding %T: %w", v, err)
	}
	return append(data, '\n'), nil
}

// ReadForgetRecords reads every forget record of store, oldest first, and
// checks each one's content hash. A root without any gives none.
func ReadForgetRecords(store Store) ([]*ForgetRecord, error) {
	names, err := store.List(ForgottenDir)
	if err != nil {
		return nil, fmt.Errorf("listing forget records: %w", err)
	}
	var out []*ForgetRecord
	for _, name := range names {
		id, ok := strings.CutSuffix(name, ".json")
		if !ok || !validVersionID(id) {
			continue
		}
		data, err := readFile(store, storePath(ForgottenDir, name))
		if err != nil {
			return nil, fmt.Errorf("reading forget record %s: %w", id, err)
		}
		if err := checkContentID(data, id); err != nil {
			return nil, fmt.Errorf("reading forget record %s: %w", id, err)
		}
		r := &ForgetRecord{}
		if err := json.Unmarshal(data, r); err != nil {
			return nil, fmt.Errorf("decoding forget record %s: %w", id, err)
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.Before(out[j].CreatedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// applyForgets applies each record, oldest first, to m. Records that ran
// before m existed do not name it and change nothing.
func applyForgets(m *Manifest, records []*ForgetRecord) {
	for _, r := range records {
		r.apply(m)
	}
}

func (r *ForgetRecord) apply(m *Manifest) {
	i := sort.Search(len(r.Versions), func(i int) bool { return r.Versions[i].Version >= m.ID })
	if i == len(r.Versions) || r.Versions[i].Version != m.ID {
		return
	}
	v := r.Versions[i]

	if len(r.Replaced) > 0 {
		replaced := make(map[string]ShardRecord, len(r.Replaced))
		for _, f := range r.Replaced {
			replaced[f.Old] = f.New
		}
		for j, s := range m.Shards {
			if n, ok := replaced[s.Path]; ok {
				m.Shards[j] = n
			}
		}
		for j, s := range m.Rejects {
			if n, ok := replaced[s.Path]; ok {
				m.Rejects[j] = n
			}
		}
		for j, d := range m.Deletions {
			if n, ok := replaced[d.Shard]; ok {
				m.Deletions[j].Shard = n.Path
			}
		}
	}
	if len(v.Deletions) == 0 {
		return
	}

	m.Deletions = append(m.Deletions, v.Deletions...)
	m.Totals = subtractTotals(m.Totals, v.Removed)
	m.Languages = subtractTotalsMap(m.Languages, v.Languages)
	m.Sources = subtractTotalsMap(m.Sources, v.Sources)
	m.Forgotten = append(m.Forgotten, ForgetNote{Forget: r.ID, At: r.CreatedAt, Reason: r.Reason, Docs: v.Removed.Docs})
}

func subtractTotals(a, b Totals) Totals {
	return Totals{Docs: a.Docs - b.Docs, Bytes: a.Bytes - b.Bytes, Tokens: a.Tokens - b.Tokens}
}

// subtractTotalsMap subtracts b from a, group by group, and drops groups
// left with no documents.
func subtractTotalsMap(a, b map[string]Totals) map[string]Totals {
	if len(b) == 0 {
		return a
	}
	out := make(map[string]Totals, len(a))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		left := subtractTotals(out[k], v)
		if left.Docs <= 0 {
			delete(out, k)
			continue
		}
		out[k] = left
	}
	return out
}
