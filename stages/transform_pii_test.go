package stages

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/winnow-data/winnow/pipeline"
)

// buildRegisteredStage builds the registered stage name from options given
// as YAML ("" for the defaults) and returns it with its Env, or the build
// error.
func buildRegisteredStage(tb testing.TB, name, options string) (pipeline.Stage, pipeline.Env, error) {
	tb.Helper()
	spec, ok := pipeline.Lookup(name)
	if !ok {
		tb.Fatalf("stage %s is not registered", name)
	}
	var node *yaml.Node
	if options != "" {
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(options), &doc); err != nil {
			tb.Fatalf("parsing options %q: %v", options, err)
		}
		node = doc.Content[0]
	}
	env := pipeline.NewEnv(slog.New(slog.NewTextHandler(io.Discard, nil)), name)
	st, err := spec.Build(node, env)
	return st, env, err
}

// docBatch builds a batch with one document per text.
func docBatch(seq uint64, texts ...string) *pipeline.Batch {
	bb := pipeline.NewBatchBuilder()
	for _, s := range texts {
		bb.Append(&pipeline.Doc{Text: s})
	}
	return bb.Build(seq)
}

// runPII builds the pii stage with options, processes texts as one batch
// and returns the batch and the stage's events.
func runPII(t *testing.T, options string, texts ...string) (*pipeline.Batch, map[string]int64) {
	t.Helper()
	st, env, err := buildRegisteredStage(t, "pii", options)
	if err != nil {
		t.Fatalf("building pii: %v", err)
	}
	b := docBatch(0, texts...)
	t.Cleanup(b.Release)
	if err := st.Process(context.Background(), b); err != nil {
		t.Fatalf("Process: %v", err)
	}
	return b, env.Events.Snapshot()
}

// Event names of the pii stage, as the manifest and metrics show them.
const (
	piiEventEmail = "email_address"
	piiEventIP    = "ip_address"
)

func TestPIIDefaultsTag(t *testing.T) {
	b, events := runPII(t, "",
		"Mail jane@example.com or ping 93.184.216.34.",
		"Nothing here, not even 192.168.1.1 or lodash@4.17.21.",
		"Call +44 20 7946 0958, card 4111 1111 1111 1111, IBAN DE89 3704 0044 0532 0130 00, SSN 514-14-8905, key AKIAZ3MPLEK3YID7Q2WX.",
	)
	texts := b.Strings(pipeline.ColText)
	if got, want := texts.Value(0), "Mail |||EMAIL_ADDRESS||| or ping |||IP_ADDRESS|||."; got != want {
		t.Errorf("text 0 = %q, want %q", got, want)
	}
	if got, want := texts.Value(1), "Nothing here, not even 192.168.1.1 or lodash@4.17.21."; got != want {
		t.Errorf("text 1 = %q, want it unchanged", got)
	}
	want := "Call |||PHONE_NUMBER|||, card |||CREDIT_CARD|||, IBAN |||IBAN_CODE|||, SSN |||US_SSN|||, key |||SECRET|||."
	if got := texts.Value(2); got != want {
		t.Errorf("text 2 = %q, want %q", got, want)
	}
	wantEvents := map[string]int64{
		"email_address": 1, "ip_address": 1, "phone_number": 1, "credit_card": 1,
		"iban_code": 1, "us_ssn": 1, "secret": 1,
	}
	for name, n := range wantEvents {
		if events[name] != n {
			t.Errorf("event %s = %d, want %d (all events %v)", name, events[name], n, events)
		}
	}
	if b.LiveCount() != 3 {
		t.Errorf("live rows = %d, want 3", b.LiveCount())
	}
}

func TestPIIMask(t *testing.T) {
	b, _ := runPII(t, "{action: mask, mask_char: '#'}", "to jane@example.com now")
	if got, want := b.Strings(pipeline.ColText).Value(0), "to ################ now"; got != want {
		t.Errorf("masked text = %q, want %q", got, want)
	}
	b, _ = runPII(t, "{action: mask, mask_char: '█'}", "ip 8.8.8.8")
	if got, want := b.Strings(pipeline.ColText).Value(0), "ip "+strings.Repeat("█", 7); got != want {
		t.Errorf("masked text = %q, want %q", got, want)
	}
}

