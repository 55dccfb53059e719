package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/winnow-data/winnow/pipeline"
	"github.com/winnow-data/winnow/stages"
)

// dedupCommand runs one worker of the global near-duplicate pass over a
// committed version. Each worker searches the LSH bands b with b % workers
// == worker and writes its verified pairs under ROOT/dedup; the worker that
// finds every worker's pairs written resolves them with the keeper rule and
// commits a version that deletes the duplicates without rewriting shards.
func dedupCommand(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("winnow dedup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	version := fs.String("version", "latest", "version to deduplicate")
	worker := fs.Int("worker", 0, "this worker's index, 0 to workers-1 (a Kubernetes Indexed Job's JOB_COMPLETION_INDEX)")
	workers := fs.Int("workers", 1, "number of workers sharing the pass")
	config := fs.String("c", "", "YAML config whose near_dedup entry sets the MinHash options (default: near_dedup's defaults)")
	keep := fs.String("keep", "first", "document kept of each cluster: first (input order), longest, max:lang_score or max:token_count")
	message := fs.String("m", "", "message to record in the new version's manifest")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return usageError{fmt.Errorf("dedup takes one ROOT, got %q", pos)}
	}
	if *workers < 1 || *worker < 0 || *worker >= *workers {
		return usageError{fmt.Errorf("--worker %d --workers %d: want 0 <= worker < workers", *worker, *workers)}
	}
	root := pipeline.DefaultOutputRoot
	if len(pos) == 1 {
		root = pos[0]
	}
	logger, err := newLogger(stderr, "text", "info")
	if err != nil {
		return err
	}

	store, err := openLocalRoot(root)
	if err != nil {
		return usageError{err}
	}
	base, err := readVersion(store, *version)
	if err != nil {
		return usageError{err}
	}
	opts, err := nearDedupOptions(*config)
	if err != nil {
		return usageError{err}
	}
	if latest, err := pipeline.LatestVersion(store); err != nil || latest != base.ID {
		if m, rerr := pipeline.ReadManifest(store, latest); err != nil || rerr != nil || m.DedupOf != base.ID {
			return usageError{fmt.Errorf("--version %s: the latest version is %s; a pass commits on top of the latest version, so deduplicate that one", base.ID, latest)}
		}
	}
	ctx := context.Background()
	index, err := stages.LoadGlobalIndex(ctx, root, base, opts)
	if err != nil {
		return err
	}
	if _, err := index.KeeperOrder(*keep); err != nil {
		return usageError{fmt.Errorf("--keep: %w", err)}
	}

	passDir, passID, err := passFolder(root, base.ID, opts, *keep, *workers)
	if err != nil {
		return err
	}
	pairs := index.FindPairs(*worker, *workers)
	var buf bytes.Buffer
	if err := index.WritePairs(&buf, pairs); err != nil {
		return err
	}
	if err := store.WriteFile(pairsPath(passDir, *worker, *workers), buf.Bytes()); err != nil {
		return fmt.Errorf("writing pairs: %w", err)
	}
	logger.Info("pairs written", "version", base.ID, "worker", *worker, "workers", *workers, "docs", len(index.Docs), "pairs", len(pairs))

	for w := range *workers {
		if _, err := store.Stat(pairsPath(passDir, w, *workers)); err != nil {
			fmt.Fprintf(stdout, "worker %d of %d done; worker %d has not written its pairs yet, and the last worker to finish commits\n", *worker, *workers, w)
			return nil
		}
	}
	id, removed, err := commitDedup(store, base, index, passDir, passID, *keep, *workers, *message, opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "version %s committed: %d of %d documents of version %s removed as near duplicates\n", id, removed, len(index.Docs), base.ID)
	return nil
}

// readVersion reads the version ref names: "latest", an id, a unique id
// prefix of 4 or more hex digits, or a tag.
func readVersion(store pipeline.Store, ref string) (*pipeline.Manifest, error) {
	id, err := pipeline.ResolveVersion(store, ref)
	if err != nil {
		return nil, err
	}
	return pipeline.ReadManifest(store, id)
}

// nearDedupOptions decodes the near_dedup entry of a config file, or
// returns the defaults.
func nearDedupOptions(path string) (stages.NearDedupOptions, error) {
	spec, _ := pipeline.Lookup("near_dedup")
	if path == "" {
		opts, err := spec.Decode(nil)
		return opts.(stages.NearDedupOptions), err
	}
	cfg, err := pipeline.LoadConfig(path)
	if err != nil {
		return stages.NearDedupOptions{}, err
	}
	for _, s := range cfg.Stages {
		if s.Name == "near_dedup" {
			opts, err := spec.Decode(s.Options)
			if err != nil {
				return stages.NearDedupOptions{}, fmt.Errorf("config %s: %w", path, err)
			}
			return opts.(stages.NearDedupOptions), nil
		}
	}
	return stages.NearDedupOptions{}, fmt.Errorf("config %s has no near_dedup stage to take options from", path)
}

// passFolder names the folder of one pass: the version, and a hash of what
// decides its result, so workers with other options never mix pairs.
func passFolder(root, version string, opts stages.NearDedupOptions, keep string, workers int) (string, string, error) {
	raw, err := json.Marshal(map[string]any{"near_dedup": toPlain(opts), "keep": keep, "workers": workers})
	if err != nil {
		return "", "", err
	}
	sum := sha256.Sum256(raw)
	passID := hex.EncodeToString(sum[:])[:12]
	return "dedup/" + version + "-" + passID, passID, nil
}

func pairsPath(dir string, worker, workers int) string {
	return fmt.Sprintf("%s/pairs-%d-of-%d.tsv", dir, worker, workers)
}

