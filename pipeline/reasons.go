package pipeline

import (
	"fmt"
	"slices"
	"strings"
	"sync"
)

// reasons maps every declared drop reason code to the stage, or "source",
// that writes it.
var reasons = struct {
	sync.RWMutex
	owner map[string]string
}{owner: map[string]string{}}

// DeclareReasons records the drop reason codes that owner, a stage name or
// "source", can write, so that commands can reject a misspelt reason
// before reading any data. It panics when another owner declared one of
// the codes, because a reason code names one rule.
func DeclareReasons(owner string, codes ...string) {
	reasons.Lock()
	defer reasons.Unlock()
	for _, c := range codes {
		if prev, ok := reasons.owner[c]; ok && prev != owner {
			panic(fmt.Sprintf("pipeline: reason %q declared by both %s and %s", c, prev, owner))
		}
		reasons.owner[c] = owner
	}
}

// ReasonOwner returns the stage, or "source", that writes the drop reason
// code, and whether the code is declared.
func ReasonOwner(code string) (string, bool) {
	reasons.RLock()
	defer reasons.RUnlock()
	owner, ok := reasons.owner[code]
	return owner, ok
}

// Reasons returns every declared drop reason code, sorted.
func Reasons() []string {
	reasons.RLock()
	defer reasons.RUnlock()
	out := make([]string, 0, len(reasons.owner))
	for c := range reasons.owner {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

// ReasonsOf returns the drop reason codes owner declared, sorted.
func ReasonsOf(owner string) []string {
	var out []string
	for _, c := range Reasons() {
		if o, _ := ReasonOwner(c); o == owner {
			out = append(out, c)
		}
	}
	return out
}

// CheckReason returns an error naming code when no stage declares it,
// suggesting the declared codes closest to it: those within a few edits,
// else those that contain it.
func CheckReason(field, code string) error {
	if _, ok := ReasonOwner(code); ok {
		return nil
	}
	var near []string
	best := max(2, len(code)/4) + 1
	for _, c := range Reasons() {
		switch d := editDistance(code, c); {
		case d < best:
			best, near = d, []string{c}
		case d == best:
			near = append(near, c)
		}
	}
	if len(near) == 0 {
		for _, c := range Reasons() {
			if strings.Contains(c, code) {
				near = append(near, c)
			}
		}
	}
	switch len(near) {
	case 0:
		return fmt.Errorf("%s: unknown reason code %q; `winnow stages` lists each stage's codes", field, code)
	case 1:
		return fmt.Errorf("%s: unknown reason code %q; did you mean %s?", field, code, near[0])
	}
	return fmt.Errorf("%s: unknown reason code %q; did you mean one of %s?", field, code, strings.Join(near, ", "))
}

// editDistance returns the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
