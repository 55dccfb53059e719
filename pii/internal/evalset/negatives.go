package evalset

import (
	"fmt"
	"strings"
)

// negatives adds documents that hold no value of any type, each a near
// miss of one: code, package pins, versions, hashes, UUIDs, timestamps,
// ISBNs, dates, numbers, private addresses, and values that fail their
// check.
func (g *gen) negatives() {
	for _, text := range fixedNegatives {
		b := &builder{}
		b.add(text)
		g.emit("negative:fixed", b)
	}
	for range 6 {
		for _, n := range negativeMakers {
			for range n.count {
				b := &builder{}
				b.add(n.make(g))
				g.emit("negative:"+n.kind, b)
			}
		}
	}
}

// fixedNegatives are hand-written near misses from code and prose.
var fixedNegatives = []string{
	"std::vector<int> v;",
	"std::map<std::string, int> counts; counts.insert({\"a\", 1});",
	"use std::collections::HashMap; let m: HashMap<u8, u8> = HashMap::new();",
	"Foo::Bar::baz(); a::b::c; Class::method()",
	"xs[1::2] and ys[::-1] and zs[10::20]",
	"The object prints as Handler@7f3a9c21 in the log.",
	"at com.example.app.Handler@1b6d3586 (Handler.java:42)",
	"npm i lodash@4.17.21 and react@18.3.1",
	"pip install requests==2.31.0; go get golang.org/x/text@v0.14.0",
	"yarn add @babel/core@7.22.0",
	"image: nginx@sha256:0d17b565c37bcbd895e9d92315a05c1c3c9a29f762b011a10c54a66cd53c9b31",
	"Use logo@2x.png and icon@3x.webp on retina screens.",
	"@media screen and (max-width: 600px) { body { margin: 0; } }",
	"@app.route('/users/<int:id>') def show(id): return str(id)",
	"ssh git@localhost and ping user@localhost",
	"port 8080 since 2024",
	"upload finished ts=1718236800005",
	"created_at=1718236800 updated_at=1718236800123456",
	"Listening on :8080 and :::443",
	"ratio 16:9, time 12:30:45, score 3:2",
	"mac address 00:1a:2b:3c:4d:5e on eth0",
	"version 2.0.0.1 released; build 10.0.19045.3803; Chrome/120.0.6099.109",
	"firmware v1.2.3.4 and app-4.3.2.1 and 1.2.3.4-beta",
	"4.3.2.1.in-addr.arpa is the reverse zone",
	"ISBN 978-3-16-148410-0 and ISBN 0-306-40615-2",
	"ISBN-13: 9780306406157, ISBN-10: 0306406152",
	"Order #123456789 shipped; tracking 1Z999AA10123456784.",
	"Total: $1,234,567.89 (EUR 1.234.567,89)",
	"Coordinates 40.7128, -74.0060 and 51.5074 N, 0.1278 W",
	"ZIP 90210-1234 and 10001-0001",
	"RFC 5737 and RFC 3849 define documentation ranges.",
	"HTTP/1.1 200 OK Content-Length: 1048576",
	"The LAN router is at 192.168.1.1 and the DNS at 10.0.0.53.",
	"loopback 127.0.0.1 and ::1, link-local fe80::1 and 169.254.0.1",
	"password: ********; token: <YOUR_TOKEN>; api_key = \"your_api_key_here\"",
	"export GITHUB_TOKEN=${GITHUB_TOKEN}; password = os.environ['DB_PASSWORD']",
	"{\"token_type\": \"bearer\", \"expires_in\": 3600}",
	"postgres://user:password@localhost:5432/db and mysql://root:@127.0.0.1/test",
	"sk_test_xxxxxxxxxxxxxxxxxxxxxxxx and ghp_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
	"public_key = \"MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\"",
	"-----BEGIN CERTIFICATE-----\nMIIDdzCCAl+gAwIBAgIEAgAAuTANBgkqhkiG9w0BAQUFADBaMQswCQYDVQQGEwJJ\n-----END CERTIFICATE-----",
	"-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEVs/o5+uQbTjL3chynL4wXgUg2R9\n-----END PUBLIC KEY-----",
	"data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
	"card 4111 1111 1111 1112 fails the check; 9111 1111 1111 1111 has no issuer.",
	"IBAN DE88 3704 0044 0532 0130 00 has a wrong check digit.",
	"000-12-3456, 666-12-3456 and 912-34-5678 are not valid SSNs.",
}

