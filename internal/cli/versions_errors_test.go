package cli

import (
	"strings"
	"testing"
)

func TestVersionCommandErrors(t *testing.T) {
	root := t.TempDir()
	input := writeFile(t, "docs.jsonl", `{"id":"a","text":"one document","url":"https://example.com/a"}`+"\n")
	v1 := mustRun(t, "-o", root, "--only", "normalize", input).Version
	noExpectations := writeFile(t, "plain.yaml", "stages: [normalize]\n")

	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"tag with a reserved name", []string{"tag", root, v1, "latest"}, exitUsage, `invalid tag name "latest"`},
		{"tag of an unknown version", []string{"tag", root, "nope", "v1"}, exitUsage, `"nope" is not a version id, tag or latest`},
		{"tag with two arguments", []string{"tag", root, v1}, exitUsage, "tag takes ROOT, VERSION and NAME"},
		{"delete a missing tag", []string{"tag", "--delete", root, "missing"}, 1, "reading tag missing"},
		{"rollback without a version", []string{"rollback", root}, exitUsage, "rollback takes ROOT and VERSION"},
		{"rollback to an unknown version", []string{"rollback", root, "0123456789abcdef"}, exitUsage, "0123456789abcdef"},
		{"diff with one version", []string{"diff", root, v1}, exitUsage, "diff takes ROOT, V1 and V2"},
		{"lineage without an id", []string{"lineage", root}, exitUsage, "lineage takes ROOT and DOC_ID"},
		{"gc with a negative keep", []string{"gc", "--keep-last", "-1", root}, exitUsage, "--keep-last: invalid value -1"},
		{"forget without a selection", []string{"forget", root, "-m", "why"}, exitUsage, "forget needs --id, --url-prefix or --ids-file"},
		{"forget without a reason", []string{"forget", root, "--id", "a"}, exitUsage, "-m: missing"},
		{"forget a prefix without a host", []string{"forget", root, "--url-prefix", "http", "-m", "why"}, exitUsage, `invalid url prefix "http"`},
		{"forget from a missing ids file", []string{"forget", root, "--ids-file", "/nonexistent/ids.txt", "-m", "why"}, exitUsage, "--ids-file"},
		{"verify a config without expectations", []string{"verify", "-c", noExpectations, root}, exitUsage, "has no expectations section"},
		{"fail on expectation without any", []string{"run", "--fail-on-expectation", "-c", noExpectations, "-o", root, input}, exitUsage, "--fail-on-expectation: the config has no expectations section"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr, tc.code, tc.want)
			}
		})
	}

	// A URL prefix forgets every document under it, and nothing else.
	other := writeFile(t, "other.jsonl", `{"id":"b","text":"another document","url":"https://example.org/b"}`+"\n")
	mustRun(t, "-o", root, "--only", "normalize", "--append", other)
	out := mustCLI(t, 0, "forget", root, "--url-prefix", "https://example.com/", "-m", "takedown of example.com")
	if !strings.Contains(out, "1 row matched in 1 shard") {
		t.Errorf("forget --url-prefix:\n%s", out)
	}
	if ids := versionIDs(t, root, latestManifest(t, root)); len(ids) != 1 || ids[0] != "b" {
		t.Errorf("ids left after forgetting example.com: %v, want [b]", ids)
	}
}
