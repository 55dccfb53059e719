package cli

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
)

// kolmogorovSmirnov returns the two-sample Kolmogorov-Smirnov statistic of
// a and b: the largest distance between their empirical distribution
// functions, from 0 (same distribution) to 1 (no overlap). It returns 0
// when either is empty. a and b are sorted in place.
func kolmogorovSmirnov(a, b []float64) float64 {
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	slices.Sort(a)
	slices.Sort(b)
	var d float64
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		// Step past every copy of the smaller value in both samples, so
		// ties move both distribution functions at once.
		x := min(a[i], b[j])
		for i < len(a) && a[i] == x {
			i++
		}
		for j < len(b) && b[j] == x {
			j++
		}
		d = max(d, math.Abs(float64(i)/float64(len(a))-float64(j)/float64(len(b))))
	}
	return d
}

// psiBins is the number of quantile bins of the population stability
// index, the usual ten.
const psiBins = 10

// psiFloor replaces an empty bin's share, so a bin that one sample lacks
// adds a large but finite term.
const psiFloor = 1e-4

// populationStability returns the population stability index of actual
// against expected. That is the sum over bins of (a - e) * ln(a / e), where
// a and e are the shares of each sample in bins cut at the deciles of
// expected. Below 0.1 is usually read as no shift, above 0.25 as a large
// one. It returns 0 when either is empty. expected is sorted in place.
func populationStability(expected, actual []float64) float64 {
	if len(expected) == 0 || len(actual) == 0 {
		return 0
	}
	slices.Sort(expected)
	var edges []float64
	for k := 1; k < psiBins; k++ {
		q := expected[min(len(expected)-1, k*len(expected)/psiBins)]
		if len(edges) == 0 || q > edges[len(edges)-1] {
			edges = append(edges, q)
		}
	}

	binOf := func(x float64) int {
		// Bin k holds values from edges[k-1] (included) to edges[k]
		// (excluded). The last bin has no upper edge.
		return sort.Search(len(edges), func(k int) bool { return edges[k] > x })
	}
	e := make([]float64, len(edges)+1)
	a := make([]float64, len(edges)+1)
	for _, x := range expected {
		e[binOf(x)]++
	}
	for _, x := range actual {
		a[binOf(x)]++
	}

	var psi float64
	for k := range e {
		pe := max(e[k]/float64(len(expected)), psiFloor)
		pa := max(a[k]/float64(len(actual)), psiFloor)
		psi += (pa - pe) * math.Log(pa/pe)
	}
	return psi
}

// signalSampleMax caps the values kept of one signal of one version. The
// sampling error of a Kolmogorov-Smirnov statistic from 200,000 values is
// about 0.003, far below the thresholds people set.
const signalSampleMax = 200_000

// sampler keeps a uniform random sample of at most signalSampleMax values
// (reservoir sampling) with a fixed seed, so the same version gives the
// same sample every time.
type sampler struct {
	values []float64
	seen   int64
	rng    *rand.Rand
}

func newSampler() *sampler {
	return &sampler{rng: rand.New(rand.NewPCG(1, 2))}
}

func (s *sampler) add(x float64) {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return
	}
	s.seen++
	if len(s.values) < signalSampleMax {
		s.values = append(s.values, x)
		return
	}
	if k := s.rng.Int64N(s.seen); k < signalSampleMax {
		s.values[k] = x
	}
}
