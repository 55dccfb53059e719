// Package testutil holds helpers shared by winnow's tests.
package testutil

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// duckDBDir is the harness folder, relative to the repository root.
const duckDBDir = "tools/duckdb"

// DuckDBQuery runs sql with DuckDB, through `node tools/duckdb/query.mjs`,
// and returns the result rows keyed by column name. Tests use it to check
// that another engine reads winnow's Parquet files as winnow meant them.
//
// Values decode as encoding/json does into any: strings, float64, bool,
// nil, []any and map[string]any. Integers that do not fit a float64
// exactly (beyond 2^53) arrive as decimal strings, and BLOBs as base64.
// Relative paths in sql resolve against the test's working directory.
//
// DuckDBQuery fails the test, and never skips it, when node or the
// harness's node_modules is missing: `make test-deps` installs them.
func DuckDBQuery(t testing.TB, sql string) []map[string]any {
	t.Helper()
	script := duckDBScript(t)

	cmd := exec.CommandContext(t.Context(), "node", script)
	cmd.Stdin = strings.NewReader(sql)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		var exitErr *exec.ExitError
		if errors.Is(err, exec.ErrNotFound) {
			t.Fatalf("DuckDB harness: node not found on PATH (%v): install Node 20 or later, then run `make test-deps`", err)
		}
		if errors.As(err, &exitErr) {
			t.Fatalf("DuckDB harness: query failed: %s\nSQL:\n%s", strings.TrimSpace(stderr.String()), sql)
		}
		t.Fatalf("DuckDB harness: running node %s: %v", script, err)
	}
	return decodeRows(t, stdout.Bytes())
}

// decodeRows parses the JSON lines that query.mjs prints.
func decodeRows(t testing.TB, out []byte) []map[string]any {
	t.Helper()
	rows := []map[string]any{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var row map[string]any
		err := dec.Decode(&row)
		if errors.Is(err, io.EOF) {
			return rows
		}
		if err != nil {
			t.Fatalf("DuckDB harness: decoding row %d of the output: %v", len(rows)+1, err)
		}
		rows = append(rows, row)
	}
}

// duckDBScript returns the absolute path of query.mjs after checking that
// its dependencies are installed.
func duckDBScript(t testing.TB) string {
	t.Helper()
	root, err := RepoRoot()
	if err != nil {
		t.Fatalf("DuckDB harness: %v", err)
	}
	dir := filepath.Join(root, filepath.FromSlash(duckDBDir))
	module := filepath.Join(dir, "node_modules", "@duckdb", "node-api")
	if _, err := os.Stat(module); err != nil {
		t.Fatalf("DuckDB harness: %s is missing; run `make test-deps` (it runs `npm ci` in %s)", module, duckDBDir)
	}
	return filepath.Join(dir, "query.mjs")
}

// RepoRoot returns the repository root: the nearest folder at or above the
// working directory that holds both go.mod and tools/duckdb. Go runs each
// test in its package's folder, so this finds the root from any package.
func RepoRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if isRepoRoot(dir) {
			return dir, nil
		}
		if filepath.Dir(dir) == dir {
			return "", fmt.Errorf("repository root not found: no folder at or above %s contains go.mod and %s", wd, duckDBDir)
		}
	}
}

func isRepoRoot(dir string) bool {
	for _, name := range []string{"go.mod", filepath.FromSlash(duckDBDir)} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			return false
		}
	}
	return true
}
