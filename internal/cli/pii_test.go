package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/winnow-data/winnow/pii"
	"github.com/winnow-data/winnow/pipeline"
	"github.com/winnow-data/winnow/stages"
)

// Keys of the pseudonymize runs. Neither may show up in any output.
const (
	piiKeyA = "first test key for the pii runs"
	piiKeyB = "second test key, also long enough"
)

// piiConfig runs normalize and pii with every type pseudonymized, keyed by
// the variable WINNOW_TEST_PII_KEY.
const piiConfig = `stages:
  - normalize
  - pii: {action: pseudonymize, pseudonymize_key_env: WINNOW_TEST_PII_KEY}
`

// piiExtra holds values that recur across documents, beside the sample's
// own addresses and numbers.
const piiExtra = `{"id": "extra-1", "text": "Write to Jane at jane.doe@example.com or call +44 20 7946 0958 before noon."}
{"id": "extra-2", "text": "Jane (jane.doe@example.com) answered from 93.184.216.34 the next day."}
{"id": "extra-3", "text": "Her old card 4111 1111 1111 1111 and the address jane.doe@example.com stay on file; call +44 20 7946 0958."}
`

// runPseudonymized runs piiConfig over the sample and piiExtra with key and
// returns the kept texts by id, the manifest and the run's stderr.
func runPseudonymized(t *testing.T, key string) (map[string]string, *pipeline.Manifest, string) {
	t.Helper()
	t.Setenv("WINNOW_TEST_PII_KEY", key)
	root := t.TempDir()
	extra := writeFile(t, "extra.jsonl", piiExtra)
	args := []string{"run", "--json", "--progress", "never", "--log-level", "debug",
		"-c", writeFile(t, "winnow.yaml", piiConfig), "-o", root, samplePath, extra}
	code, _, stderr := runCLI(t, args...)
	if code != 0 {
		t.Fatalf("winnow %s: exit %d\nstderr:\n%s", strings.Join(args, " "), code, stderr)
	}
	m := latestManifest(t, root)
	texts := map[string]string{}
	err := stages.ReadVersionDocs(context.Background(), root, m, func(d pipeline.SeedDoc) error {
		texts[d.ID] = d.Text
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return texts, m, stderr
}

func TestPIIPseudonymizeRuns(t *testing.T) {
	firstA, manifest, stderr := runPseudonymized(t, piiKeyA)
	secondA, _, _ := runPseudonymized(t, piiKeyA)
	firstB, _, _ := runPseudonymized(t, piiKeyB)

	fakeA, err := pii.NewPseudonymizer([]byte(piiKeyA))
	if err != nil {
		t.Fatal(err)
	}
	fakeB, err := pii.NewPseudonymizer([]byte(piiKeyB))
	if err != nil {
		t.Fatal(err)
	}

	// The values of the extra documents get one fake each, in every
	// document that holds them.
	email := pii.Match{Type: pii.EmailAddress}
	wantEmail := fakeA.Fake(email, "jane.doe@example.com")
	if wantEmail == "jane.doe@example.com" {
		t.Fatalf("the fake equals the address")
	}
	for _, id := range []string{"extra-1", "extra-2", "extra-3"} {
		text := firstA[id]
		if strings.Contains(text, "jane.doe@example.com") {
			t.Errorf("%s still holds the address: %q", id, text)
		}
		if !strings.Contains(text, wantEmail) {
			t.Errorf("%s = %q, want the fake %q", id, text, wantEmail)
		}
	}
	wantPhone := fakeA.Fake(pii.Match{Type: pii.PhoneNumber}, "+44 20 7946 0958")
	for _, id := range []string{"extra-1", "extra-3"} {
		if !strings.Contains(firstA[id], wantPhone) {
			t.Errorf("%s = %q, want the phone fake %q", id, firstA[id], wantPhone)
		}
	}

	// Values that recur across the sample's own documents get the same
	// fake in each of them.
	recurring := recurringSampleValues(t)
	if len(recurring) == 0 {
		t.Fatal("no value recurs across the sample's documents; the check below would test nothing")
	}
	checked := 0
	for key, ids := range recurring {
		typ, value := key.typ, key.value
		fake := fakeA.Fake(pii.Match{Type: typ}, value)
		for _, id := range ids {
			text, kept := firstA[id]
			if !kept {
				continue // dropped by normalize or as a duplicate
			}
			if !strings.Contains(text, fake) {
				t.Errorf("%s: %s %q should read %q", id, typ, value, fake)
			}
			checked++
		}
	}
	t.Logf("%d values recur across the sample; %d placements checked", len(recurring), checked)

	// The same key gives the same text in another run; another key gives
	// other fakes wherever something was replaced.
	differentB := 0
	for id, text := range firstA {
		if secondA[id] != text {
			t.Errorf("%s differs between two runs with one key", id)
		}
		if text != firstB[id] {
			differentB++
		}
	}
	if differentB == 0 || !strings.Contains(firstB["extra-1"], fakeB.Fake(email, "jane.doe@example.com")) {
		t.Errorf("the second key gave the first key's texts (%d documents differ)", differentB)
	}
	if strings.Contains(firstB["extra-1"], wantEmail) {
		t.Errorf("the second key gave the first key's fake %q", wantEmail)
	}

	// Counts per type reach the manifest; neither the key nor a value
	// reaches the manifest or the logs.
	events := stageRecord(t, manifest, "pii").Events
	if events["email_address"] < 3 || events["phone_number"] < 2 || events["credit_card"] < 1 {
		t.Errorf("pii events = %v, want the extra documents' values counted", events)
	}
	raw, err := json.Marshal(manifest)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{piiKeyA, "jane.doe@example.com", "7946 0958", "4111 1111"} {
		if strings.Contains(string(raw), secret) || strings.Contains(stderr, secret) {
			t.Errorf("the manifest or the logs hold %q", secret)
		}
	}
}

func TestPIIPseudonymizeMissingKey(t *testing.T) {
	os.Unsetenv("WINNOW_TEST_PII_KEY")
	root := t.TempDir()
	code, _, stderr := runCLI(t, "run", "--progress", "never", "-c", writeFile(t, "winnow.yaml", piiConfig), "-o", root, samplePath)
	if code != exitUsage {
		t.Errorf("exit %d, want %d for a missing key", code, exitUsage)
	}
	if !strings.Contains(stderr, "WINNOW_TEST_PII_KEY") {
		t.Errorf("stderr does not name the variable:\n%s", stderr)
	}
	if entries, _ := os.ReadDir(filepath.Join(root, "versions")); len(entries) != 0 {
		t.Errorf("a run without its key committed %d versions", len(entries))
	}
}

type typedValue struct {
	typ   pii.Type
	value string
}

// recurringSampleValues scans the sample's documents and returns the
// values found in more than one of them, with the ids of those documents.
func recurringSampleValues(t *testing.T) map[typedValue][]string {
	t.Helper()
	seen := map[typedValue][]string{}
	for _, d := range readSample(t) {
		inDoc := map[typedValue]bool{}
		for _, m := range pii.Scan(d.Text, nil) {
			k := typedValue{m.Type, d.Text[m.Start:m.End]}
			if !inDoc[k] {
				inDoc[k] = true
				seen[k] = append(seen[k], d.ID)
			}
		}
	}
	for k, ids := range seen {
		if len(ids) < 2 {
			delete(seen, k)
		}
	}
	return seen
}
