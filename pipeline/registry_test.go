package pipeline

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

type testOptions struct {
	Threshold float64  `yaml:"threshold" doc:"Drop below this score (default 0.5)."`
	Words     []string `yaml:"words" doc:"Words to count."`
}

func (o *testOptions) Validate() error {
	if o.Threshold < 0 || o.Threshold > 1 {
		return fmt.Errorf("threshold: invalid value %v: must be in [0, 1]", o.Threshold)
	}
	return nil
}

type nopStage struct{ opts testOptions }

func (nopStage) Process(context.Context, *Batch) error { return nil }

func init() {
	Register("test_nop", "Does nothing; used by the engine's tests.", true,
		testOptions{Threshold: 0.5, Words: []string{"a"}},
		func(o testOptions, env Env) (Stage, error) { return nopStage{o}, nil })
}

func TestConfigStageOptions(t *testing.T) {
	cfg, err := ParseConfig([]byte("stages:\n  - test_nop: {threshold: 0.25}\n  - normalize_not_registered\n"))
	if err != nil {
		t.Fatalf("ParseConfig: %v", err)
	}
	spec, ok := Lookup(cfg.Stages[0].Name)
	if !ok {
		t.Fatal("test_nop not registered")
	}
	opts, err := spec.Decode(cfg.Stages[0].Options)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if got := opts.(testOptions); got.Threshold != 0.25 || len(got.Words) != 1 {
		t.Errorf("decoded options = %+v, want threshold 0.25 and the default words", got)
	}
	err = cfg.Validate()
	if err == nil || !strings.Contains(err.Error(), `stages[1]: unknown stage "normalize_not_registered"`) {
		t.Errorf("Validate error = %v, want the unknown stage named", err)
	}
}

func TestConfigRejectsBadOptions(t *testing.T) {
	spec, _ := Lookup("test_nop")
	for _, tc := range []struct{ yaml, want string }{
		{"stages: [test_nop: {threshold: 2}]", "threshold: invalid value 2"},
		{"stages: [test_nop: {treshold: 0.1}]", `line 1: unknown field "treshold"; valid fields: threshold, words`},
		{"stages: [test_nop: {words: 3}]", "invalid options"},
	} {
		cfg, err := ParseConfig([]byte(tc.yaml))
		if err != nil {
			t.Fatalf("ParseConfig(%q): %v", tc.yaml, err)
		}
		_, err = spec.Decode(cfg.Stages[0].Options)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "stage test_nop") {
			t.Errorf("Decode(%q) error = %v, want it to name the stage and contain %q", tc.yaml, err, tc.want)
		}
	}
}

func TestConfigRejectsUnknownField(t *testing.T) {
	_, err := ParseConfig([]byte("input:\n  batchsize: 10\n"))
	if err == nil || !strings.Contains(err.Error(), `line 2: unknown field "input.batchsize"`) {
		t.Fatalf("ParseConfig error = %v, want the unknown field named", err)
	}
}

func TestConfigValidateNamesField(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"input: {format: csv}", `input.format: invalid value "csv"`},
		{"input: {batch_size: -1}", "input.batch_size: invalid value -1"},
		{"output: {zstd_level: 40}", "output.zstd_level: invalid value 40"},
		{"workers: -2", "workers: invalid value -2"},
		{"stages: [test_nop, test_nop]", `stage "test_nop" is listed twice`},
	} {
		cfg, err := ParseConfig([]byte(tc.yaml))
		if err != nil {
			t.Fatalf("ParseConfig(%q): %v", tc.yaml, err)
		}
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate(%q) = %v, want it to contain %q", tc.yaml, err, tc.want)
		}
	}
}

func TestDescribeOptions(t *testing.T) {
	spec, _ := Lookup("test_nop")
	if len(spec.Options) != 2 {
		t.Fatalf("got %d options, want 2", len(spec.Options))
	}
	o := spec.Options[0]
	if o.Name != "threshold" || o.Default != "0.5" || o.Type != "float64" || !strings.Contains(o.Doc, "default 0.5") {
		t.Errorf("threshold option described as %+v", o)
	}
}

func TestConfigRejectsFractionForInteger(t *testing.T) {
	if _, err := ParseConfig([]byte("output: {zstd_level: 0.5}")); err == nil || !strings.Contains(err.Error(), "output.zstd_level: invalid value 0.5") {
		t.Errorf("ParseConfig error = %v, want output.zstd_level named", err)
	}
	if cfg, err := ParseConfig([]byte("output: {zstd_level: 7.0}")); err != nil || cfg.Output.ZstdLevel != 7 {
		t.Errorf("zstd_level 7.0: config %+v, error %v; want 7", cfg.Output, err)
	}
	type opts struct {
		Sizes []int `yaml:"sizes"`
	}
	var o opts
	var node yaml.Node
	if err := yaml.Unmarshal([]byte("sizes: [1, 2.5]"), &node); err != nil {
		t.Fatal(err)
	}
	if err := decodeStrict(node.Content[0], &o); err == nil || !strings.Contains(err.Error(), "sizes[1]: invalid value 2.5") {
		t.Errorf("decodeStrict error = %v, want sizes[1] named", err)
	}
}

func TestConfigEmptyStageList(t *testing.T) {
	cfg, err := ParseConfig([]byte("stages: []"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Stages) != 0 {
		t.Errorf("stages: [] gave %d stages, want none", len(cfg.Stages))
	}
	cfg, err = ParseConfig([]byte("workers: 1"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Stages) != len(DefaultStages) {
		t.Errorf("a config without stages gave %d stages, want the default chain", len(cfg.Stages))
	}
}

func TestLoadConfigRelativePaths(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "winnow.yaml")
	if err := os.WriteFile(path, []byte("input: {paths: [data/a.jsonl, /abs/b.jsonl]}\noutput: {root: out}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Input.Paths[0] != filepath.Join(dir, "data/a.jsonl") || cfg.Input.Paths[1] != "/abs/b.jsonl" {
		t.Errorf("input paths %v, want them relative to %s", cfg.Input.Paths, dir)
	}
	if cfg.Output.Root != filepath.Join(dir, "out") || cfg.File != path {
		t.Errorf("output root %q, file %q", cfg.Output.Root, cfg.File)
	}

	if err := os.WriteFile(path, []byte("input:\n  format: jsonl\n  bogus: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = LoadConfig(path)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("LoadConfig error = %v, want the file and line 3 named", err)
	}
}
