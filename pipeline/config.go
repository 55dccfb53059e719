package pipeline

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/winnow-data/winnow/mixture"
)

// Defaults of the run configuration.
const (
	DefaultOutputRoot       = "./winnow-out"
	DefaultBatchSize        = 256       // documents per batch
	DefaultBatchBytes       = 4 << 20   // text bytes per batch
	DefaultShardMaxBytes    = 512 << 20 // bytes of one Parquet shard, compressed
	DefaultRowGroupMaxBytes = 64 << 20  // bytes of one row group, before compression
	DefaultZstdLevel        = 3
)

// Defaults of the Kafka input.
const (
	DefaultKafkaGroup          = "winnow"
	DefaultKafkaStartAt        = KafkaStartEarliest
	DefaultKafkaFetchMaxBytes  = 16 << 20 // bytes of fetched records the client buffers
	DefaultKafkaSessionTimeout = 45 * time.Second
	// KafkaBrokersEnv is the environment variable that lists the brokers,
	// comma separated, when input.kafka.brokers is empty.
	KafkaBrokersEnv = "WINNOW_KAFKA_BROKERS"
)

// Values of KafkaConfig.StartAt.
const (
	KafkaStartEarliest = "earliest"
	KafkaStartLatest   = "latest"
)

// FormatKafka is the input.format of a Kafka topic.
const FormatKafka = "kafka"

// DefaultStages is the stage chain of a config that lists none. Language
// identification runs before the quality filter because quality rules are
// per language, and deduplication runs last so its index only holds
// documents that are kept.
var DefaultStages = []string{"normalize", "langid", "gopher_quality", "pii", "exact_dedup"}

// Config is a run's YAML configuration. Every field has a default, so an
// empty file is a valid config.
type Config struct {
	Input   InputConfig   `yaml:"input"`
	Stages  []StageConfig `yaml:"stages"`  // default DefaultStages when absent; [] runs no stage
	Output  OutputConfig  `yaml:"output"`  //
	Workers int           `yaml:"workers"` // workers per concurrent stage; default 0 means the number of CPUs
	Balance BalanceConfig `yaml:"balance"`
	// Expectations are data tests evaluated when a run commits. Nil, the
	// default, checks nothing.
	Expectations *ExpectationsConfig `yaml:"expectations"`

	// File is the config file the config came from, "" for none.
	File string `yaml:"-"`
	// DefaultChain reports that Stages is DefaultStages because the config
	// lists no stages, so the command may adapt the chain to its inputs.
	DefaultChain bool `yaml:"-"`
}

// InputConfig sets what a run reads and how record fields map to columns.
type InputConfig struct {
	// Paths are files, folders (read recursively) or glob patterns; the
	// command line's INPUT arguments replace them.
	Paths []string `yaml:"paths"`
	// Format is auto (default: by file name), jsonl, parquet, wet, warc,
	// arc, or kafka to read the topic of Kafka instead of files.
	Format string `yaml:"format"`
	// Fields maps document columns to record fields.
	Fields FieldMap `yaml:"fields"`
	// BatchSize is the maximum documents per batch (default 256).
	BatchSize int `yaml:"batch_size"`
	// BatchBytes is the maximum text bytes per batch (default 4 MiB); a
	// batch always holds at least one document.
	BatchBytes int `yaml:"batch_bytes"`
	// Kafka sets the topic and consumer group read when Format is kafka.
	Kafka KafkaConfig `yaml:"kafka"`
}

// KafkaConfig sets how a run reads a Kafka topic. Each record's value is
// one JSON document, mapped to columns by input.fields as a JSON line is.
type KafkaConfig struct {
	// Brokers are the host:port addresses first contacted (default: the
	// comma-separated list in WINNOW_KAFKA_BROKERS).
	Brokers []string `yaml:"brokers"`
	// Topic is the topic read; it is required.
	Topic string `yaml:"topic"`
	// Group is the consumer group whose members share the topic's
	// partitions (default winnow).
	Group string `yaml:"group"`
	// StartAt is the start of a partition without a committed offset:
	// earliest (default) or latest.
	StartAt string `yaml:"start_at"`
	// StopWhenIdle, when above 0, ends the input after no record arrived
	// for that long, as in 30s; 0 (default) reads until the run is stopped.
	StopWhenIdle time.Duration `yaml:"stop_when_idle"`
	// StopAtEnd ends the input once every partition this member owns has
	// been read up to the end offset it had when the run started: one pass
	// over what the topic holds now (default false).
	StopAtEnd bool `yaml:"stop_at_end"`
	// FetchMaxBytes bounds the bytes of fetched records the client buffers
	// (default 16 MiB).
	FetchMaxBytes int `yaml:"fetch_max_bytes"`
	// SessionTimeout is how long the group waits for a member that stopped
	// sending heartbeats, as after a crash, before it gives the member's
	// partitions to the others (default 45s, Kafka's). The broker bounds
	// it (6s to 30m by default).
	SessionTimeout time.Duration `yaml:"session_timeout"`
}

