package stages

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/winnow-data/winnow/pii"
	"github.com/winnow-data/winnow/pipeline"
)

// Drop reason of the pii stage.
const piiReasonTooMany = "pii_too_many"

// Values of the pii stage's action options.
const (
	piiActionTag          = "tag"
	piiActionMask         = "mask"
	piiActionPseudonymize = "pseudonymize"
	piiActionDropDoc      = "drop_doc"
)

var piiActions = []string{piiActionTag, piiActionMask, piiActionPseudonymize, piiActionDropDoc}

// piiTypeNames maps the names of the types, actions and tags options to
// scanner types, in the order the stage's documentation lists them.
var piiTypeNames = []struct {
	name string
	typ  pii.Type
}{
	{"email", pii.EmailAddress},
	{"phone", pii.PhoneNumber},
	{"ip", pii.IPAddress},
	{"card", pii.CreditCard},
	{"iban", pii.IBAN},
	{"ssn", pii.USSSN},
	{"secret", pii.Secret},
}

func piiTypeByName(name string) (pii.Type, bool) {
	for _, t := range piiTypeNames {
		if t.name == name {
			return t.typ, true
		}
	}
	return 0, false
}

// piiEvent returns the event name that counts the matches of t, such as
// email_address or credit_card.
func piiEvent(t pii.Type) string { return strings.ToLower(t.String()) }

// defaultPIIKeyEnv is the environment variable that holds the key of
// action pseudonymize unless pseudonymize_key_env names another.
const defaultPIIKeyEnv = "WINNOW_PII_KEY"

const piiDoc = "Finds email addresses, phone numbers, IP addresses, payment card numbers, IBANs, US social security numbers " +
	"and secrets (access keys, tokens, JWTs, private keys, passwords in URLs and key-like assignments) in one pass, " +
	"and per type tags them (|||EMAIL_ADDRESS|||, the Dolma convention), masks them, replaces them with consistent fakes " +
	"of the same shape (pseudonymize, keyed by a secret from the environment or a file) or counts them toward dropping the " +
	"document (drop_doc, pii_too_many). Counts the matches of every alive document per type as events " +
	"(email_address, phone_number, ip_address, credit_card, iban_code, us_ssn, secret) and never logs or stores a matched value."

func init() {
	pipeline.Register("pii", piiDoc, true, DefaultPIIOptions(), newPIIScrubber)
}

// PIIOptions configures the pii stage.
type PIIOptions struct {
	Types          []string          `yaml:"types" doc:"kinds of data to find, from email, phone, ip, card, iban, ssn and secret; default all seven"`
	Action         string            `yaml:"action" doc:"what happens to a match of a type that actions does not name: tag writes the type's tag, mask writes mask_char once per character, pseudonymize writes a consistent fake of the same shape, drop_doc counts the match toward drop_above (and tags it in a document that stays); default tag"`
	Actions        map[string]string `yaml:"actions" doc:"action per type, such as {email: pseudonymize, secret: drop_doc}; default {}"`
	Tags           map[string]string `yaml:"tags" doc:"text that action tag writes per type, such as {email: '[EMAIL]'}; default |||EMAIL_ADDRESS|||, |||PHONE_NUMBER|||, |||IP_ADDRESS|||, |||CREDIT_CARD|||, |||IBAN_CODE|||, |||US_SSN||| and |||SECRET||| (the Dolma convention)"`
	MaskChar       string            `yaml:"mask_char" doc:"the single character that action mask writes; default *"`
	IncludePrivate bool              `yaml:"include_private" doc:"also match IP addresses outside public unicast space: private, loopback, link-local, CGNAT, multicast, benchmarking and reserved ranges (documentation ranges such as 192.0.2.0/24 and 2001:db8::/32 are always matched); default false"`
	PhoneRegions   []string          `yaml:"phone_regions" doc:"regions (ISO 3166-1 alpha-2) whose national phone formats, without a +country prefix, are matched; international numbers are matched for every country; default [US, GB, DE, FR, IN, JP, AU]"`
	KeyEnv         string            `yaml:"pseudonymize_key_env" doc:"environment variable holding the HMAC key of action pseudonymize, at least 16 bytes; the key itself never goes in the config; default WINNOW_PII_KEY"`
	KeyFile        string            `yaml:"pseudonymize_key_file" doc:"file holding the HMAC key of action pseudonymize instead of the environment variable, without its trailing newline; default none"`
	DropAbove      int               `yaml:"drop_above" doc:"drop a document with more than this many matches, as pii_too_many (Dolma drops above 5); the types with action drop_doc are counted, or every type when no type has it; 0 drops at the first drop_doc match, and never when no type has drop_doc; default 0"`
}

