package pii

import (
	"net/netip"
	"strings"
)

// maxIPv6Len is the length of the longest IPv6 address in text form without
// a zone: eight groups of four hex digits with the last two written as a
// dotted IPv4 address.
const maxIPv6Len = len("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255")

func isIPv6Byte(c byte) bool { return isHex(c) || c == ':' || c == '.' }

// ipv6 matches the IPv6 address around the ':' at text[colon]. The address
// is the run of hex digits, colons and dots around it, trimmed of trailing
// punctuation, and must parse with net/netip. Code is full of colons, so a
// parsed address is still rejected when
//   - a letter, digit or '_' is glued to it, as in std::vector or a::b;
//   - it holds no decimal digit, as in dead::beef or cafe::;
//   - it is compressed ("::") and has fewer than three groups, unless its
//     first group has four digits: 2001:db8:: is an address, 1::2 a Python
//     slice.
//
// A MAC address (six groups) and a time (12:30:45) never parse.
func (sc *scan) ipv6(colon int) (int, bool) {
	text := sc.text
	start := colon
	for start > sc.floor() && colon-start < maxIPv6Len && isIPv6Byte(text[start-1]) {
		start--
	}
	end := colon + 1
	for end < len(text) && end-start < maxIPv6Len+1 && isIPv6Byte(text[end]) {
		end++
	}
	if end-start > maxIPv6Len {
		return colon + 1, false
	}
	// A sentence or a port separator may follow: "at 2001:db8::1." or
	// "2001:db8::1: connection refused".
	for end-1 > start && (text[end-1] == '.' || (text[end-1] == ':' && text[end-2] != ':')) {
		end--
	}
	// Dots before the first group belong to the text ("...2001:db8::1").
	for start < colon && text[start] == '.' {
		start++
	}
	if start > 0 && (isWordByte(text[start-1]) || text[start-1] == '.') {
		return colon + 1, false
	}
	if end < len(text) && (isWordByte(text[end]) || (text[end] == ':' && end+1 < len(text) && isHex(text[end+1]))) {
		return colon + 1, false
	}
	value := text[start:end]
	if !plausibleIPv6(value) {
		return colon + 1, false
	}
	addr, err := netip.ParseAddr(value)
	if err != nil || !addr.Is6() {
		return colon + 1, false
	}
	if !sc.s.includePrivate && !isPublicIPv6(addr) {
		return end, false
	}
	sc.add(IPAddress, start, end)
	return end, true
}

// plausibleIPv6 applies the rules of ipv6 that net/netip does not: a
// decimal digit somewhere, and enough groups when compressed.
func plausibleIPv6(s string) bool {
	if !strings.ContainsAny(s, "0123456789") {
		return false
	}
	if !strings.Contains(s, "::") {
		return true
	}
	groups := 0
	for _, g := range strings.Split(s, ":") {
		switch {
		case strings.Contains(g, "."):
			groups += 2 // a dotted IPv4 address holds 32 bits
		case g != "":
			groups++
		}
	}
	first, _, _ := strings.Cut(s, ":")
	return groups >= 3 || len(first) == 4
}

// nonPublicIPv6 lists the IPv6 ranges that are not public unicast space,
// from the IANA IPv6 Special-Purpose Address Registry (RFC 6890 and its
// updates). As for IPv4, the documentation ranges 2001:db8::/32 (RFC 3849)
// and 3fff::/20 (RFC 9637) are reported like public addresses.
var nonPublicIPv6 = []netip.Prefix{
	netip.MustParsePrefix("::/128"),        // unspecified
	netip.MustParsePrefix("::1/128"),       // loopback
	netip.MustParsePrefix("100::/64"),      // discard-only (RFC 6666)
	netip.MustParsePrefix("2001:2::/48"),   // benchmarking (RFC 5180)
	netip.MustParsePrefix("fc00::/7"),      // unique local (RFC 4193)
	netip.MustParsePrefix("fe80::/10"),     // link-local
	netip.MustParsePrefix("fec0::/10"),     // former site-local (RFC 3879)
	netip.MustParsePrefix("ff00::/8"),      // multicast
	netip.MustParsePrefix("::ffff:0:0/96"), // IPv4-mapped; judged by the IPv4 address
}

// isPublicIPv6 reports whether addr is a public unicast address. An
// IPv4-mapped address is public when its IPv4 address is.
func isPublicIPv6(addr netip.Addr) bool {
	if addr.Is4In6() {
		v4 := addr.Unmap().As4()
		return isPublicIPv4(uint32(v4[0])<<24 | uint32(v4[1])<<16 | uint32(v4[2])<<8 | uint32(v4[3]))
	}
	for _, p := range nonPublicIPv6 {
		if p.Contains(addr) {
			return false
		}
	}
	return true
}
