package stages

import (
	"context"
	"fmt"
	"unicode/utf8"

	"github.com/winnow-data/winnow/pii"
	"github.com/winnow-data/winnow/pipeline"
)

// Drop reason and event names of the pii stage.
const (
	piiReasonTooMany = "pii_too_many"

	piiEventEmail = "email_address"
	piiEventIP    = "ip_address"
)

// Values of the pii stage's action option.
const (
	piiActionTag  = "tag"
	piiActionMask = "mask"
)

// piiTypes maps the names of the types option to scanner types.
var piiTypes = map[string]pii.Type{
	"email": pii.EmailAddress,
	"ipv4":  pii.IPAddress,
}

const piiDoc = "Finds email addresses and public IPv4 addresses in the text and replaces them, " +
	"with |||EMAIL_ADDRESS||| and |||IP_ADDRESS||| (action tag, the Dolma convention) or with a mask character (action mask). " +
	"Drops documents with more than drop_above matches (pii_too_many). " +
	"Counts the matches of every alive document per type as the events email_address and ip_address, and never logs them."

func init() {
	pipeline.Register("pii", piiDoc, true, DefaultPIIOptions(), newPIIScrubber)
}

// PIIOptions configures the pii stage.
type PIIOptions struct {
	Types          []string `yaml:"types" doc:"kinds of personal data to find, from email and ipv4; default [email, ipv4]"`
	Action         string   `yaml:"action" doc:"what replaces a match: tag writes |||EMAIL_ADDRESS||| or |||IP_ADDRESS||| (the Dolma convention), mask writes mask_char once per character of the match; default tag"`
	MaskChar       string   `yaml:"mask_char" doc:"the single character that action mask writes; default *"`
	IncludePrivate bool     `yaml:"include_private" doc:"also match IPv4 addresses outside public unicast space: private, loopback, link-local, CGNAT, multicast, documentation and reserved ranges; default false"`
	DropAbove      int      `yaml:"drop_above" doc:"drop a document with more than this many matches, as pii_too_many (Dolma drops above 5); 0 never drops; default 0"`
}

// DefaultPIIOptions returns the options a config that names none gets.
func DefaultPIIOptions() PIIOptions {
	return PIIOptions{Types: []string{"email", "ipv4"}, Action: piiActionTag, MaskChar: "*"}
}

// Validate checks the type names, the action, the mask character and
// drop_above.
func (o *PIIOptions) Validate() error {
	if len(o.Types) == 0 {
		return fmt.Errorf("invalid types []: list at least one of email, ipv4")
	}
	for _, name := range o.Types {
		if _, ok := piiTypes[name]; !ok {
			return fmt.Errorf("invalid types entry %q: must be email or ipv4", name)
		}
	}
	if o.Action != piiActionTag && o.Action != piiActionMask {
		return fmt.Errorf("invalid action %q: must be tag or mask", o.Action)
	}
	if r, size := utf8.DecodeRuneInString(o.MaskChar); r == utf8.RuneError || size != len(o.MaskChar) {
		return fmt.Errorf("invalid mask_char %q: must be one character", o.MaskChar)
	}
	if o.DropAbove < 0 {
		return fmt.Errorf("invalid drop_above %d: must be 0 (never drop) or more", o.DropAbove)
	}
	return nil
}

// piiScrubber is the pii stage. Its fields are read-only after
// construction, so concurrent Process calls share nothing mutable.
type piiScrubber struct {
	opts    PIIOptions
	scanner pii.Scanner
	replace func(m pii.Match, value string) string
	env     pipeline.Env
}

func newPIIScrubber(opts PIIOptions, env pipeline.Env) (pipeline.Stage, error) {
	var types pii.Type
	for _, name := range opts.Types {
		types |= piiTypes[name]
	}
	replace := pii.Tag
	if opts.Action == piiActionMask {
		c, _ := utf8.DecodeRuneInString(opts.MaskChar)
		replace = pii.Mask(c)
	}
	return &piiScrubber{
		opts:    opts,
		scanner: pii.Scanner{Types: types, IncludePrivate: opts.IncludePrivate},
		replace: replace,
		env:     env,
	}, nil
}

// Process replaces the matches in the text of every alive row, or drops the
// row when it has more than drop_above matches. The events count matches in
// dropped rows too, so they measure the personal data in the input.
func (p *piiScrubber) Process(_ context.Context, b *pipeline.Batch) error {
	var emails, ips int64
	var matches []pii.Match
	b.MapStrings(pipeline.ColText, func(i int, s string) (string, bool) {
		matches = p.scanner.Scan(s, matches[:0])
		if len(matches) == 0 {
			return s, false
		}
		for _, m := range matches {
			if m.Type == pii.EmailAddress {
				emails++
			} else {
				ips++
			}
		}
		if p.opts.DropAbove > 0 && len(matches) > p.opts.DropAbove {
			b.DropSignal(i, piiReasonTooMany, "pii_matches", float64(len(matches)), float64(p.opts.DropAbove))
			return s, false
		}
		return pii.Replace(s, matches, p.replace), true
	})

	// Counted once per batch, to keep the shared counter's lock out of the
	// per-document path.
	p.env.Events.Add(piiEventEmail, emails)
	p.env.Events.Add(piiEventIP, ips)
	return nil
}