// DefaultPIIOptions returns the options a config that names none gets.
func DefaultPIIOptions() PIIOptions {
	names := make([]string, len(piiTypeNames))
	for i, t := range piiTypeNames {
		names[i] = t.name
	}
	return PIIOptions{
		Types:        names,
		Action:       piiActionTag,
		MaskChar:     "*",
		PhoneRegions: slices.Clone(pii.DefaultPhoneRegions),
		KeyEnv:       defaultPIIKeyEnv,
	}
}

// Validate checks the type names, the actions, the tags, the mask
// character, the phone regions and drop_above. The key of action
// pseudonymize is read when the stage is built.
func (o *PIIOptions) Validate() error {
	typeList := "email, phone, ip, card, iban, ssn, secret"
	if len(o.Types) == 0 {
		return fmt.Errorf("invalid types []: list at least one of %s", typeList)
	}
	for _, name := range o.Types {
		if _, ok := piiTypeByName(name); !ok {
			return fmt.Errorf("invalid types entry %q: must be one of %s", name, typeList)
		}
	}
	if !slices.Contains(piiActions, o.Action) {
		return fmt.Errorf("invalid action %q: must be tag, mask, pseudonymize or drop_doc", o.Action)
	}
	for name, action := range o.Actions {
		if _, ok := piiTypeByName(name); !ok {
			return fmt.Errorf("invalid actions key %q: must be one of %s", name, typeList)
		}
		if !slices.Contains(piiActions, action) {
			return fmt.Errorf("invalid actions.%s %q: must be tag, mask, pseudonymize or drop_doc", name, action)
		}
	}
	for name, tag := range o.Tags {
		if _, ok := piiTypeByName(name); !ok {
			return fmt.Errorf("invalid tags key %q: must be one of %s", name, typeList)
		}
		if !utf8.ValidString(tag) {
			return fmt.Errorf("invalid tags.%s %q: must be valid UTF-8", name, tag)
		}
	}
	if r, size := utf8.DecodeRuneInString(o.MaskChar); r == utf8.RuneError || size != len(o.MaskChar) {
		return fmt.Errorf("invalid mask_char %q: must be one character", o.MaskChar)
	}
	for _, code := range o.PhoneRegions {
		if !pii.ValidPhoneRegion(code) {
			return fmt.Errorf("invalid phone_regions entry %q: must be an ISO 3166-1 alpha-2 region code such as US or DE", code)
		}
	}
	if o.DropAbove < 0 {
		return fmt.Errorf("invalid drop_above %d: must be 0 or more", o.DropAbove)
	}
	if o.KeyEnv == "" && o.KeyFile == "" {
		return errors.New("invalid pseudonymize_key_env \"\": name an environment variable, or set pseudonymize_key_file")
	}
	return nil
}

// piiScrubber is the pii stage. Its fields are read-only after
// construction, so concurrent Process calls share nothing mutable.
type piiScrubber struct {
	opts       PIIOptions
	scanner    *pii.Scanner
	replace    func(m pii.Match, value string) string
	dropTypes  pii.Type // matches of these types count toward drop_above
	dropAtZero bool     // drop_above 0 drops at the first drop_doc match
	env        pipeline.Env
}

func newPIIScrubber(opts PIIOptions, env pipeline.Env) (pipeline.Stage, error) {
	var types pii.Type
	for _, name := range opts.Types {
		t, _ := piiTypeByName(name)
		types |= t
	}
	scanner, err := pii.NewScanner(pii.Options{Types: types, IncludePrivate: opts.IncludePrivate, PhoneRegions: opts.PhoneRegions})
	if err != nil {
		return nil, err
	}

	// The action and the replacement of every type.
	var replacers [8]func(m pii.Match, value string) string
	var dropTypes pii.Type
	var pseudonymizer *pii.Pseudonymizer
	c, _ := utf8.DecodeRuneInString(opts.MaskChar)
	mask := pii.Mask(c)
	for _, t := range piiTypeNames {
		action := opts.Action
		if a, ok := opts.Actions[t.name]; ok {
			action = a
		}
		tag := t.typ.Tag()
		if custom, ok := opts.Tags[t.name]; ok {
			tag = custom
		}
		var repl func(m pii.Match, value string) string
		switch action {
		case piiActionTag:
			repl = func(pii.Match, string) string { return tag }
		case piiActionDropDoc:
			dropTypes |= t.typ
			repl = func(pii.Match, string) string { return tag }
		case piiActionMask:
			repl = mask
		case piiActionPseudonymize:
			if pseudonymizer == nil {
				key, err := loadPIIKey(opts)
				if err != nil {
					return nil, err
				}
				if pseudonymizer, err = pii.NewPseudonymizer(key); err != nil {
					return nil, fmt.Errorf("invalid pseudonymization key from %s: %d bytes, want at least %d", piiKeySource(opts), len(key), pii.MinPseudonymKeyLen)
				}
			}
			repl = pseudonymizer.Fake
		}
		replacers[typeIndex(t.typ)] = repl
	}

	dropAtZero := dropTypes != 0
	if dropTypes == 0 && opts.DropAbove > 0 {
		dropTypes = pii.AllTypes // Dolma's rule: every match counts
	}
	return &piiScrubber{
		opts:    opts,
		scanner: scanner,
		replace: func(m pii.Match, value string) string {
			return replacers[typeIndex(m.Type)](m, value)
		},
		dropTypes:  dropTypes,
		dropAtZero: dropAtZero,
		env:        env,
	}, nil
}

