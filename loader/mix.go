package loader

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/winnow-data/winnow/pipeline"
)

// Mix samples an epoch by language. Each position of the epoch's order
// draws a language, then the language's next document in its own order.
// A language whose documents run out starts over, which is a repeat. The
// epoch ends when its documents reach BudgetTokens tokens, or when every
// language has reached the repeat cap.
//
// Weights are shares of tokens, as the manifest's mixture records them.
// The loader draws documents, so a language is drawn with a probability
// proportional to its share divided by its mean tokens per document,
// which gives it its share of the tokens on average.
type Mix struct {
	// Weights maps language labels (eng_Latn, und for unlabelled
	// documents) to their share of the tokens. The shares are normalised
	// to sum to 1, and languages not named are left out. nil takes the
	// weights of the manifest's mixture.
	Weights map[string]float64 `json:"weights,omitempty"`
	// BudgetTokens is the number of tokens per epoch. 0 takes the
	// manifest's budget, or when it has none the tokens of the weighted
	// languages, one pass on average.
	BudgetTokens int64 `json:"budget_tokens,omitempty"`
	// MaxRepeats caps how many times a language's documents are drawn per
	// epoch, as a multiple of its document count: a language of n
	// documents is drawn at most floor(MaxRepeats*n) times. Its share then
	// goes to the others. 0 takes the manifest's cap, which may be none.
	MaxRepeats float64 `json:"max_repeats,omitempty"`
	// Stratified replaces the random draw by a deterministic one that
	// keeps every run of positions in proportion. In any B consecutive
	// positions, a language with draw probability p appears fewer than 2
	// times away from B*p. It appears exactly B*p times in each batch when
	// B*p is a whole number. A language reaching its cap restarts the
	// proportions among the others from that position.
	Stratified bool `json:"stratified,omitempty"`
}

func (m *Mix) validate() error {
	for name, w := range m.Weights {
		if !(w >= 0) || math.IsInf(w, 0) {
			return fmt.Errorf("loader option Mix.Weights[%s]: invalid value %v: must be 0 or more", name, w)
		}
	}
	if m.BudgetTokens < 0 {
		return fmt.Errorf("loader option Mix.BudgetTokens: invalid value %d: must be 0 or more", m.BudgetTokens)
	}
	if m.MaxRepeats != 0 && !(m.MaxRepeats >= 1) {
		return fmt.Errorf("loader option Mix.MaxRepeats: invalid value %v: must be 1 or more, or 0 for the manifest's cap", m.MaxRepeats)
	}
	return nil
}

// MixReport is the draws of one epoch of mixing, per language.
type MixReport struct {
	Epoch        int         `json:"epoch"`
	BudgetTokens int64       `json:"budget_tokens"`
	Docs         int64       `json:"docs"`   // positions of the epoch
	Tokens       int64       `json:"tokens"` // tokens drawn
	Stratified   bool        `json:"stratified"`
	MaxRepeats   float64     `json:"max_repeats,omitempty"`
	Languages    []LangDraws `json:"languages"`
	// EndedEarly is set when every language reached its cap before the
	// budget was reached.
	EndedEarly bool `json:"ended_early,omitempty"`
}

// LangDraws is one language of a MixReport.
type LangDraws struct {
	Lang        string  `json:"lang"`
	Weight      float64 `json:"weight"` // target share of tokens, normalised
	Docs        int64   `json:"docs"`   // documents of the language in the version
	Tokens      int64   `json:"tokens"` // their tokens
	DrawnDocs   int64   `json:"drawn_docs"`
	DrawnTokens int64   `json:"drawn_tokens"`
	Share       float64 `json:"share"`   // share of the epoch's tokens
	Repeats     float64 `json:"repeats"` // DrawnDocs / Docs
	Capped      bool    `json:"capped"`  // reached MaxRepeats
}

// mixScale is the sum of the integer draw weights. Shares become whole
// numbers of this scale, so every draw and the stratified counts use
// integer arithmetic and give the same result on every machine.
const mixScale = 1_000_000_000

