package pii

// matchIPv4 returns the end of the IPv4 address that starts at text[i], a
// digit. An address is four decimal octets 0 to 255 joined by dots, with no
// leading zeros: "192.168.01.1" is rejected because its meaning differs
// between parsers (octal in inet_aton, decimal elsewhere).
func matchIPv4(text string, i int, includePrivate bool) (int, bool) {
	if !ipv4StartOK(text, i) {
		return 0, false
	}
	var addr uint32
	j := i
	for part := 0; part < 4; part++ {
		if part > 0 {
			if j >= len(text) || text[j] != '.' {
				return 0, false
			}
			j++
		}
		v, n := parseOctet(text, j)
		if n == 0 {
			return 0, false
		}
		addr = addr<<8 | v
		j += n
	}
	if !ipv4EndOK(text, j) || labelBefore(text, i, versionLabels) {
		return 0, false
	}
	if !includePrivate && !isPublicIPv4(addr) {
		return 0, false
	}
	return j, true
}

// parseOctet parses the decimal octet at text[j] and returns its value and
// length in bytes, or a length of 0 when there is none.
func parseOctet(text string, j int) (uint32, int) {
	v, n := uint32(0), 0
	for j+n < len(text) && isDigit(text[j+n]) {
		if n == 3 {
			return 0, 0
		}
		v = v*10 + uint32(text[j+n]-'0')
		n++
	}
	if n == 0 || v > 255 || (n > 1 && text[j] == '0') {
		return 0, 0
	}
	return v, n
}

// ipv4StartOK reports whether an address may start at text[i]. These are
// decisions, not standards, and the tests pin them:
//   - a letter, digit or '_' before the first digit glues the number to a
//     token, so versions such as v1.2.3.4 are not addresses;
//   - a dot after a letter or digit makes it a later part of a longer dotted
//     name, as in 1.2.3.4.5 read from its second number;
//   - a hyphen after a letter makes it a versioned name such as
//     app-1.2.3.4, while a hyphen after a digit separates a range.
//
// A version after a label such as "version" or "build" is not an address
// (see versionLabels). A bare one, "ships 1.2.3.4 today", looks exactly
// like an address and is reported.
func ipv4StartOK(text string, i int) bool {
	if i == 0 {
		return true
	}
	p := text[i-1]
	if isWordByte(p) {
		return false
	}
	if i >= 2 && ((p == '.' && isAlnum(text[i-2])) || (p == '-' && isAlpha(text[i-2]))) {
		return false
	}
	return true
}

// ipv4EndOK reports whether an address may end before text[j]. A following
// letter, digit or '_' glues it to a token. A dot and a further part make
// it a longer dotted name (1.2.3.4.5, 4.3.2.1.in-addr.arpa). A hyphen and a
// letter make it a pre-release version (1.2.3.4-beta), while a hyphen and a
// digit still end an address, as in the range 10.0.0.1-10.0.0.9.
func ipv4EndOK(text string, j int) bool {
	if j == len(text) {
		return true
	}
	c := text[j]
	if isWordByte(c) {
		return false
	}
	if j+1 < len(text) {
		next := text[j+1]
		if c == '.' && isAlnum(next) {
			return false
		}
		if c == '-' && isAlpha(next) {
			return false
		}
	}
	return true
}

// nonPublicIPv4 lists the IPv4 ranges that are not public unicast space:
// the IANA IPv4 Special-Purpose Address Registry (RFC 6890 and its
// updates), multicast and the former class E.
//
// The documentation ranges TEST-NET-1, -2 and -3 (RFC 5737) are left out on
// purpose, so they are reported like public addresses, as 2001:db8::/32 is
// for IPv6. Tutorials and anonymised logs put them where a real address
// would stand, and the scanner cannot tell whether the writer replaced a
// real address, so an address in text is scrubbed whatever its range.
var nonPublicIPv4 = [...]struct {
	prefix uint32
	bits   uint
}{
	{0x00000000, 8},  // 0.0.0.0/8, "this network"
	{0x0A000000, 8},  // 10.0.0.0/8, private (RFC 1918)
	{0x64400000, 10}, // 100.64.0.0/10, shared address space for CGNAT (RFC 6598)
	{0x7F000000, 8},  // 127.0.0.0/8, loopback
	{0xA9FE0000, 16}, // 169.254.0.0/16, link-local
	{0xAC100000, 12}, // 172.16.0.0/12, private (RFC 1918)
	{0xC0000000, 24}, // 192.0.0.0/24, IETF protocol assignments
	{0xC0586300, 24}, // 192.88.99.0/24, former 6to4 relay anycast (RFC 7526)
	{0xC0A80000, 16}, // 192.168.0.0/16, private (RFC 1918)
	{0xC6120000, 15}, // 198.18.0.0/15, benchmarking (RFC 2544)
	{0xE0000000, 4},  // 224.0.0.0/4, multicast
	{0xF0000000, 4},  // 240.0.0.0/4, reserved, with the broadcast address 255.255.255.255
}

// isPublicIPv4 reports whether addr, in network byte order, is a public
// unicast address.
func isPublicIPv4(addr uint32) bool {
	for _, r := range nonPublicIPv4 {
		mask := ^uint32(0) << (32 - r.bits)
		if addr&mask == r.prefix {
			return false
		}
	}
	return true
}
