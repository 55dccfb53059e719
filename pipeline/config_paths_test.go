package pipeline

import (
	"os"
	"path/filepath"
	"testing"
)

func TestLoadConfigKeepsURLInputs(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "winnow.yaml")
	if err := os.WriteFile(path, []byte("input: {paths: [s3://crawl/2019-30/, data/]}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Input.Paths[0]; got != "s3://crawl/2019-30/" {
		t.Errorf("URL input = %q, want it unchanged", got)
	}
	if got := cfg.Input.Paths[1]; got != filepath.Join(dir, "data") {
		t.Errorf("relative input = %q, want it joined to the config's folder", got)
	}
}
