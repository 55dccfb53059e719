package pipeline

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// ConsumersDir holds the loader's consumption records:
// consumers/<version id>/<run id>.json, one per training run that opened
// the version.
const ConsumersDir = "consumers"

// ConsumerRecord is the loader's record of one training run that reads a
// version. Options and LastState are kept as the loader wrote them.
type ConsumerRecord struct {
	RunID     string          `json:"run_id"`
	Version   string          `json:"version"`
	OpenedAt  time.Time       `json:"opened_at"`
	Options   json.RawMessage `json:"options,omitempty"`
	LastState json.RawMessage `json:"last_state,omitempty"`
	UpdatedAt time.Time       `json:"updated_at"`
}

// ReadConsumers returns the consumption records of version id, oldest
// opened first. A record that does not decode is an error naming its
// file, because a silently skipped run would break training lineage.
func ReadConsumers(store Store, id string) ([]ConsumerRecord, error) {
	dir := storePath(ConsumersDir, id)
	names, err := store.List(dir)
	if err != nil {
		return nil, fmt.Errorf("listing consumers of version %s: %w", id, err)
	}
	var out []ConsumerRecord
	for _, name := range names {
		if !strings.HasSuffix(name, ".json") {
			continue
		}
		data, err := readFile(store, storePath(dir, name))
		if err != nil {
			return nil, fmt.Errorf("reading consumer record %s/%s: %w", dir, name, err)
		}
		var r ConsumerRecord
		if err := json.Unmarshal(data, &r); err != nil {
			return nil, fmt.Errorf("decoding consumer record %s/%s: %w", dir, name, err)
		}
		if r.Version == "" {
			r.Version = id
		}
		if r.RunID == "" {
			r.RunID = strings.TrimSuffix(name, ".json")
		}
		out = append(out, r)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].OpenedAt.Before(out[j].OpenedAt) })
	return out, nil
}