// mixer plans the mixed order of each epoch from an index of every
// document's language and token count.
type mixer struct {
	lay     *layout
	seed    int64
	shuffle bool
	window  int

	langs      []mixLang // the weighted languages, by name
	budget     int64
	maxRepeats float64
	stratified bool
	digest     string

	mu    sync.Mutex
	plans map[int]*mixPlan // by epoch
}

// mixLang is one weighted language.
type mixLang struct {
	name   string
	share  float64 // normalised share of tokens
	pool   []docRef
	tokens []int32 // token count of each pool document
	total  int64   // tokens of the pool
	weight int64   // draw weight on mixScale
}

type mixPlan struct {
	seq    refSequence
	report MixReport
}

// newMixer resolves the mixing options against the manifest and the
// index, which holds the language and token count of every row.
func newMixer(lay *layout, m *pipeline.Manifest, idx *langIndex, opts Options) (*mixer, error) {
	mx := &mixer{lay: lay, seed: opts.Seed, shuffle: opts.Shuffle, window: opts.Window, stratified: opts.Mix.Stratified, plans: map[int]*mixPlan{}}
	var rec *pipeline.MixtureRecord
	if m.Balance != nil {
		rec = m.Balance.Mixture
	}

	weights := opts.Mix.Weights
	if weights == nil {
		if rec == nil || len(rec.Weights) == 0 {
			return nil, fmt.Errorf("mixing version %s: its manifest records no mixture weights (set balance.mixture in the run's config), so pass weights", m.ID)
		}
		weights = map[string]float64{}
		for _, w := range rec.Weights {
			weights[w.Name] = w.Share
		}
	}
	mx.budget, mx.maxRepeats = opts.Mix.BudgetTokens, opts.Mix.MaxRepeats
	if rec != nil {
		if mx.budget == 0 {
			mx.budget = rec.BudgetTokens
		}
		if mx.maxRepeats == 0 {
			mx.maxRepeats = rec.MaxRepeats
		}
	}

	if err := mx.buildPools(idx, weights); err != nil {
		return nil, fmt.Errorf("mixing version %s: %w", m.ID, err)
	}
	if mx.budget == 0 {
		for _, l := range mx.langs {
			mx.budget += l.total
		}
	}
	if mx.budget == 0 {
		return nil, fmt.Errorf("mixing version %s: its documents record no token counts, so a token budget cannot be met", m.ID)
	}
	mx.digest = mx.computeDigest()
	return mx, nil
}

// buildPools gathers the live documents of each weighted language.
func (mx *mixer) buildPools(idx *langIndex, weights map[string]float64) error {
	sum := 0.0
	for _, name := range sortedNames(weights) {
		sum += weights[name]
	}
	if sum == 0 {
		return fmt.Errorf("no language has a weight above 0")
	}
	byID := map[uint16]int{}
	for _, name := range sortedNames(weights) {
		if weights[name] == 0 {
			continue
		}
		id, ok := idx.ids[name]
		if !ok {
			return fmt.Errorf("weight given for %s, but no document of the version is labelled %s", name, name)
		}
		byID[id] = len(mx.langs)
		mx.langs = append(mx.langs, mixLang{name: name, share: weights[name] / sum})
	}
	for i := range mx.lay.shards {
		s := &mx.lay.shards[i]
		for row := range uint32(s.Rows) {
			k, ok := byID[idx.langs[i][row]]
			if !ok || s.isDeleted(row) {
				continue
			}
			l := &mx.langs[k]
			tokens := idx.tokens[i][row]
			l.pool = append(l.pool, docRef{shard: uint32(i), row: row})
			l.tokens = append(l.tokens, tokens)
			l.total += int64(tokens)
		}
	}
	for _, l := range mx.langs {
		if len(l.pool) == 0 {
			return fmt.Errorf("weight given for %s, but every document labelled %s is deleted", l.name, l.name)
		}
	}
	return nil
}

