package pii

import (
	"net/netip"
	"slices"
	"testing"
)

// found returns the matched values of text, formatted as TYPE:value.
func found(t *testing.T, o Options, text string) []string {
	t.Helper()
	s, err := NewScanner(o)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range s.Scan(text, nil) {
		out = append(out, m.Type.String()+":"+text[m.Start:m.End])
	}
	return out
}

// scanCase is a text and the matches a scan must return, as TYPE:value.
type scanCase struct {
	name, text string
	want       []string
}

func runScanCases(t *testing.T, o Options, cases []scanCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := found(t, o, c.text)
			if !slices.Equal(got, c.want) {
				t.Errorf("Scan(%q) = %q, want %q", c.text, got, c.want)
			}
		})
	}
}

func TestScanEmail(t *testing.T) {
	cases := []struct {
		name, text string
		want       []string
	}{
		{"plain", "mail jane.doe@example.com today", []string{"EMAIL_ADDRESS:jane.doe@example.com"}},
		{"sentence end", "Write to jane@example.com.", []string{"EMAIL_ADDRESS:jane@example.com"}},
		{"angle brackets", "From: Jane <jane@mail.example.org>", []string{"EMAIL_ADDRESS:jane@mail.example.org"}},
		{"quoted", "'jane@example.com'", []string{"EMAIL_ADDRESS:jane@example.com"}},
		{"mailto", `<a href="mailto:info@example.co.uk">`, []string{"EMAIL_ADDRESS:info@example.co.uk"}},
		{"plus tag", "j.doe+news@example.com", []string{"EMAIL_ADDRESS:j.doe+news@example.com"}},
		{"digits local", "QQ 12345678@qq.com", []string{"EMAIL_ADDRESS:12345678@qq.com"}},
		{"upper case", "JANE@EXAMPLE.COM", []string{"EMAIL_ADDRESS:JANE@EXAMPLE.COM"}},
		{"hyphen domain", "a_b@my-site.example.net", []string{"EMAIL_ADDRESS:a_b@my-site.example.net"}},
		{"long tld", "ops@mail.example.photography", []string{"EMAIL_ADDRESS:ops@mail.example.photography"}},
		{"trailing dashes", "jane@example.com--", []string{"EMAIL_ADDRESS:jane@example.com"}},
		{"after ellipsis", "see...jane@example.com", []string{"EMAIL_ADDRESS:jane@example.com"}},
		{"query value", "?to=jane@example.com", []string{"EMAIL_ADDRESS:jane@example.com"}},
		{"cjk before", "联系jane@example.cn。", []string{"EMAIL_ADDRESS:jane@example.cn"}},
		{"two addresses", "a@example.com, b@example.org", []string{"EMAIL_ADDRESS:a@example.com", "EMAIL_ADDRESS:b@example.org"}},
		{"zip tld", "jane@example.zip", []string{"EMAIL_ADDRESS:jane@example.zip"}},

		{"npm pin", "npm i lodash@4.17.21", nil},
		{"package version", "pkg@1.2.3", nil},
		{"pre-release", "react@18.3.0-canary.1", nil},
		{"pre-release tgz", "pkg@1.0.0-beta.tgz", nil},
		{"java identity", "Class@7f3a9c21", nil},
		{"java identity dotted", "java.lang.Object@1b6d3586.", nil},
		{"localhost", "user@localhost", nil},
		{"retina asset", "logo@2x.png", nil},
		{"one letter tld", "jane@example.c", nil},
		{"reserved tld", "jane@example.test jane@host.example jane@printer.local", nil},
		{"not a tld", "jane@example.comx", nil},
		{"object identity", "at Handler@7f3a9c21", nil},
		{"digit tld", "jane@example.c0m", nil},
		{"handle", "follow @jane on social media", nil},
		{"url handle", "https://medium.com/@jane.doe", nil},
		{"css at-rule", "@media screen and (max-width: 600px)", nil},
		{"trailing dot local", "jane.@example.com", nil},
		{"empty domain", "jane@", nil},
		{"dot after at", "jane@.example.com", nil},
		{"hyphen label start", "jane@-example.com", nil},
		{"hyphen label end", "jane@example-.com", nil},
		{"long local", "a123456789b123456789c123456789d123456789e123456789f123456789g12345@example.com", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := found(t, Options{}, c.text)
			if !slices.Equal(got, c.want) {
				t.Errorf("Scan(%q) = %q, want %q", c.text, got, c.want)
			}
		})
	}
}

