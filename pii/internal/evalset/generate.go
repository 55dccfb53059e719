package evalset

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// DefaultSeed is the seed of the committed evaluation set.
const DefaultSeed = 20261204

// builder assembles one document from text pieces and labelled values, so
// spans are computed, never typed by hand.
type builder struct {
	text  strings.Builder
	spans []Span
}

func (b *builder) add(parts ...string) *builder {
	for _, p := range parts {
		b.text.WriteString(p)
	}
	return b
}

// value appends v labelled as typ.
func (b *builder) value(typ, v string) *builder {
	start := b.text.Len()
	b.text.WriteString(v)
	b.spans = append(b.spans, Span{Type: typ, Start: start, End: b.text.Len()})
	return b
}

// gen holds the generator's random source and the documents made so far.
type gen struct {
	r    *rand.Rand
	docs []Doc
}

func (g *gen) emit(kind string, b *builder) {
	g.docs = append(g.docs, Doc{
		ID:    fmt.Sprintf("e%05d", len(g.docs)),
		Kind:  kind,
		Text:  b.text.String(),
		Spans: b.spans,
	})
}

// Generate returns the evaluation set for seed. The same seed gives the
// same documents with the same Go version; math/rand/v2's PCG source and
// the methods used here have fixed output.
func Generate(seed uint64) []Doc {
	g := &gen{r: rand.New(rand.NewPCG(seed, seed^0x5eed))}
	g.emails(400)
	g.phones(420)
	g.ips(400)
	g.cards(350)
	g.ibans(300)
	g.ssns(300)
	g.secrets(450)
	g.mixed(150)
	g.negatives()
	return g.docs
}

// pick returns a random element of xs.
func pick[T any](g *gen, xs []T) T { return xs[g.r.IntN(len(xs))] }

// Filler sentences around values; none holds anything the scanner finds.
var fillers = []string{
	"The meeting moved to Thursday afternoon.",
	"Thanks again for the quick reply.",
	"Please keep this message for your records.",
	"We will follow up after the review.",
	"The shipment left the warehouse this morning.",
	"Let me know if anything changes.",
	"Our office is closed on public holidays.",
	"See the attached notes for the full list.",
	"",
}

func (g *gen) filler() string { return pick(g, fillers) }

// sentence wraps a labelled value in a template with {} for the value and
// filler text around it.
func (g *gen) sentence(kind, typ, template, v string) {
	b := &builder{}
	if f := g.filler(); f != "" && g.r.IntN(2) == 0 {
		b.add(f, " ")
	}
	before, after, _ := strings.Cut(template, "{}")
	b.add(before).value(typ, v).add(after)
	if f := g.filler(); f != "" && g.r.IntN(2) == 0 {
		b.add(" ", f)
	}
	g.emit(kind, b)
}

// Syllables of made-up names and domain labels.
var syllables = []string{
	"ka", "lo", "mi", "ren", "ta", "vo", "sel", "dar", "bri", "no", "quin", "fe", "zu", "mar", "lin",
	"tor", "ve", "sa", "pel", "gri", "han", "jo", "wex", "ul", "ostr", "ber", "cal", "dun", "ys", "ami",
}

func (g *gen) word(min, max int) string {
	var b strings.Builder
	for n := min + g.r.IntN(max-min+1); n > 0; n-- {
		b.WriteString(pick(g, syllables))
	}
	return b.String()
}

const (
	digits    = "0123456789"
	lowerAlnm = "abcdefghijklmnopqrstuvwxyz0123456789"
	alnum     = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	base64url = alnum + "-_"
	base64std = alnum + "+/"
	upper32   = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	hexLower  = "0123456789abcdef"
)

// random returns n characters drawn from charset.
func (g *gen) random(charset string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = charset[g.r.IntN(len(charset))]
	}
	return string(b)
}