// computeDigest returns a short hash of the resolved mixing options, which
// a State carries so that a resume uses the same mixture.
func (mx *mixer) computeDigest() string {
	type weight struct {
		Lang  string  `json:"lang"`
		Share float64 `json:"share"`
	}
	spec := struct {
		Weights    []weight `json:"weights"`
		Budget     int64    `json:"budget"`
		MaxRepeats float64  `json:"max_repeats"`
		Stratified bool     `json:"stratified"`
	}{Budget: mx.budget, MaxRepeats: mx.maxRepeats, Stratified: mx.stratified}
	for _, l := range mx.langs {
		spec.Weights = append(spec.Weights, weight{l.name, l.share})
	}
	data, _ := json.Marshal(spec)
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:8])
}

// plan returns the mixed order of epoch e, building it on first use. It
// keeps the plans of the two latest epochs asked for.
func (mx *mixer) plan(e int) *mixPlan {
	mx.mu.Lock()
	defer mx.mu.Unlock()
	if p, ok := mx.plans[e]; ok {
		return p
	}
	p := mx.build(e)
	for old := range mx.plans {
		if old < e-1 {
			delete(mx.plans, old)
		}
	}
	mx.plans[e] = p
	return p
}

// build draws epoch e's order.
func (mx *mixer) build(e int) *mixPlan {
	report := MixReport{Epoch: e, BudgetTokens: mx.budget, Stratified: mx.stratified, MaxRepeats: mx.maxRepeats}
	streams := make([]*langStream, len(mx.langs))
	limits := make([]int64, len(mx.langs))
	active := make([]int, 0, len(mx.langs))
	for i := range mx.langs {
		streams[i] = &langStream{mx: mx, lang: i, epoch: e}
		limits[i] = math.MaxInt64
		if mx.maxRepeats > 0 {
			limits[i] = int64(math.Floor(mx.maxRepeats * float64(len(mx.langs[i].pool))))
		}
		active = append(active, i)
		report.Languages = append(report.Languages, LangDraws{
			Lang: mx.langs[i].name, Weight: mx.langs[i].share,
			Docs: int64(len(mx.langs[i].pool)), Tokens: mx.langs[i].total,
		})
	}

	draw := newDrawer(mx, active, e)
	var seq refSequence
	for report.Tokens < mx.budget && len(draw.active) > 0 {
		i := draw.next()
		ref, tokens := streams[i].next()
		seq = append(seq, ref)
		report.Tokens += int64(tokens)
		ld := &report.Languages[i]
		ld.DrawnDocs++
		ld.DrawnTokens += int64(tokens)
		if ld.DrawnDocs >= limits[i] {
			ld.Capped = true
			draw.remove(i)
		}
	}
	report.EndedEarly = report.Tokens < mx.budget
	report.Docs = int64(len(seq))
	for i := range report.Languages {
		ld := &report.Languages[i]
		ld.Repeats = float64(ld.DrawnDocs) / float64(ld.Docs)
		if report.Tokens > 0 {
			ld.Share = float64(ld.DrawnTokens) / float64(report.Tokens)
		}
	}
	return &mixPlan{seq: seq, report: report}
}

// drawer picks the language of each position among the active ones.
type drawer struct {
	mx      *mixer
	active  []int   // language indexes, ascending
	weights []int64 // draw weight of each active language, summing to mixScale
	credits []int64 // stratified: smooth weighted round-robin credits
	rng     *rng
}

func newDrawer(mx *mixer, active []int, epoch int) *drawer {
	d := &drawer{mx: mx, active: active, rng: newRNG(mx.seed, "mix/draw", int64(epoch))}
	d.reweigh()
	return d
}