func TestScanIPv4(t *testing.T) {
	cases := []struct {
		name, text string
		want       []string
	}{
		{"plain", "server at 8.8.8.8 answered", []string{"IP_ADDRESS:8.8.8.8"}},
		{"sentence end", "Ping 1.1.1.1.", []string{"IP_ADDRESS:1.1.1.1"}},
		{"with port", "connect 93.184.216.34:443", []string{"IP_ADDRESS:93.184.216.34"}},
		{"cidr", "block 45.33.0.0/16 now", []string{"IP_ADDRESS:45.33.0.0"}},
		{"url", "http://93.184.216.34/index.html", []string{"IP_ADDRESS:93.184.216.34"}},
		{"range", "8.8.8.8-8.8.8.9", []string{"IP_ADDRESS:8.8.8.8", "IP_ADDRESS:8.8.8.9"}},
		{"parenthesised", "(203.0.114.1)", []string{"IP_ADDRESS:203.0.114.1"}},
		{"documentation", "192.0.2.1 198.51.100.7 203.0.113.9", []string{"IP_ADDRESS:192.0.2.1", "IP_ADDRESS:198.51.100.7", "IP_ADDRESS:203.0.113.9"}},
		{"ellipsis before", "...8.8.4.4", []string{"IP_ADDRESS:8.8.4.4"}},
		{"zero octet", "1.0.0.1", []string{"IP_ADDRESS:1.0.0.1"}},
		{"max octets", "223.255.255.255", []string{"IP_ADDRESS:223.255.255.255"}},
		{"ssh user", "root@8.8.8.8", []string{"IP_ADDRESS:8.8.8.8"}},
		{"cjk around", "地址8.8.8.8。", []string{"IP_ADDRESS:8.8.8.8"}},
		// A four-part version without a label looks exactly like an
		// address.
		{"bare version", "ships 2.0.0.1 today", []string{"IP_ADDRESS:2.0.0.1"}},
		{"labelled version", "version 2.0.0.1, Build: 8.18.8.135, v. 1.2.3.4", nil},

		{"private 192.168", "192.168.1.1", nil},
		{"private 10", "10.1.2.3", nil},
		{"private 172.16", "172.16.0.1 172.31.255.255", nil},
		{"loopback", "127.0.0.1", nil},
		{"link-local", "169.254.10.20", nil},
		{"cgnat", "100.64.0.1 100.127.255.255", nil},
		{"this network", "0.0.0.0", nil},
		{"multicast", "224.0.0.251", nil},
		{"broadcast", "255.255.255.255", nil},
		{"benchmarking", "198.18.0.1", nil},
		{"octet too big", "999.1.1.1", nil},
		{"octet 256", "8.8.8.256", nil},
		{"five parts", "1.2.3.4.5", nil},
		{"leading zero", "8.8.08.8", nil},
		{"four digits", "8.8.8.8888", nil},
		{"three parts", "8.8.8", nil},
		{"v prefix", "v1.2.3.4", nil},
		{"glued letter", "x8.8.8.8", nil},
		{"glued suffix", "8.8.8.8x", nil},
		{"hyphenated name", "app-1.2.3.4", nil},
		{"pre-release", "1.2.3.4-beta", nil},
		{"reverse dns", "4.3.2.1.in-addr.arpa", nil},
		{"chrome version", "Chrome/91.0.4472.124", nil},
		{"date", "12.10.2020", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := found(t, Options{}, c.text)
			if !slices.Equal(got, c.want) {
				t.Errorf("Scan(%q) = %q, want %q", c.text, got, c.want)
			}
		})
	}
}

func TestScanIncludePrivate(t *testing.T) {
	text := "lan 192.168.1.1, lo 127.0.0.1, any 0.0.0.0, bad 999.1.1.1, ula fd12:3456:789a::1, link fe80::1ff:fe23:4567:890a"
	want := []string{"IP_ADDRESS:192.168.1.1", "IP_ADDRESS:127.0.0.1", "IP_ADDRESS:0.0.0.0",
		"IP_ADDRESS:fd12:3456:789a::1", "IP_ADDRESS:fe80::1ff:fe23:4567:890a"}
	if got := found(t, Options{IncludePrivate: true}, text); !slices.Equal(got, want) {
		t.Errorf("Scan(%q) = %q, want %q", text, got, want)
	}
	if got := found(t, Options{}, text); len(got) != 0 {
		t.Errorf("Scan(%q) without private = %q, want none", text, got)
	}
}

