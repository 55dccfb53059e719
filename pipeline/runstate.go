package pipeline

import (
	"fmt"
	"strconv"
	"strings"
)

// RunRecord ties the versions of one `winnow run` together across the
// attempts a crash makes. A run that checkpoints commits held versions
// (Checkpoint set) while it reads. Each is a snapshot of the run's own
// documents so far, with the point where reading stops. A restarted
// attempt continues from the newest one. The run's last version, committed
// normally, has Checkpoint unset.
type RunRecord struct {
	// ID names the run; every attempt of a resumed run keeps it.
	ID string `json:"id"`
	// Key is the hash of what makes two runs the same run: the resolved
	// config, the inputs and the worker share. A new run resumes an
	// unfinished run only when the keys agree.
	Key string `json:"key"`
	// Checkpoint marks a version committed while the run was still reading.
	Checkpoint bool `json:"checkpoint,omitempty"`
	// Next is the position the next attempt starts reading at, for a
	// checkpoint. It is nil on the run's last version.
	Next *ResumePoint `json:"next,omitempty"`
	// Attempts counts the processes that worked on the run, 1 when it was
	// never interrupted.
	Attempts int `json:"attempts"`
	// Resumed lists the checkpoints the attempts started from, oldest first.
	Resumed []string `json:"resumed,omitempty"`
}

// ResumePoint is a position in a run's inputs, which are read one after
// another in a fixed order. Every record before record Record of input
// number InputIndex (counted from 0 in reading order) is consumed: its
// document is in a committed shard or was dropped.
type ResumePoint struct {
	InputIndex int    `json:"input_index"`
	Input      string `json:"input"` // the input's name, to check the order still holds
	Record     int64  `json:"record"`
}

// String returns the point as "input#record".
func (p ResumePoint) String() string { return p.Input + "#" + strconv.FormatInt(p.Record, 10) }

// KafkaRecord is how far a version has consumed one Kafka topic: for each
// partition, the offset of the first record it does not hold. Versions made
// from Kafka are appended one after another, and a version's record covers
// every partition any earlier version consumed, so the latest version alone
// gives the offsets a consumer of the topic must start at.
type KafkaRecord struct {
	Topic string `json:"topic"`
	Group string `json:"group"`
	// Next maps a partition number, as a decimal string because JSON keys
	// are strings, to the next offset to read.
	Next map[string]int64 `json:"next"`
}

// NextOffset returns the next offset recorded for partition, and whether
// one is recorded.
func (r *KafkaRecord) NextOffset(partition int32) (int64, bool) {
	off, ok := r.Next[strconv.Itoa(int(partition))]
	return off, ok
}

// Advance moves partition's next offset to off, unless the record is
// already past it: offsets in a version never move backwards.
func (r *KafkaRecord) Advance(partition int32, off int64) {
	if r.Next == nil {
		r.Next = map[string]int64{}
	}
	key := strconv.Itoa(int(partition))
	if cur, ok := r.Next[key]; !ok || off > cur {
		r.Next[key] = off
	}
}

// Offsets returns the next offsets by partition number.
func (r *KafkaRecord) Offsets() (map[int32]int64, error) {
	out := make(map[int32]int64, len(r.Next))
	for k, v := range r.Next {
		p, err := strconv.ParseInt(strings.TrimSpace(k), 10, 32)
		if err != nil {
			return nil, fmt.Errorf("kafka record of topic %s: partition %q is not a number", r.Topic, k)
		}
		out[int32(p)] = v
	}
	return out, nil
}

// KafkaOf returns m's record of topic, or nil.
func (m *Manifest) KafkaOf(topic string) *KafkaRecord {
	for i := range m.Kafka {
		if m.Kafka[i].Topic == topic {
			return &m.Kafka[i]
		}
	}
	return nil
}