func TestPIIActionsPerType(t *testing.T) {
	options := "{action: tag, actions: {ip: mask, ssn: mask}, tags: {email: '<EMAIL>'}}"
	b, _ := runPII(t, options, "jane@example.com from 8.8.8.8, SSN 514-14-8905")
	if got, want := b.Strings(pipeline.ColText).Value(0), "<EMAIL> from *******, SSN ***********"; got != want {
		t.Errorf("text = %q, want %q", got, want)
	}
}

func TestPIITypesAndPrivate(t *testing.T) {
	text := "jane@example.com at 192.168.1.1"
	b, events := runPII(t, "{types: [ip], include_private: true}", text)
	if got, want := b.Strings(pipeline.ColText).Value(0), "jane@example.com at |||IP_ADDRESS|||"; got != want {
		t.Errorf("text = %q, want %q", got, want)
	}
	if events[piiEventEmail] != 0 || events[piiEventIP] != 1 {
		t.Errorf("events = %v, want only one ip_address", events)
	}
}

func TestPIIPhoneRegions(t *testing.T) {
	text := "Berlin 030 12345678 or New York (212) 555-0175"
	b, _ := runPII(t, "{types: [phone], phone_regions: [DE]}", text)
	if got, want := b.Strings(pipeline.ColText).Value(0), "Berlin |||PHONE_NUMBER||| or New York (212) 555-0175"; got != want {
		t.Errorf("text = %q, want %q", got, want)
	}
}

func TestPIIDropAbove(t *testing.T) {
	many := "a@example.com b@example.com c@example.com"
	b, events := runPII(t, "{drop_above: 2}", many, "one@example.com only")
	if b.Dropped[0] != piiReasonTooMany {
		t.Errorf("row 0 reason = %q, want %s", b.Dropped[0], piiReasonTooMany)
	}
	if got, want := b.Detail(0), `{"signal":"pii_matches","value":3,"threshold":2}`; got != want {
		t.Errorf("row 0 detail = %s, want %s", got, want)
	}
	if !b.Alive(1) {
		t.Errorf("row 1 dropped as %q, want it kept", b.Dropped[1])
	}
	if got := b.Strings(pipeline.ColText).Value(1); got != "|||EMAIL_ADDRESS||| only" {
		t.Errorf("row 1 text = %q, want the address tagged", got)
	}
	if events[piiEventEmail] != 4 {
		t.Errorf("email_address = %d, want 4, dropped rows included", events[piiEventEmail])
	}
}

func TestPIIDroppedRowHasNoValues(t *testing.T) {
	text := "a@example.com b@example.com c@example.com"
	b, _ := runPII(t, "{drop_above: 2, action: mask}", text)
	if b.Alive(0) {
		t.Fatal("row 0 kept, want it dropped")
	}
	got := b.Strings(pipeline.ColText).Value(0)
	if strings.Contains(got, "@example.com") {
		t.Errorf("dropped text = %q still holds an address, which the rejects output would store", got)
	}
	if strings.Contains(b.Detail(0), "example") {
		t.Errorf("detail %s holds a matched value", b.Detail(0))
	}
}

func TestPIIDropDocAction(t *testing.T) {
	b, _ := runPII(t, "{actions: {secret: drop_doc}}",
		"token ghp_aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5 here",
		"mail jane@example.com and more jane@example.org",
	)
	if b.Dropped[0] != piiReasonTooMany {
		t.Errorf("row 0 reason = %q, want %s for a secret with drop_above 0", b.Dropped[0], piiReasonTooMany)
	}
	if got, want := b.Detail(0), `{"signal":"pii_matches","value":1,"threshold":0}`; got != want {
		t.Errorf("row 0 detail = %s, want %s", got, want)
	}
	if !b.Alive(1) {
		t.Errorf("row 1 dropped as %q; emails are not drop_doc", b.Dropped[1])
	}

	// With a threshold, only drop_doc types count, and a document that
	// stays gets their matches tagged.
	b, _ = runPII(t, "{actions: {email: drop_doc}, drop_above: 1}",
		"a@example.com b@example.com",
		"a@example.com 8.8.8.8 8.8.4.4 1.1.1.1",
	)
	if b.Alive(0) || !b.Alive(1) {
		t.Errorf("dropped = %q, want only row 0 dropped", b.Dropped)
	}
	if got, want := b.Strings(pipeline.ColText).Value(1), "|||EMAIL_ADDRESS||| |||IP_ADDRESS||| |||IP_ADDRESS||| |||IP_ADDRESS|||"; got != want {
		t.Errorf("row 1 text = %q, want %q", got, want)
	}
}

