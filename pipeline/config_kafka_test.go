package pipeline

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestConfigKafkaDefaults(t *testing.T) {
	t.Setenv(KafkaBrokersEnv, " 127.0.0.1:9092, 127.0.0.1:9093 ,")
	// The stage list is empty because this package registers no stages.
	cfg, err := ParseConfig([]byte("input:\n  format: kafka\n  kafka: {topic: crawl}\nstages: []\n"))
	if err != nil {
		t.Fatalf("ParseConfig: %v", err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	k := cfg.Input.Kafka
	if want := []string{"127.0.0.1:9092", "127.0.0.1:9093"}; !slices.Equal(k.Brokers, want) {
		t.Errorf("brokers = %q, want %q from %s", k.Brokers, want, KafkaBrokersEnv)
	}
	if k.Group != "winnow" || k.StartAt != "earliest" || k.FetchMaxBytes != 16<<20 || k.StopWhenIdle != 0 {
		t.Errorf("defaults = %+v, want group winnow, start_at earliest, fetch_max_bytes 16 MiB, stop_when_idle 0", k)
	}
}

func TestConfigKafkaFields(t *testing.T) {
	t.Setenv(KafkaBrokersEnv, "127.0.0.1:1")
	cfg, err := ParseConfig([]byte(`input:
  format: kafka
  fields: {text: body}
  kafka:
    brokers: [broker-0.kafka:9092]
    topic: crawl.cc-2019_30
    group: curators
    start_at: latest
    stop_when_idle: 1m30s
    fetch_max_bytes: 1048576
stages: []
`))
	if err != nil {
		t.Fatalf("ParseConfig: %v", err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	want := KafkaConfig{Brokers: []string{"broker-0.kafka:9092"}, Topic: "crawl.cc-2019_30", Group: "curators", StartAt: "latest", StopWhenIdle: 90 * time.Second, FetchMaxBytes: 1 << 20}
	got := cfg.Input.Kafka
	if !slices.Equal(got.Brokers, want.Brokers) || got.Topic != want.Topic || got.Group != want.Group || got.StartAt != want.StartAt || got.StopWhenIdle != want.StopWhenIdle || got.FetchMaxBytes != want.FetchMaxBytes {
		t.Errorf("kafka config = %+v, want %+v", got, want)
	}
	if cfg.Input.Fields.Text != "body" {
		t.Errorf("fields.text = %q, want body", cfg.Input.Fields.Text)
	}
}

func TestConfigKafkaErrorsNameField(t *testing.T) {
	t.Setenv(KafkaBrokersEnv, "")
	for _, tc := range []struct{ yaml, want string }{
		{"input: {format: kafka, kafka: {brokers: [127.0.0.1:9092]}}", "input.kafka.topic: missing"},
		{"input: {format: kafka, kafka: {topic: crawl}}", "input.kafka.brokers: missing"},
		{"input: {format: kafka, kafka: {brokers: [localhost], topic: crawl}}", `input.kafka.brokers[0]: invalid value "localhost"`},
		{"input: {format: kafka, kafka: {brokers: [127.0.0.1:9092], topic: crawl/2019}}", `input.kafka.topic: invalid value "crawl/2019"`},
		{"input: {format: kafka, kafka: {brokers: [127.0.0.1:9092], topic: crawl, start_at: middle}}", `input.kafka.start_at: invalid value "middle"`},
		{"input: {format: kafka, kafka: {brokers: [127.0.0.1:9092], topic: crawl, stop_when_idle: -5s}}", "input.kafka.stop_when_idle: invalid value -5s"},
		{"input: {format: kafka, kafka: {brokers: [127.0.0.1:9092], topic: crawl, fetch_max_bytes: 100}}", "input.kafka.fetch_max_bytes: invalid value 100"},
		{"input: {format: kafka, paths: [a.jsonl], kafka: {brokers: [127.0.0.1:9092], topic: crawl}}", "input.paths: invalid value"},
		{"input: {format: jsonl, kafka: {topic: crawl}}", `input.kafka: set, but input.format is "jsonl"`},
		{"input: {format: kafkaa}", `input.format: invalid value "kafkaa": use auto, jsonl, parquet, wet, warc, arc or kafka`},
	} {
		cfg, err := ParseConfig([]byte(tc.yaml))
		if err != nil {
			t.Errorf("ParseConfig(%s): %v", tc.yaml, err)
			continue
		}
		err = cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate(%s) = %v, want an error containing %q", tc.yaml, err, tc.want)
		}
	}
}

func TestConfigKafkaStopWhenIdleNeedsUnit(t *testing.T) {
	for _, value := range []string{"30", "1.5", "soon"} {
		_, err := ParseConfig([]byte("input:\n  format: kafka\n  kafka:\n    stop_when_idle: " + value + "\n"))
		want := `line 4: input.kafka.stop_when_idle: invalid value "` + value + `": must be a duration with a unit`
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("stop_when_idle %s: error %v, want %q", value, err, want)
		}
	}
}

func TestLoadConfigKafkaErrorNamesFile(t *testing.T) {
	t.Setenv(KafkaBrokersEnv, "127.0.0.1:9092")
	path := filepath.Join(t.TempDir(), "winnow.yaml")
	if err := os.WriteFile(path, []byte("input: {format: kafka}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(path)
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	err = cfg.Validate()
	if want := "config " + path + ": input.kafka.topic: missing"; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("Validate = %v, want it to start with %q", err, want)
	}
}

// TestConfigTypeErrorsNameField checks that a value of the wrong type
// is reported with the field's dotted name, not only a Go type.
func TestConfigTypeErrorsNameField(t *testing.T) {
	for _, c := range []struct{ yaml, want string }{
		{"output:\n  commit_every: {seconds: abc}\n", "line 2: output.commit_every.seconds: "},
		{"output:\n  commit_every: 500\n", "line 2: output.commit_every: "},
		{"input:\n  kafka: {stop_at_end: yes-please}\n", "line 2: input.kafka.stop_at_end: "},
		{"input:\n  kafka:\n    session_timeout: 45 seconds\n", `line 3: input.kafka.session_timeout: invalid value "45 seconds"`},
	} {
		_, err := ParseConfig([]byte(c.yaml))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseConfig(%q) = %v, want an error containing %q", c.yaml, err, c.want)
		}
	}
}