// ApplyDefaults fills every unset field of k with its default, the
// brokers from the environment variable KafkaBrokersEnv.
func (k *KafkaConfig) ApplyDefaults() {
	if len(k.Brokers) == 0 {
		for _, b := range strings.Split(os.Getenv(KafkaBrokersEnv), ",") {
			if b = strings.TrimSpace(b); b != "" {
				k.Brokers = append(k.Brokers, b)
			}
		}
	}
	if k.Group == "" {
		k.Group = DefaultKafkaGroup
	}
	if k.StartAt == "" {
		k.StartAt = DefaultKafkaStartAt
	}
	if k.FetchMaxBytes == 0 {
		k.FetchMaxBytes = DefaultKafkaFetchMaxBytes
	}
	if k.SessionTimeout == 0 {
		k.SessionTimeout = DefaultKafkaSessionTimeout
	}
}

// Bounds of KafkaConfig.FetchMaxBytes. The maximum is a sanity bound:
// the buffer exists to bound memory, and a fetch rarely gains from more.
const (
	minKafkaFetchMaxBytes = 1 << 10
	maxKafkaFetchMaxBytes = 256 << 20
)

// Validate checks k after ApplyDefaults and returns an error naming the
// first bad field, as in "input.kafka.topic: missing".
func (k *KafkaConfig) Validate() error {
	if len(k.Brokers) == 0 {
		return fmt.Errorf("input.kafka.brokers: missing: list the brokers as host:port, or set %s", KafkaBrokersEnv)
	}
	for i, b := range k.Brokers {
		host, port, err := net.SplitHostPort(b)
		if err == nil {
			_, err = strconv.ParseUint(port, 10, 16)
		}
		if err != nil || host == "" {
			return fmt.Errorf("input.kafka.brokers[%d]: invalid value %q: must be host:port, as in 127.0.0.1:9092", i, b)
		}
	}
	if k.Topic == "" {
		return errors.New("input.kafka.topic: missing: name the topic to read")
	}
	if !ValidKafkaTopic(k.Topic) {
		return fmt.Errorf("input.kafka.topic: invalid value %q: a topic name is 1 to 249 letters, digits, '.', '_' or '-', and not . or ..", k.Topic)
	}
	if k.Group == "" {
		return errors.New("input.kafka.group: missing: name the consumer group")
	}
	switch k.StartAt {
	case KafkaStartEarliest, KafkaStartLatest:
	default:
		return fmt.Errorf("input.kafka.start_at: invalid value %q: use earliest or latest", k.StartAt)
	}
	if k.SessionTimeout < time.Second {
		return fmt.Errorf("input.kafka.session_timeout: invalid value %s: must be at least 1s", k.SessionTimeout)
	}
	if k.StopWhenIdle < 0 {
		return fmt.Errorf("input.kafka.stop_when_idle: invalid value %s: must be 0 (read until stopped) or more", k.StopWhenIdle)
	}
	if k.FetchMaxBytes < minKafkaFetchMaxBytes || k.FetchMaxBytes > maxKafkaFetchMaxBytes {
		return fmt.Errorf("input.kafka.fetch_max_bytes: invalid value %d: must be %d to %d", k.FetchMaxBytes, minKafkaFetchMaxBytes, maxKafkaFetchMaxBytes)
	}
	return nil
}