type negativeMaker struct {
	kind  string
	count int
	make  func(g *gen) string
}

var negativeMakers = []negativeMaker{
	{"uuid", 10, func(g *gen) string {
		return fmt.Sprintf("request id %s-%s-4%s-%s%s-%s", g.random(hexLower, 8), g.random(hexLower, 4),
			g.random(hexLower, 3), pick(g, []string{"8", "9", "a", "b"}), g.random(hexLower, 3), g.random(hexLower, 12))
	}},
	{"uuid:digits", 6, func(g *gen) string {
		return fmt.Sprintf("trace %s-%s-4%s-a%s-%s", g.random(digits, 8), g.random(digits, 4), g.random(digits, 3), g.random(digits, 3), g.random(digits, 12))
	}},
	{"hash", 10, func(g *gen) string {
		return pick(g, []string{"commit ", "sha256: ", "etag=", "md5 ", "checksum "}) + g.random(hexLower, pick(g, []int{32, 40, 64}))
	}},
	{"timestamp", 10, func(g *gen) string {
		ms := 1500000000000 + g.r.Int64N(300000000000)
		return fmt.Sprintf(pick(g, []string{"ts=%d", "upload finished at %d", "\"created\": %d,", "time_ms %d"}), ms)
	}},
	{"timestamp:iso", 6, func(g *gen) string {
		return fmt.Sprintf("at %04d-%02d-%02dT%02d:%02d:%02d.%03dZ", 2000+g.r.IntN(30), 1+g.r.IntN(12), 1+g.r.IntN(28), g.r.IntN(24), g.r.IntN(60), g.r.IntN(60), g.r.IntN(1000))
	}},
	{"date", 10, func(g *gen) string {
		y, m, d := 1950+g.r.IntN(80), 1+g.r.IntN(12), 1+g.r.IntN(28)
		return pick(g, []string{
			fmt.Sprintf("born %04d-%02d-%02d", y, m, d), fmt.Sprintf("due %02d.%02d.%04d", d, m, y),
			fmt.Sprintf("on %02d/%02d/%04d", m, d, y), fmt.Sprintf("on %d/%d/%02d", m, d, y%100),
			fmt.Sprintf("%04d/%02d/%02d", y, m, d),
		})
	}},
	{"version", 10, func(g *gen) string {
		a, b, c, d := g.r.IntN(20), g.r.IntN(30), g.r.IntN(300), g.r.IntN(9000)
		return pick(g, []string{
			fmt.Sprintf("v%d.%d.%d.%d", a, b, c, d%256), fmt.Sprintf("version %d.%d.%d.%d", a, b, c%256, d%256),
			fmt.Sprintf("Chrome/%d.0.%d.%d", 90+a, 4000+d, c), fmt.Sprintf("build %d.%d.%d.%d", a, b, c, d),
			fmt.Sprintf("libfoo-%d.%d.%d.%d.tar.gz", a, b, c%256, d%256), fmt.Sprintf("release %d.%d.%d", a, b, c),
		})
	}},
	{"isbn", 6, func(g *gen) string {
		return fmt.Sprintf("ISBN 978-%d-%s-%s-%d", g.r.IntN(10), g.random(digits, 3), g.random(digits, 5), g.r.IntN(10))
	}},
	{"number", 10, func(g *gen) string {
		return pick(g, []string{
			fmt.Sprintf("Order #%s", g.random(digits, 9)), fmt.Sprintf("population %d,%03d,%03d", 1+g.r.IntN(900), g.r.IntN(1000), g.r.IntN(1000)),
			fmt.Sprintf("pi is 3.%s", g.random(digits, 12)), fmt.Sprintf("invoice %s-%s", g.random(digits, 4), g.random(digits, 6)),
			fmt.Sprintf("serial %s", g.random(digits, 8)), fmt.Sprintf("account %s/%s", g.random(digits, 5), g.random(digits, 3)),
		})
	}},
	{"card:invalid", 8, func(g *gen) string {
		num := g.cardNumber("4", 16)
		last := (num[15]-'0'+1)%10 + '0'
		return "card " + num[:15] + string(rune(last))
	}},
	{"card:no-issuer", 6, func(g *gen) string {
		return "id " + g.cardNumber(pick(g, []string{"1", "7", "80", "85", "99"}), 16)
	}},
	{"iban:invalid", 6, func(g *gen) string {
		v := g.iban("DE")
		return "IBAN " + v[:2] + fmt.Sprintf("%02d", (int(v[2]-'0')*10+int(v[3]-'0')+1)%97) + v[4:]
	}},
	{"ssn:invalid", 6, func(g *gen) string {
		return fmt.Sprintf("SSN %03d-%02d-%04d", pick(g, []int{0, 666, 900 + g.r.IntN(100)}), 1+g.r.IntN(99), 1+g.r.IntN(9999))
	}},
	{"ip:private", 6, func(g *gen) string {
		return pick(g, []string{
			fmt.Sprintf("lan 192.168.%d.%d", g.r.IntN(256), 1+g.r.IntN(254)), fmt.Sprintf("host 10.%d.%d.%d", g.r.IntN(256), g.r.IntN(256), 1+g.r.IntN(254)),
			fmt.Sprintf("node 172.%d.%d.%d", 16+g.r.IntN(16), g.r.IntN(256), 1+g.r.IntN(254)), fmt.Sprintf("ula fd%s:%s::%s", g.random(hexLower, 2), g.random(hexLower, 4), g.random(hexLower, 3)),
		})
	}},
	{"code", 8, func(g *gen) string {
		return pick(g, []string{
			fmt.Sprintf("std::array<int, %d> a; a.at(%d);", 1+g.r.IntN(99), g.r.IntN(99)),
			fmt.Sprintf("if (x == %d) return %s;", g.r.IntN(1000), g.random(digits, 7)),
			fmt.Sprintf("const key = cache.get(\"%s\");", g.word(2, 3)),
			fmt.Sprintf("token = tokenizer.encode(text)[:%d]", 512+g.r.IntN(1000)),
			fmt.Sprintf("hf_%s_%s = load('%s')", g.word(1, 2), g.word(1, 2), g.word(2, 3)),
			fmt.Sprintf("x = arr[%d::%d]", g.r.IntN(9), 1+g.r.IntN(9)),
		})
	}},
	{"table", 10, func(g *gen) string {
		row := []string{g.word(1, 2)}
		for range 3 + g.r.IntN(6) {
			row = append(row, g.random(digits, 3+g.r.IntN(3)))
		}
		return strings.Join(row, pick(g, []string{" ", " | ", "\t"}))
	}},
	{"imei", 4, func(g *gen) string {
		return "IMEI " + g.cardNumber("35", 15)
	}},
	{"base64", 6, func(g *gen) string {
		return "blob " + g.random(base64std, 40+g.r.IntN(160)) + "=="
	}},
	{"hex:assignment", 6, func(g *gen) string {
		return pick(g, []string{"sha256", "etag", "checksum", "commit_id", "digest"}) + pick(g, []string{" = ", ": ", "="}) + "\"" + g.random(hexLower, 40) + "\""
	}},
	{"query", 6, func(g *gen) string {
		return fmt.Sprintf("https://shop.example.com/item?id=%s&ts=%d&page=%d", g.random(digits, 9), 1500000000000+g.r.Int64N(300000000000), g.r.IntN(50))
	}},
	{"secret:placeholder", 6, func(g *gen) string {
		return pick(g, []string{
			"api_key = \"" + strings.Repeat("x", 32) + "\"",
			"ghp_" + strings.Repeat("0", 36),
			"password: " + g.word(3, 4),
			"secret=$" + strings.ToUpper(g.word(1, 2)) + "_SECRET",
			"token: {{ secrets." + g.word(1, 2) + " }}",
		})
	}},
}
