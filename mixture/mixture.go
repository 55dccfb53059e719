// Package mixture turns the per-language sizes of a curated dataset into
// sampling weights for training. A weight is the share of the training mix
// a language gets, with the number of times its documents are expected to
// be repeated to fill that share.
//
// Two ways to set the shares are supported. Temperature sampling, the way
// multilingual models such as XLM-R and mT5 were trained, gives language i
// the share n_i^alpha / sum_j n_j^alpha of the mix, where n_i is its token
// count. Alpha 1 keeps the natural mix, and smaller values flatten it
// towards small languages. Targets set the shares of named languages
// directly; the others split what is left in proportion to n^alpha. A cap
// on repeats keeps a small language from being seen more than a few
// times, and the share it cannot take goes to the uncapped languages in
// proportion to their shares.
package mixture

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
)

// Bucket is one language, or any other group, and its size.
type Bucket struct {
	Name   string
	Tokens int64
}

// Spec says how to weight the buckets.
type Spec struct {
	// Alpha is the temperature exponent, in (0, 1]. 1 keeps the natural
	// mix.
	Alpha float64
	// Targets maps bucket names to their share of the mix, each in
	// (0, 1], summing to at most 1. Buckets not named share the rest.
	Targets map[string]float64
	// MaxRepeats caps the expected number of times a bucket's tokens are
	// seen; 0 means no cap.
	MaxRepeats float64
	// Budget is the number of tokens in the training mix; 0 means the sum
	// of the buckets, one pass over the data on average.
	Budget int64
}

// Validate checks the spec. The error names the field and its value.
func (s *Spec) Validate() error {
	if !(s.Alpha > 0 && s.Alpha <= 1) {
		return fmt.Errorf("invalid alpha %v: must be above 0 and at most 1", s.Alpha)
	}
	if s.MaxRepeats != 0 && !(s.MaxRepeats >= 1) {
		return fmt.Errorf("invalid max_repeats %v: must be at least 1, or 0 for no cap", s.MaxRepeats)
	}
	if s.Budget < 0 {
		return fmt.Errorf("invalid budget %d: must be 0 or more", s.Budget)
	}
	sum := 0.0
	for _, name := range sortedKeys(s.Targets) {
		share := s.Targets[name]
		if !(share > 0 && share <= 1) {
			return fmt.Errorf("invalid targets.%s %v: must be above 0 and at most 1", name, share)
		}
		sum += share
	}
	if sum > 1+1e-9 {
		return fmt.Errorf("invalid targets: shares sum to %.4g, more than 1", sum)
	}
	return nil
}

// Weight is the outcome for one bucket.
type Weight struct {
	Name    string  `json:"name"`
	Tokens  int64   `json:"tokens"`  // size of the bucket
	Natural float64 `json:"natural"` // share of the bucket in the data
	Share   float64 `json:"share"`   // share of the bucket in the training mix
	Repeats float64 `json:"repeats"` // expected passes over the bucket's tokens
	Capped  bool    `json:"capped"`  // the share was cut to respect MaxRepeats
}

// ErrEmpty is returned when no bucket has tokens.
var ErrEmpty = errors.New("mixture: no bucket has tokens")

// Compute returns the weight of every bucket with tokens, sorted by name,
// and warnings for targets that cannot be met: a target naming no bucket,
// a share cut by the repeat cap, or a budget the capped buckets cannot
// fill. Buckets with no tokens get no weight.
func Compute(buckets []Bucket, spec Spec) ([]Weight, []string, error) {
	if err := spec.Validate(); err != nil {
		return nil, nil, err
	}
	var ws []Weight
	var total int64
	for _, b := range buckets {
		if b.Tokens > 0 {
			ws = append(ws, Weight{Name: b.Name, Tokens: b.Tokens})
			total += b.Tokens
		}
	}
	if total == 0 {
		return nil, nil, ErrEmpty
	}
	slices.SortFunc(ws, func(a, b Weight) int { return cmp.Compare(a.Name, b.Name) })
	budget := float64(spec.Budget)
	if budget == 0 {
		budget = float64(total)
	}

	var warnings []string
	index := map[string]int{}
	for i := range ws {
		ws[i].Natural = float64(ws[i].Tokens) / float64(total)
		index[ws[i].Name] = i
	}
	targeted := 0.0
	for _, name := range sortedKeys(spec.Targets) {
		if _, ok := index[name]; !ok {
			warnings = append(warnings, fmt.Sprintf("target for %s cannot be met: the dataset has no tokens in it", name))
			continue
		}
		targeted += spec.Targets[name]
	}

	// Shares before the cap: targets as given, the rest by temperature.
	tempSum := 0.0
	for _, w := range ws {
		if _, ok := spec.Targets[w.Name]; !ok {
			tempSum += math.Pow(float64(w.Tokens), spec.Alpha)
		}
	}
	for i := range ws {
		if share, ok := spec.Targets[ws[i].Name]; ok {
			ws[i].Share = share
		} else if tempSum > 0 {
			ws[i].Share = (1 - targeted) * math.Pow(float64(ws[i].Tokens), spec.Alpha) / tempSum
		}
	}
	if tempSum == 0 && targeted < 1-1e-9 {
		// Every bucket has a target and they leave part of the mix
		// unassigned: scale them up so the mix is whole.
		for i := range ws {
			ws[i].Share /= targeted
		}
		warnings = append(warnings, fmt.Sprintf("targets sum to %.4g and name every language, so each was scaled by %.4g", targeted, 1/targeted))
	}

	if spec.MaxRepeats > 0 {
		var capWarnings []string
		budget, capWarnings = capRepeats(ws, budget, spec.MaxRepeats)
		warnings = append(warnings, capWarnings...)
	}
	for i := range ws {
		ws[i].Repeats = ws[i].Share * budget / float64(ws[i].Tokens)
	}
	return ws, warnings, nil
}

// capRepeats cuts each share whose expected repeats exceed max, and gives
// the share cut to the uncapped buckets in proportion to their shares,
// until no bucket exceeds the cap. It returns the tokens the mix can hold:
// the budget, or less when every bucket is capped. In that case it scales
// the shares to sum to 1 again and adds a warning.
func capRepeats(ws []Weight, budget, max float64) (float64, []string) {
	var warnings []string
	for {
		excess, free := 0.0, 0.0
		for i := range ws {
			limit := max * float64(ws[i].Tokens) / budget
			if ws[i].Share > limit+1e-12 {
				if !ws[i].Capped {
					warnings = append(warnings, fmt.Sprintf("share of %s cut from %.4g to %.4g: it would be repeated %.3g times, more than max_repeats %g",
						ws[i].Name, ws[i].Share, limit, ws[i].Share*budget/float64(ws[i].Tokens), max))
				}
				excess += ws[i].Share - limit
				ws[i].Share, ws[i].Capped = limit, true
			} else if !ws[i].Capped {
				free += ws[i].Share
			}
		}
		if excess == 0 {
			return budget, warnings
		}
		if free == 0 {
			sum := 0.0
			for i := range ws {
				sum += ws[i].Share
			}
			for i := range ws {
				ws[i].Share /= sum
			}
			return budget * sum, append(warnings, fmt.Sprintf("every language reached max_repeats %g, so the mix holds %.4g of the budget", max, sum))
		}
		for i := range ws {
			if !ws[i].Capped {
				ws[i].Share += excess * ws[i].Share / free
			}
		}
	}
}

func sortedKeys(m map[string]float64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