// setStrings replaces the string column col of b with values.
func setStrings(b *pipeline.Batch, col string, values []string) {
	bld := array.NewStringBuilder(memory.DefaultAllocator)
	defer bld.Release()
	bld.AppendValues(values, nil)
	arr := bld.NewArray()
	defer arr.Release()
	b.SetColumn(col, arr)
}

// typeIndex returns the bit position of a single type.
func typeIndex(t pii.Type) int {
	for i := 0; i < 8; i++ {
		if t == 1<<i {
			return i
		}
	}
	return 7
}

// piiKeySource names where the key comes from, for error messages.
func piiKeySource(opts PIIOptions) string {
	if opts.KeyFile != "" {
		return "pseudonymize_key_file " + opts.KeyFile
	}
	return "environment variable " + opts.KeyEnv
}

// loadPIIKey reads the key of action pseudonymize from pseudonymize_key_file
// or, without one, from the environment variable pseudonymize_key_env.
// Errors name the file or the variable, never the key.
func loadPIIKey(opts PIIOptions) ([]byte, error) {
	if opts.KeyFile != "" {
		raw, err := os.ReadFile(opts.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("reading pseudonymize_key_file: %w", err)
		}
		key := bytes.TrimRight(raw, "\r\n")
		if len(key) == 0 {
			return nil, fmt.Errorf("invalid pseudonymize_key_file %s: the file is empty", opts.KeyFile)
		}
		return key, nil
	}
	key, ok := os.LookupEnv(opts.KeyEnv)
	if !ok || key == "" {
		return nil, fmt.Errorf("action pseudonymize needs a key: environment variable %s is not set; set it to a secret of at least %d bytes, or set pseudonymize_key_file", opts.KeyEnv, pii.MinPseudonymKeyLen)
	}
	return []byte(key), nil
}

// Process rewrites the matches in the text of every row with their type's
// action, and drops an alive row that holds more than drop_above matches
// of the counted types. Rows that earlier stages dropped are rewritten too,
// and a row this stage drops keeps its rewritten text, so the rejects
// output never stores a matched value. The events count the matches of
// the rows that arrive alive, those this stage drops included, so they
// measure the personal data in the input that reached the stage.
func (p *piiScrubber) Process(_ context.Context, b *pipeline.Batch) error {
	var counts [8]int64
	var matches []pii.Match
	texts := b.Strings(pipeline.ColText)
	var out []string // nil until a row changes
	for i := 0; i < b.Len(); i++ {
		s := texts.Value(i)
		matches = p.scanner.Scan(s, matches[:0])
		if len(matches) == 0 {
			continue
		}
		if b.Alive(i) {
			counted := 0
			for _, m := range matches {
				counts[typeIndex(m.Type)]++
				if m.Type&p.dropTypes != 0 {
					counted++
				}
			}
			if counted > p.opts.DropAbove && (p.opts.DropAbove > 0 || p.dropAtZero) {
				b.DropSignal(i, piiReasonTooMany, "pii_matches", float64(counted), float64(p.opts.DropAbove))
			}
		}
		if out == nil {
			out = make([]string, b.Len())
			for j := range out {
				out[j] = texts.Value(j)
			}
		}
		out[i] = pii.Replace(s, matches, p.replace)
	}
	if out != nil {
		setStrings(b, pipeline.ColText, out)
	}

	// Counted once per batch, to keep the shared counter's lock out of the
	// per-document path.
	for _, t := range pii.Types {
		p.env.Events.Add(piiEvent(t), counts[typeIndex(t)])
	}
	return nil
}