// ValidKafkaTopic reports whether name is a legal Kafka topic name: 1 to
// 249 ASCII letters, digits, '.', '_' or '-', other than "." and "..".
func ValidKafkaTopic(name string) bool {
	if name == "" || len(name) > 249 || name == "." || name == ".." {
		return false
	}
	for _, c := range []byte(name) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
		if !ok {
			return false
		}
	}
	return true
}

// isZero reports whether no field of k is set.
func (k *KafkaConfig) isZero() bool {
	return len(k.Brokers) == 0 && k.Topic == "" && k.Group == "" && k.StartAt == "" && k.StopWhenIdle == 0 && !k.StopAtEnd && k.FetchMaxBytes == 0 && k.SessionTimeout == 0
}

// FieldMap names the record field of each document column, as a dotted path
// into nested objects ("metadata.url"). An empty entry tries the layouts of
// Dolma, C4, RedPajama and datatrove in turn.
type FieldMap struct {
	ID     string `yaml:"id"`
	Text   string `yaml:"text"`
	URL    string `yaml:"url"`
	Source string `yaml:"source"`
}

// OutputConfig sets where and how a run writes its shards.
type OutputConfig struct {
	// Root is the dataset root (default ./winnow-out); -o replaces it.
	Root string `yaml:"root"`
	// ShardMaxBytes caps a shard's file size (default 512 MiB); a shard is
	// closed at the first row group that reaches it.
	ShardMaxBytes int64 `yaml:"shard_max_bytes"`
	// RowGroupMaxBytes caps a row group's uncompressed size (default 64 MiB).
	RowGroupMaxBytes int64 `yaml:"row_group_max_bytes"`
	// ZstdLevel is the zstd level of the shards, 1 to 22 (default 3).
	ZstdLevel int `yaml:"zstd_level"`
	// Rejects writes every dropped document, with its reason, the rule's
	// measured signal and any detail (such as the kept twin of a near
	// duplicate), to Parquet files under ROOT/rejects for audit (default
	// false).
	Rejects bool `yaml:"rejects"`
	// CommitEvery sets how often a run commits while it reads. A file run
	// commits a checkpoint, which a restarted run resumes from, at the
	// first shard boundary after either limit is reached. A Kafka run
	// commits a version, and then the offsets it holds. Default: 300
	// seconds for files, 50,000 documents or 60 seconds for Kafka.
	// Setting both limits to 0 turns checkpoints off.
	CommitEvery *CommitEvery `yaml:"commit_every"`
	// MaxBytesPerSecond caps the text bytes the sink writes per second,
	// to share a store's bandwidth with other jobs; 0 (default) sets no
	// cap. The stages and the source slow down to it: a Kafka source stops
	// fetching while the pipeline is full.
	MaxBytesPerSecond int64 `yaml:"max_bytes_per_second"`
}

// CommitEvery is a commit interval: a commit is due when either limit is
// reached. A zero field sets no limit.
type CommitEvery struct {
	Docs    int64   `yaml:"docs"`    // documents written since the last commit
	Seconds float64 `yaml:"seconds"` // seconds since the last commit
}

// Default commit intervals; see OutputConfig.CommitEvery.
var (
	DefaultCommitEveryFiles = CommitEvery{Seconds: 300}
	DefaultCommitEveryKafka = CommitEvery{Docs: 50_000, Seconds: 60}
)

// Source keys of the balance accounting.
const (
	SourceByDomain = "url_domain" // host of the url column, without a leading "www."
	SourceByField  = "source"     // the source column
	SourceByInput  = "input"      // the input file the document came from
)

// BalanceConfig sets how the manifest accounts for the balance of a
// version, by language and by source, and the training mixture derived
// from it.
type BalanceConfig struct {
	// Source names what a document's source is: url_domain (default),
	// source or input.
	Source string `yaml:"source"`
	// Mixture, when set, derives per-language sampling weights from the
	// kept tokens and records them in the manifest for the loader.
	Mixture *MixtureConfig `yaml:"mixture"`
}