// commitDedup resolves every worker's pairs and commits the version that
// deletes the duplicates. Under the commit lock it first checks that no
// other worker committed this pass already, so a pass commits once.
func commitDedup(store *pipeline.LocalStore, base *pipeline.Manifest, index *stages.GlobalIndex, passDir, passID, keep string,
	workers int, message string, opts stages.NearDedupOptions) (string, int, error) {
	unlock, err := store.LockCommits(commitLockWait)
	if err != nil {
		return "", 0, err
	}
	defer unlock()

	latest, err := pipeline.LatestVersion(store)
	if err != nil {
		return "", 0, err
	}
	if latest != base.ID {
		if m, err := pipeline.ReadManifest(store, latest); err == nil && m.DedupOf == base.ID && passOf(m) == passID {
			// Another worker of this pass committed it first.
			return latest, int(m.Stages[0].Dropped["near_duplicate"]), nil
		}
		return "", 0, fmt.Errorf("the latest version is %s, not %s: deduplicate the latest version instead", latest, base.ID)
	}

	var pairs []stages.Pair
	for w := range workers {
		raw, err := os.ReadFile(filepath.Join(store.Root(), filepath.FromSlash(pairsPath(passDir, w, workers))))
		if err != nil {
			return "", 0, fmt.Errorf("reading the pairs of worker %d: %w", w, err)
		}
		p, err := index.ReadPairs(bytes.NewReader(raw))
		if err != nil {
			return "", 0, fmt.Errorf("reading the pairs of worker %d: %w", w, err)
		}
		pairs = append(pairs, p...)
	}
	order, err := index.KeeperOrder(keep)
	if err != nil {
		return "", 0, err
	}
	removed := stages.Resolve(len(index.Docs), pairs, order)

	m := dedupManifest(base, index, removed, keep, message, passID, opts)
	id, err := pipeline.Commit(store, m)
	if err != nil {
		return "", 0, fmt.Errorf("committing version: %w", err)
	}
	return id, len(removed), nil
}

// passOf returns the pass id recorded in a manifest made by dedup.
func passOf(m *pipeline.Manifest) string {
	config, _ := m.Config.(map[string]any)
	dedup, _ := config["dedup"].(map[string]any)
	pass, _ := dedup["pass"].(string)
	return pass
}

// dedupManifest is base with the removed documents deleted.
func dedupManifest(base *pipeline.Manifest, index *stages.GlobalIndex, removed []int, keep, message, passID string, opts stages.NearDedupOptions) *pipeline.Manifest {
	m := *base
	m.ID, m.Tag, m.Message, m.CreatedAt = "", "", message, time.Now().UTC()
	m.Parent, m.DedupOf = base.ID, base.ID
	m.Winnow = pipeline.BuildInfo{Version: Version(), Revision: Revision()}
	m.Rejects = nil
	// The pass removes documents without reading their languages and
	// sources, so the base's balance no longer describes this version.
	m.Balance = nil
	// The base's data tests judged the base's documents, not this version's.
	m.Expectations = nil
	// The config keeps the base version's, so --dedup-against can check this
	// version's signatures as it checks the base's, and adds the pass.
	config := map[string]any{}
	if baseConfig, ok := base.Config.(map[string]any); ok {
		for k, v := range baseConfig {
			config[k] = v
		}
	}
	config["dedup"] = map[string]any{"of": base.ID, "pass": passID, "near_dedup": toPlain(opts), "keep": keep}
	m.Config = config
	raw, _ := json.Marshal(m.Config)
	sum := sha256.Sum256(raw)
	m.ConfigHash = hex.EncodeToString(sum[:])

	byShard := map[string][]int64{}
	m.Languages = cloneTotalsMap(base.Languages)
	m.Sources = cloneTotalsMap(base.Sources)
	for _, d := range removed {
		doc := index.Docs[d]
		byShard[doc.Shard] = append(byShard[doc.Shard], doc.Row)
		minus := pipeline.Totals{Docs: 1, Bytes: int64(doc.Length), Tokens: doc.Tokens}
		m.Totals = subTotals(m.Totals, minus)
		m.Languages[orUnknown(doc.Lang, "und")] = subTotals(m.Languages[orUnknown(doc.Lang, "und")], minus)
		m.Sources[orUnknown(doc.Source, "unknown")] = subTotals(m.Sources[orUnknown(doc.Source, "unknown")], minus)
	}
	m.Deletions = slices.Clone(base.Deletions)
	for _, sh := range base.Shards {
		if rows := byShard[sh.Path]; len(rows) > 0 {
			slices.Sort(rows)
			m.Deletions = append(m.Deletions, pipeline.Deletion{Shard: sh.Path, Rows: rows, Reason: "near_duplicate"})
		}
	}
	m.Stages = []pipeline.StageRecord{{
		Name: "dedup", DocsIn: int64(len(index.Docs)), DocsOut: int64(len(index.Docs) - len(removed)),
		Dropped: map[string]int64{"near_duplicate": int64(len(removed))},
	}}
	return &m
}

func subTotals(a, b pipeline.Totals) pipeline.Totals {
	return pipeline.Totals{Docs: a.Docs - b.Docs, Bytes: a.Bytes - b.Bytes, Tokens: a.Tokens - b.Tokens}
}

func cloneTotalsMap(in map[string]pipeline.Totals) map[string]pipeline.Totals {
	out := make(map[string]pipeline.Totals, len(in))
	for k, v := range in {
		out[k] = v
	}
	return out
}

func orUnknown(s, unknown string) string {
	if s == "" {
		return unknown
	}
	return s
}