func TestPIIPseudonymize(t *testing.T) {
	t.Setenv("WINNOW_TEST_PII_KEY", "stage test key, 32 bytes long..")
	options := "{action: pseudonymize, pseudonymize_key_env: WINNOW_TEST_PII_KEY}"
	texts := []string{
		"write to jane.doe@example.com today",
		"JANE.DOE@example.com wrote from 8.8.8.8",
	}
	b, _ := runPII(t, options, texts...)
	out := b.Strings(pipeline.ColText)
	fake0 := strings.Fields(out.Value(0))[2]
	fake1 := strings.ToLower(strings.Fields(out.Value(1))[0])
	if fake0 == "jane.doe@example.com" || !strings.HasSuffix(fake0, ".com") || len(fake0) != len("jane.doe@example.com") {
		t.Errorf("fake %q: want another address of the same shape", fake0)
	}
	if fake0 != fake1 {
		t.Errorf("fakes %q and %q differ for one address in two cases", fake0, fake1)
	}

	// The same key gives the same fakes in another stage instance.
	again, _ := runPII(t, options, texts...)
	if got := again.Strings(pipeline.ColText).Value(0); got != out.Value(0) {
		t.Errorf("second run = %q, first %q", got, out.Value(0))
	}

	// A key file, here with another key, gives other fakes.
	keyFile := filepath.Join(t.TempDir(), "pii.key")
	if err := os.WriteFile(keyFile, []byte("another key, also 32 bytes long\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	other, _ := runPII(t, fmt.Sprintf("{action: pseudonymize, pseudonymize_key_file: %q}", keyFile), texts...)
	if got := other.Strings(pipeline.ColText).Value(0); got == out.Value(0) {
		t.Errorf("another key gave the same text %q", got)
	}
}

func TestPIIPseudonymizeKeyErrors(t *testing.T) {
	t.Setenv("WINNOW_TEST_PII_SHORT", "short")
	cases := []struct{ options, want string }{
		{"{action: pseudonymize, pseudonymize_key_env: WINNOW_TEST_PII_UNSET}", "environment variable WINNOW_TEST_PII_UNSET is not set"},
		{"{actions: {email: pseudonymize}, pseudonymize_key_env: WINNOW_TEST_PII_SHORT}", "WINNOW_TEST_PII_SHORT: 5 bytes, want at least 16"},
		{"{action: pseudonymize, pseudonymize_key_file: /nonexistent/pii.key}", "/nonexistent/pii.key"},
	}
	for _, c := range cases {
		t.Run(c.options, func(t *testing.T) {
			_, _, err := buildRegisteredStage(t, "pii", c.options)
			if err == nil {
				t.Fatalf("options %s built a stage, want an error", c.options)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not contain %q", err, c.want)
			}
			if strings.Contains(err.Error(), "short") && !strings.Contains(c.options, "UNSET") {
				t.Errorf("error %q shows the key", err)
			}
		})
	}

	// Without action pseudonymize no key is needed.
	if _, _, err := buildRegisteredStage(t, "pii", "{pseudonymize_key_env: WINNOW_TEST_PII_UNSET}"); err != nil {
		t.Errorf("tag without a key: %v", err)
	}
}

func TestPIIScrubsRowsDroppedEarlier(t *testing.T) {
	st, env, err := buildRegisteredStage(t, "pii", "{drop_above: 1}")
	if err != nil {
		t.Fatal(err)
	}
	b := docBatch(0, "jane@example.com and 8.8.8.8", "kept")
	defer b.Release()
	b.Drop(0, "earlier_stage")
	if err := st.Process(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if got, want := b.Strings(pipeline.ColText).Value(0), "|||EMAIL_ADDRESS||| and |||IP_ADDRESS|||"; got != want {
		t.Errorf("text of a row dropped earlier = %q, want %q, so the rejects output holds no value", got, want)
	}
	if b.Dropped[0] != "earlier_stage" {
		t.Errorf("reason = %q, want the earlier stage's", b.Dropped[0])
	}
	if events := env.Events.Snapshot(); len(events) != 0 {
		t.Errorf("events = %v, want none for a row that arrived dropped", events)
	}
}

func TestPIIInvalidOptions(t *testing.T) {
	cases := []struct{ options, field string }{
		{"{types: []}", "types"},
		{"{types: [ipv4]}", `types entry "ipv4"`},
		{"{action: hash}", `action "hash"`},
		{"{actions: {phone: hash}}", `actions.phone "hash"`},
		{"{actions: {name: tag}}", `actions key "name"`},
		{"{tags: {zip: X}}", `tags key "zip"`},
		{"{mask_char: ''}", "mask_char"},
		{"{mask_char: ab}", `mask_char "ab"`},
		{"{phone_regions: [XX]}", `phone_regions entry "XX"`},
		{"{drop_above: -1}", "drop_above -1"},
		{"{pseudonymize_key_env: ''}", "pseudonymize_key_env"},
		{"{dropabove: 3}", "dropabove"},
	}
	for _, c := range cases {
		t.Run(c.options, func(t *testing.T) {
			_, _, err := buildRegisteredStage(t, "pii", c.options)
			if err == nil {
				t.Fatalf("options %s built a stage, want an error", c.options)
			}
			if !strings.Contains(err.Error(), c.field) {
				t.Errorf("error %q does not name %s", err, c.field)
			}
		})
	}
}

func TestPIIConcurrentProcess(t *testing.T) {
	t.Setenv("WINNOW_TEST_PII_KEY", "stage test key, 32 bytes long..")
	st, env, err := buildRegisteredStage(t, "pii", "{actions: {phone: pseudonymize}, pseudonymize_key_env: WINNOW_TEST_PII_KEY}")
	if err != nil {
		t.Fatal(err)
	}
	const workers, perWorker = 4, 20
	var fakes sync.Map
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for k := range perWorker {
				text := fmt.Sprintf("user%d.%d@example.com from 8.8.%d.%d, call +44 20 7946 0958", w, k, w, k)
				b := docBatch(uint64(w*perWorker+k), text)
				if err := st.Process(context.Background(), b); err != nil {
					t.Error(err)
				}
				got := b.Strings(pipeline.ColText).Value(0)
				prefix := "|||EMAIL_ADDRESS||| from |||IP_ADDRESS|||, call "
				if !strings.HasPrefix(got, prefix) {
					t.Errorf("text = %q", got)
				}
				fakes.Store(strings.TrimPrefix(got, prefix), true)
				b.Release()
			}
		})
	}
	wg.Wait()
	events := env.Events.Snapshot()
	if events[piiEventEmail] != workers*perWorker || events[piiEventIP] != workers*perWorker {
		t.Errorf("events = %v, want %d of each", events, workers*perWorker)
	}
	n := 0
	fakes.Range(func(any, any) bool { n++; return true })
	if n != 1 {
		t.Errorf("one phone number got %d different fakes across workers", n)
	}
}

// BenchmarkPIIStage measures Process on a batch of 256 English documents of
// 3 KB with one address each, so every text column is rebuilt.
func BenchmarkPIIStage(b *testing.B) {
	st, _, err := buildRegisteredStage(b, "pii", "")
	if err != nil {
		b.Fatal(err)
	}
	doc := strings.Repeat("The committee met on Tuesday to review the budget for 2024. ", 50) +
		"Questions go to office@example.org."
	texts := make([]string, 256)
	for i := range texts {
		texts[i] = doc
	}
	b.SetBytes(int64(len(doc) * len(texts)))
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		batch := docBatch(0, texts...)
		b.StartTimer()
		if err := st.Process(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
		batch.Release()
	}
}