// MixtureConfig sets the per-language training mixture.
type MixtureConfig struct {
	// Alpha is the temperature exponent: each language's weight is
	// proportional to its tokens to the power alpha, in (0, 1]. Default 1
	// keeps the natural mix; 0.3 is what XLM-R used.
	Alpha float64 `yaml:"alpha"`
	// Targets sets the share of named languages directly, by lang label;
	// the others split the rest by alpha.
	Targets map[string]float64 `yaml:"targets"`
	// MaxRepeats caps how many times a language's tokens are expected to
	// be repeated; 0 (default) means no cap.
	MaxRepeats float64 `yaml:"max_repeats"`
	// BudgetTokens is the size of the training mix in tokens; 0 (default)
	// means the kept tokens, one pass on average.
	BudgetTokens int64 `yaml:"budget_tokens"`
}

// StageConfig is one entry of the stage list: a stage name, written either
// as a bare string or as a one-key mapping from the name to its options.
type StageConfig struct {
	Name    string
	Options *yaml.Node
	Line    int // line of the entry in the config file, 0 when not from a file
}

// lineOf returns "line N: " for a line from a config file, else "".
func lineOf(line int) string {
	if line <= 0 {
		return ""
	}
	return fmt.Sprintf("line %d: ", line)
}

// errorf returns an error that names the config file, when there is one.
func (c *Config) errorf(format string, args ...any) error {
	prefix := "config: "
	if c.File != "" {
		prefix = "config " + c.File + ": "
	}
	return fmt.Errorf(prefix+format, args...)
}

// UnmarshalYAML accepts `- normalize` and `- langid: {max_chars: 2000}`.
func (s *StageConfig) UnmarshalYAML(node *yaml.Node) error {
	s.Line = node.Line
	switch node.Kind {
	case yaml.ScalarNode:
		s.Name = node.Value
		return nil
	case yaml.MappingNode:
		if len(node.Content) != 2 {
			return fmt.Errorf("line %d: a stage entry is a name or a mapping with one key, the stage name", node.Line)
		}
		s.Name = node.Content[0].Value
		s.Options = node.Content[1]
		return nil
	}
	return fmt.Errorf("line %d: a stage entry is a name or a mapping with one key, the stage name", node.Line)
}

// MarshalYAML writes the entry back in the form UnmarshalYAML reads.
func (s StageConfig) MarshalYAML() (any, error) {
	if s.Options == nil || s.Options.Kind == 0 {
		return s.Name, nil
	}
	return map[string]*yaml.Node{s.Name: s.Options}, nil
}

// Spec returns the mixture settings as the mixture package takes them.
func (m *MixtureConfig) Spec() mixture.Spec {
	return mixture.Spec{Alpha: m.Alpha, Targets: m.Targets, MaxRepeats: m.MaxRepeats, Budget: m.BudgetTokens}
}

// LoadConfig reads a config file, rejecting unknown fields, and applies the
// defaults. Relative paths in the file (input.paths, output.root) are
// relative to the file's folder, so a config works from any directory.
func LoadConfig(path string) (*Config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	explicitRoot := false
	cfg, err := parseConfig(raw, &explicitRoot)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	cfg.File = path
	dir := filepath.Dir(path)
	for i, p := range cfg.Input.Paths {
		// URLs such as s3://bucket/prefix are not paths in the config's folder.
		if !filepath.IsAbs(p) && !strings.Contains(p, "://") {
			cfg.Input.Paths[i] = filepath.Join(dir, p)
		}
	}
	if explicitRoot && !filepath.IsAbs(cfg.Output.Root) && !strings.Contains(cfg.Output.Root, "://") {
		cfg.Output.Root = filepath.Join(dir, cfg.Output.Root)
	}
	return cfg, nil
}

// ParseConfig parses a YAML config, rejecting unknown fields, and applies
// the defaults. It does not validate; call Validate after applying the
// command line.
func ParseConfig(raw []byte) (*Config, error) {
	return parseConfig(raw, nil)
}

// parseConfig parses raw and, when rootSet is not nil, reports whether the
// file set output.root.
func parseConfig(raw []byte, rootSet *bool) (*Config, error) {
	cfg := &Config{}
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("parsing config: %w", err)
	}
	// Stage options are checked when each stage decodes them.
	if err := checkKnownFields(&doc, reflect.TypeOf(cfg), ""); err != nil {
		return nil, err
	}
	if err := checkKafkaDuration(&doc); err != nil {
		return nil, err
	}
	if err := checkIntegers(&doc, reflect.TypeOf(cfg), ""); err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("parsing config: %w", nameFields(&doc, err))
	}
	if rootSet != nil {
		*rootSet = cfg.Output.Root != ""
	}
	cfg.ApplyDefaults()
	return cfg, nil
}

