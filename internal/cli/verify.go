package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"

	"github.com/winnow-data/winnow/pipeline"
)

// verifyCommand prints the data tests of a version and exits with
// exitExpectation when one failed, for CI jobs that gate a release. By
// default it reports the results stored at commit; with -c it evaluates
// that config's expectations now, against the version and its parent.
func verifyCommand(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("winnow verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	config := fs.String("c", "", "evaluate the expectations section of this YAML config now, instead of the results stored at commit")
	checksums := fs.Bool("checksums", false, "also recompute every shard's SHA-256 against the manifest")
	jsonOut := fs.Bool("json", false, "print the results as JSON")
	pos, err := parseCommandFlags(fs, args)
	if err != nil {
		return err
	}
	store, err := openRoot("verify takes ROOT and VERSION", pos, 2)
	if err != nil {
		return err
	}
	ref := "latest"
	if len(pos) == 2 {
		ref = pos[1]
	}
	id, err := pipeline.ResolveVersion(store, ref)
	if err != nil {
		return usageError{err}
	}
	m, err := pipeline.ReadManifest(store, id)
	if err != nil {
		return err
	}

	rec := m.Expectations
	source := "stored when the version was committed"
	if *config != "" {
		if rec, err = evaluateConfig(store, *config, m); err != nil {
			return err
		}
		source = "evaluated now from " + *config
	}
	if *checksums {
		if err := pipeline.VerifyShards(store, m); err != nil {
			return err
		}
	}

	if *jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(map[string]any{"version": id, "source": source, "expectations": rec, "checksums_verified": *checksums}); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(stdout, "version %s: data tests %s\n", id, source)
		if *checksums {
			fmt.Fprintf(stdout, "every shard's checksum matches the manifest (%d shards)\n", len(m.Shards))
		}
		if rec == nil {
			fmt.Fprintln(stdout, "no data tests: the run's config had no expectations section; pass -c CONFIG to evaluate one")
			return nil
		}
		writeExpectations(stdout, rec)
	}
	if rec != nil && rec.Failed > 0 {
		var failed []pipeline.ExpectationResult
		for _, r := range rec.Results {
			if r.Status == pipeline.ExpectFail {
				failed = append(failed, r)
			}
		}
		return &expectationError{version: id, failed: failed, listed: !*jsonOut}
	}
	return nil
}

// evaluateConfig evaluates the expectations of the config file path on m
// and its parent. A parent that no longer exists skips the drift checks.
func evaluateConfig(store pipeline.Store, path string, m *pipeline.Manifest) (*pipeline.ExpectationsRecord, error) {
	cfg, err := pipeline.LoadConfig(path)
	if err != nil {
		return nil, usageError{err}
	}
	if cfg.Expectations == nil {
		return nil, usageError{fmt.Errorf("config %s has no expectations section", path)}
	}
	if err := cfg.Expectations.Validate(); err != nil {
		return nil, usageError{fmt.Errorf("config %s: %w", path, err)}
	}
	var parent *pipeline.Manifest
	if m.Parent != "" {
		parent, err = pipeline.ReadManifest(store, m.Parent)
		if errors.Is(err, fs.ErrNotExist) {
			parent, err = nil, nil
		}
		if err != nil {
			return nil, err
		}
	}
	results, err := newStoreEvaluator(context.Background(), store).evaluate(cfg.Expectations, m, parent)
	if err != nil {
		return nil, err
	}
	return pipeline.NewExpectationsRecord(results), nil
}