func TestScanTypes(t *testing.T) {
	text := "jane@example.com from 8.8.8.8, call +44 20 7946 0958, key AKIAZ3MPLEK3YID7Q2WX"
	cases := []struct {
		types Type
		want  string
	}{
		{EmailAddress, "EMAIL_ADDRESS:jane@example.com"},
		{IPAddress, "IP_ADDRESS:8.8.8.8"},
		{PhoneNumber, "PHONE_NUMBER:+44 20 7946 0958"},
		{Secret, "SECRET:AKIAZ3MPLEK3YID7Q2WX"},
	}
	for _, c := range cases {
		if got := found(t, Options{Types: c.types}, text); !slices.Equal(got, []string{c.want}) {
			t.Errorf("%s only: got %q, want %q", c.types, got, c.want)
		}
	}
	if _, err := NewScanner(Options{Types: 1 << 7}); err == nil {
		t.Error("NewScanner accepted an unknown type")
	}
}

func TestScanOverlap(t *testing.T) {
	cases := []struct {
		name, text string
		want       []string
	}{
		{"ip as local part", "1.2.3.4@example.com", []string{"EMAIL_ADDRESS:1.2.3.4@example.com"}},
		{"chained addresses", "a@b.co.uk@g.io", []string{"EMAIL_ADDRESS:a@b.co.uk@g.io"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := found(t, Options{}, c.text)
			if !slices.Equal(got, c.want) {
				t.Errorf("Scan(%q) = %q, want %q", c.text, got, c.want)
			}
		})
	}
}

func TestScanAppendsToDst(t *testing.T) {
	prior := []Match{{Type: IPAddress, Start: 0, End: 100}}
	got := Scan("1.2.3.4@example.com", prior)
	if len(got) != 2 || got[0] != prior[0] {
		t.Fatalf("Scan dropped or changed the caller's matches: %+v", got)
	}
	if got[1].Type != EmailAddress {
		t.Errorf("appended match = %+v, want an email", got[1])
	}
}

func TestIsPublicIPv4AgreesWithNetip(t *testing.T) {
	// Every address that netip classes as special must be non-public here.
	for a := 0; a < 256; a++ {
		for _, b := range []byte{0, 1, 16, 31, 32, 63, 64, 88, 99, 127, 128, 168, 254, 255} {
			ip := netip.AddrFrom4([4]byte{byte(a), b, 2, 1})
			special := ip.IsPrivate() || ip.IsLoopback() || ip.IsLinkLocalUnicast() ||
				ip.IsMulticast() || ip.IsUnspecified() || !ip.IsGlobalUnicast()
			addr := uint32(a)<<24 | uint32(b)<<16 | 2<<8 | 1
			if special && isPublicIPv4(addr) {
				t.Errorf("isPublicIPv4(%s) = true, but netip classes it as special", ip)
			}
		}
	}
}

func TestReplace(t *testing.T) {
	text := "Mail jane@example.com or ping 8.8.8.8."
	ms := Scan(text, nil)

	want := "Mail |||EMAIL_ADDRESS||| or ping |||IP_ADDRESS|||."
	if got := Replace(text, ms, Tag); got != want {
		t.Errorf("Replace with Tag = %q, want %q", got, want)
	}
	want = "Mail ################ or ping #######."
	if got := Replace(text, ms, Mask('#')); got != want {
		t.Errorf("Replace with Mask = %q, want %q", got, want)
	}
	if got := Replace(text, nil, Tag); got != text {
		t.Errorf("Replace without matches = %q, want the text unchanged", got)
	}
}

func TestReplaceSkipsBadSpans(t *testing.T) {
	text := "abcdef"
	ms := []Match{
		{Type: IPAddress, Start: 1, End: 2},
		{Type: IPAddress, Start: 1, End: 3},  // overlaps the previous
		{Type: IPAddress, Start: 4, End: 3},  // inverted
		{Type: IPAddress, Start: 5, End: 99}, // out of bounds
		{Type: IPAddress, Start: -1, End: 1}, // negative
	}
	want := "a|||IP_ADDRESS|||cdef"
	if got := Replace(text, ms, Tag); got != want {
		t.Errorf("Replace = %q, want %q", got, want)
	}
}

func TestTypeNames(t *testing.T) {
	want := []string{"EMAIL_ADDRESS", "PHONE_NUMBER", "IP_ADDRESS", "CREDIT_CARD", "IBAN_CODE", "US_SSN", "SECRET"}
	for i, typ := range Types {
		if typ.String() != want[i] || typ.Tag() != "|||"+want[i]+"|||" {
			t.Errorf("type %d: name %s, tag %s, want %s", i, typ, typ.Tag(), want[i])
		}
	}
	if got := Type(128).String(); got != "Type(128)" {
		t.Errorf("unknown type name = %s", got)
	}
}