// checkKafkaDuration reports an input.kafka.stop_when_idle that is not a
// duration with a unit. yaml.v3 rejects a bare number for a time.Duration
// with an error that does not name the field.
func checkKafkaDuration(doc *yaml.Node) error {
	for _, key := range []string{"stop_when_idle", "session_timeout"} {
		node := mappingValue(mappingValue(mappingValue(doc, "input"), "kafka"), key)
		if node == nil {
			continue
		}
		if node.Kind == yaml.ScalarNode && node.ShortTag() == "!!str" {
			if _, err := time.ParseDuration(node.Value); err == nil {
				continue
			}
		}
		return fmt.Errorf("line %d: input.kafka.%s: invalid value %q: must be a duration with a unit, such as 30s or 5m", node.Line, key, node.Value)
	}
	return nil
}

// typeErrorLine matches one error of a yaml.TypeError.
var typeErrorLine = regexp.MustCompile(`^line (\d+): (.*)$`)

// nameFields adds the dotted name of the field to each error of a
// yaml.TypeError, which gives only the line and Go's type, as in
// "line 5: output.commit_every.seconds: cannot unmarshal !!str `abc`
// into float64".
func nameFields(doc *yaml.Node, err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return err
	}
	msgs := make([]string, len(te.Errors))
	for i, e := range te.Errors {
		msgs[i] = e
		m := typeErrorLine.FindStringSubmatch(e)
		if m == nil {
			continue
		}
		line, _ := strconv.Atoi(m[1])
		if field := fieldAtLine(doc, line, ""); field != "" {
			msgs[i] = fmt.Sprintf("line %d: %s: %s", line, field, m[2])
		}
	}
	return errors.New(strings.Join(msgs, "; "))
}

// fieldAtLine returns the dotted name of the deepest mapping key whose
// value starts on line, or "".
func fieldAtLine(node *yaml.Node, line int, path string) string {
	if node == nil {
		return ""
	}
	switch node.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for i, c := range node.Content {
			p := path
			if node.Kind == yaml.SequenceNode {
				p = fmt.Sprintf("%s[%d]", path, i)
			}
			if f := fieldAtLine(c, line, p); f != "" {
				return f
			}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(node.Content); i += 2 {
			key, value := node.Content[i], node.Content[i+1]
			p := joinPath(path, key.Value)
			if f := fieldAtLine(value, line, p); f != "" {
				return f
			}
			if value.Line == line || key.Line == line {
				return p
			}
		}
	}
	return ""
}

// mappingValue returns the value of key in the mapping node, or in the
// mapping that a document node holds, or nil.
func mappingValue(node *yaml.Node, key string) *yaml.Node {
	if node != nil && node.Kind == yaml.DocumentNode && len(node.Content) == 1 {
		node = node.Content[0]
	}
	if node == nil || node.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(node.Content); i += 2 {
		if node.Content[i].Value == key {
			return node.Content[i+1]
		}
	}
	return nil
}

// ApplyDefaults fills every unset field with its default.
func (c *Config) ApplyDefaults() {
	if c.Input.Format == "" {
		c.Input.Format = "auto"
	}
	if c.Input.BatchSize == 0 {
		c.Input.BatchSize = DefaultBatchSize
	}
	if c.Input.BatchBytes == 0 {
		c.Input.BatchBytes = DefaultBatchBytes
	}
	if c.Input.Format == FormatKafka {
		c.Input.Kafka.ApplyDefaults()
	}
	if c.Stages == nil {
		c.DefaultChain = true
		for _, name := range DefaultStages {
			c.Stages = append(c.Stages, StageConfig{Name: name})
		}
	}
	if c.Output.Root == "" {
		c.Output.Root = DefaultOutputRoot
	}
	if c.Balance.Source == "" {
		c.Balance.Source = SourceByDomain
	}
	if m := c.Balance.Mixture; m != nil && m.Alpha == 0 {
		m.Alpha = 1
	}
	if c.Output.ShardMaxBytes == 0 {
		c.Output.ShardMaxBytes = DefaultShardMaxBytes
	}
	if c.Output.RowGroupMaxBytes == 0 {
		c.Output.RowGroupMaxBytes = DefaultRowGroupMaxBytes
	}
	if c.Output.ZstdLevel == 0 {
		c.Output.ZstdLevel = DefaultZstdLevel
	}
	if c.Output.CommitEvery == nil {
		every := DefaultCommitEveryFiles
		if c.Input.Format == "kafka" {
			every = DefaultCommitEveryKafka
		}
		c.Output.CommitEvery = &every
	}
}

