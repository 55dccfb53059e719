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

// CheckReason returns an error naming code when no stage declares it, with
// the declared codes that share its first word as suggestions.
func CheckReason(field, code string) error {
	if _, ok := ReasonOwner(code); ok {
		return nil
	}
	prefix, _, _ := strings.Cut(code, "_")
	var near []string
	for _, c := range Reasons() {
		if strings.HasPrefix(c, prefix+"_") || c == prefix {
			near = append(near, c)
		}
	}
	if len(near) == 0 {
		return fmt.Errorf("%s: unknown reason code %q; `winnow stages` lists each stage's codes", field, code)
	}
	return fmt.Errorf("%s: unknown reason code %q; did you mean one of %s?", field, code, strings.Join(near, ", "))
}
