package pii

import (
	_ "embed"
	"strings"
)

// tldList is the IANA list of top-level domains; tlds.txt names its source.
//
//go:embed tlds.txt
var tldList string

// maxTLDLen is the length of the longest ASCII top-level domain in the
// list ("northwesternmutual", 18 bytes), rounded up.
const maxTLDLen = 24

// topLevelDomains holds every top-level domain of tldList, in lower case.
//
// NOTE: the list keeps no internationalised domains, so an address on an IDN
// top-level domain written in punycode (xn--p1ai) is not found.
var topLevelDomains = func() map[string]struct{} {
	m := make(map[string]struct{}, 1600)
	for _, line := range strings.Split(tldList, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if len(line) > maxTLDLen {
			panic("pii: top-level domain longer than maxTLDLen: " + line)
		}
		m[line] = struct{}{}
	}
	return m
}()