// Validate checks every field and returns an error naming the first bad
// field and its value. Stage options are checked when the stages are built.
func (c *Config) Validate() error {
	switch c.Input.Format {
	case "auto", "jsonl", "parquet", "wet", "warc", "arc":
		if !c.Input.Kafka.isZero() {
			return c.errorf("input.kafka: set, but input.format is %q: set input.format to kafka to read the topic, or remove input.kafka", c.Input.Format)
		}
	case FormatKafka:
		if len(c.Input.Paths) > 0 {
			return c.errorf("input.paths: invalid value %q with input.format kafka: a Kafka input reads input.kafka.topic, so remove the paths", c.Input.Paths)
		}
		if err := c.Input.Kafka.Validate(); err != nil {
			return c.errorf("%w", err)
		}
	default:
		return c.errorf("input.format: invalid value %q: use auto, jsonl, parquet, wet, warc, arc or kafka", c.Input.Format)
	}
	if c.Input.BatchSize < 1 {
		return c.errorf("input.batch_size: invalid value %d: must be at least 1", c.Input.BatchSize)
	}
	if c.Input.BatchBytes < 1 {
		return c.errorf("input.batch_bytes: invalid value %d: must be at least 1", c.Input.BatchBytes)
	}
	switch c.Balance.Source {
	case SourceByDomain, SourceByField, SourceByInput:
	default:
		return c.errorf("balance.source: invalid value %q: use url_domain, source or input", c.Balance.Source)
	}
	if m := c.Balance.Mixture; m != nil {
		spec := m.Spec()
		if err := spec.Validate(); err != nil {
			return c.errorf("balance.mixture: %w", err)
		}
	}
	if err := c.Expectations.Validate(); err != nil {
		return err
	}
	if c.Workers < 0 {
		return c.errorf("workers: invalid value %d: must be 0 (one per CPU) or more", c.Workers)
	}
	if c.Output.ShardMaxBytes < 1<<10 {
		return c.errorf("output.shard_max_bytes: invalid value %d: must be at least 1024", c.Output.ShardMaxBytes)
	}
	if c.Output.RowGroupMaxBytes < 1<<10 {
		return c.errorf("output.row_group_max_bytes: invalid value %d: must be at least 1024", c.Output.RowGroupMaxBytes)
	}
	if c.Output.ZstdLevel < 1 || c.Output.ZstdLevel > 22 {
		return c.errorf("output.zstd_level: invalid value %d: must be 1 to 22", c.Output.ZstdLevel)
	}
	if c.Output.MaxBytesPerSecond < 0 {
		return c.errorf("output.max_bytes_per_second: invalid value %d: must be 0 (no cap) or more", c.Output.MaxBytesPerSecond)
	}
	if e := c.Output.CommitEvery; e != nil && e.Docs < 0 {
		return c.errorf("output.commit_every.docs: invalid value %d: must be 0 (no limit) or more", e.Docs)
	}
	if e := c.Output.CommitEvery; e != nil && e.Seconds < 0 {
		return c.errorf("output.commit_every.seconds: invalid value %g: must be 0 (no limit) or more", e.Seconds)
	}
	seen := map[string]bool{}
	for i, s := range c.Stages {
		if _, ok := Lookup(s.Name); !ok {
			return c.errorf("%sstages[%d]: unknown stage %q; `winnow stages` lists them: %s", lineOf(s.Line), i, s.Name, strings.Join(stageNames(), ", "))
		}
		if seen[s.Name] {
			return c.errorf("%sstages[%d]: stage %q is listed twice", lineOf(s.Line), i, s.Name)
		}
		seen[s.Name] = true
	}
	return nil
}

func stageNames() []string {
	var names []string
	for _, s := range Specs() {
		names = append(names, s.Name)
	}
	return names
}