// reweigh gives the active languages integer weights on mixScale in
// proportion to share/mean tokens, rounding by largest remainder, and
// restarts the stratified counts.
func (d *drawer) reweigh() {
	n := len(d.active)
	d.weights = make([]int64, n)
	d.credits = make([]int64, n)
	if n == 0 {
		return
	}
	// Draw probabilities in proportion to share / mean tokens per
	// document; a language of empty documents counts 1 token each.
	q := make([]float64, n)
	sum := 0.0
	for k, i := range d.active {
		l := &d.mx.langs[i]
		mean := float64(l.total) / float64(len(l.pool))
		if mean <= 0 {
			mean = 1
		}
		q[k] = l.share / mean
		sum += q[k]
	}

	// Whole weights on mixScale: floors first, then one more to the
	// largest remainders until they sum to mixScale.
	type rest struct {
		k    int
		frac float64
	}
	var rests []rest
	var assigned int64
	for k := range q {
		exact := float64(q[k]/sum) * mixScale
		d.weights[k] = int64(math.Floor(exact))
		assigned += d.weights[k]
		rests = append(rests, rest{k, exact - math.Floor(exact)})
	}
	slices.SortStableFunc(rests, func(a, b rest) int { return cmp.Compare(b.frac, a.frac) })
	for j := 0; assigned < mixScale; j++ {
		d.weights[rests[j%n].k]++
		assigned++
	}
}

// next returns the language index of the next position.
func (d *drawer) next() int {
	if d.mx.stratified {
		// Smooth weighted round robin: every language earns its weight,
		// the richest is drawn and pays the total. A language's credit
		// over mixScale is how far it lags its share, so its count stays
		// within 1 of its share of every prefix.
		best := 0
		for k := range d.active {
			d.credits[k] += d.weights[k]
			if d.credits[k] > d.credits[best] {
				best = k
			}
		}
		d.credits[best] -= mixScale
		return d.active[best]
	}
	r := int64(d.rng.below(mixScale))
	for k, w := range d.weights {
		if r < w {
			return d.active[k]
		}
		r -= w
	}
	return d.active[len(d.active)-1]
}

// remove takes language i out of the draw.
func (d *drawer) remove(i int) {
	k := slices.Index(d.active, i)
	d.active = slices.Delete(d.active, k, k+1)
	d.reweigh()
}

// langStream yields one language's documents: each cycle through them is
// the language's documents in the order an unmixed epoch would give them,
// keyed by the epoch and the cycle, so consecutive draws stay within a few
// shards. Without shuffling every cycle is the manifest order.
type langStream struct {
	mx    *mixer
	lang  int
	epoch int
	cycle int
	order []int32 // pool indexes of the current cycle
	pos   int
}

func (s *langStream) next() (docRef, int32) {
	if s.order == nil || s.pos == len(s.order) {
		if s.order != nil {
			s.cycle++
		}
		s.order = s.mx.cycleOrder(s.lang, s.epoch, s.cycle)
		s.pos = 0
	}
	l := &s.mx.langs[s.lang]
	k := s.order[s.pos]
	s.pos++
	return l.pool[k], l.tokens[k]
}

// cycleOrder returns the pool indexes of language lang in the order of
// one cycle.
//
// NOTE: with shuffling, each cycle scans the order of the whole version,
// so a small language that cycles many times costs a pass over every
// document per cycle.
func (mx *mixer) cycleOrder(lang, epoch, cycle int) []int32 {
	l := &mx.langs[lang]
	order := make([]int32, 0, len(l.pool))
	if !mx.shuffle {
		for k := range l.pool {
			order = append(order, int32(k))
		}
		return order
	}
	// The pool is in manifest order, so a document's pool index is found
	// by binary search on (shard, row).
	seq := newShuffledOrder(mx.lay, true, mx.window, mx.seed, "pool", int64(epoch), int64(cycle))
	for pos := range seq.length() {
		ref := seq.at(pos)
		k, found := slices.BinarySearchFunc(l.pool, ref, func(a, b docRef) int {
			return cmp.Or(cmp.Compare(a.shard, b.shard), cmp.Compare(a.row, b.row))
		})
		if found {
			order = append(order, int32(k))
		}
	}
	return order
}

func sortedNames(m map[string]float64) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}
