package stages

import (
	"strings"
	"testing"

	"github.com/winnow-data/winnow/pipeline"
)

// checkBuild builds the stage called name from options, a YAML mapping, and
// checks that it fails with an error containing wantErr, or succeeds when
// wantErr is "".
func checkBuild(t *testing.T, name, options, wantErr string) {
	t.Helper()
	spec, _ := pipeline.Lookup(name)
	_, err := spec.Build(yamlNode(t, options), pipeline.Env{})
	switch {
	case wantErr == "" && err != nil:
		t.Errorf("Build: %v", err)
	case wantErr != "" && (err == nil || !strings.Contains(err.Error(), wantErr)):
		t.Errorf("Build error = %v, want one containing %q", err, wantErr)
	}
}
