package evalset

import (
	"encoding/base64"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

var emailTLDs = []string{"com", "org", "net", "io", "de", "fr", "info", "dev", "app", "co.uk", "com.au", "museum", "photography", "nl", "edu"}

var emailTemplates = []string{
	"Contact me at {} for details.",
	"Write to {}.",
	"From: Kelo Vantar <{}>",
	`<a href="mailto:{}">mail us</a>`,
	"email:{}",
	"({})",
	"Send the form to {}, then wait for the reply.",
	"联系{}。",
	"Reply-To: {}",
	"CC: '{}'",
}

func (g *gen) email() string {
	local := g.word(1, 3)
	switch g.r.IntN(6) {
	case 0:
		local += "." + g.word(1, 2)
	case 1:
		local += "_" + g.random(digits, 2)
	case 2:
		local += "+" + g.word(1, 1)
	case 3:
		local += "-" + g.word(1, 2)
	case 4:
		local += g.random(digits, 3)
	}
	domain := g.word(1, 3)
	if g.r.IntN(4) == 0 {
		domain = g.word(1, 2) + "." + domain
	}
	if g.r.IntN(5) == 0 {
		domain += "-" + g.word(1, 1)
	}
	v := local + "@" + domain + "." + pick(g, emailTLDs)
	if g.r.IntN(10) == 0 {
		v = strings.ToUpper(v)
	}
	return v
}

func (g *gen) emails(n int) {
	for range n {
		g.sentence("email", "EMAIL_ADDRESS", pick(g, emailTemplates), g.email())
	}
}

// Regions of the generated phone numbers: national formats for the
// scanner's default regions, international ones for many more.
var (
	nationalRegions      = []string{"US", "GB", "DE", "FR", "IN", "JP", "AU"}
	internationalRegions = []string{"US", "GB", "DE", "FR", "IN", "JP", "AU", "BR", "CN", "ES", "IT", "NL", "SE", "MX", "ZA", "NG", "KR", "CA", "CH", "PL", "TR", "AR", "EG", "RU"}
)

var phoneTemplates = []string{
	"Call {} for an appointment.",
	"Tel: {}",
	"Phone:{}",
	"call{}now",
	"Fax {}.",
	"You can reach the front desk on {} during office hours.",
	"電話{}まで",
	"WhatsApp ({})",
	"Mobile - {}",
}

// phoneNumber returns a valid number of region: the region's example
// number of a random type with its last digits drawn again until
// libphonenumber accepts it.
func (g *gen) phoneNumber(region string) *phonenumbers.PhoneNumber {
	typ := phonenumbers.FIXED_LINE
	if g.r.IntN(2) == 0 {
		typ = phonenumbers.MOBILE
	}
	ex := phonenumbers.GetExampleNumberForType(region, typ)
	nsn := phonenumbers.GetNationalSignificantNumber(ex)
	keep := max(2, len(nsn)-5)
	for range 50 {
		candidate := nsn[:keep] + g.random(digits, len(nsn)-keep)
		num, err := phonenumbers.Parse("+"+strconv.Itoa(int(ex.GetCountryCode()))+candidate, "ZZ")
		if err == nil && phonenumbers.IsValidNumber(num) && phonenumbers.GetRegionCodeForNumber(num) == region {
			return num
		}
	}
	return ex
}

func (g *gen) phones(n int) {
	for i := range n {
		var kind, v string
		if i%2 == 0 {
			region := pick(g, nationalRegions)
			num := g.phoneNumber(region)
			kind = "phone:national:" + region
			v = phonenumbers.Format(num, phonenumbers.NATIONAL)
			if region == "US" {
				nsn := phonenumbers.GetNationalSignificantNumber(num)
				a, b, c := nsn[:3], nsn[3:6], nsn[6:]
				v = pick(g, []string{v, a + "-" + b + "-" + c, a + "." + b + "." + c, nsn, "1-" + a + "-" + b + "-" + c, "(" + a + ")" + b + "-" + c})
			}
		} else {
			region := pick(g, internationalRegions)
			num := g.phoneNumber(region)
			kind = "phone:international:" + region
			switch g.r.IntN(4) {
			case 0:
				v = phonenumbers.Format(num, phonenumbers.E164)
			case 1:
				v = strings.ReplaceAll(phonenumbers.Format(num, phonenumbers.INTERNATIONAL), " ", "-")
			default:
				v = phonenumbers.Format(num, phonenumbers.INTERNATIONAL)
			}
		}
		g.sentence(kind, "PHONE_NUMBER", pick(g, phoneTemplates), v)
	}
}

var ipTemplates = []string{
	"The server at {} answered the request.",
	"connect to {}:443 over TLS",
	"http://{}/index.html",
	"Blocked {}, after ten failed logins.",
	"peer={}",
	"from {} (reverse lookup failed)",
}

var ipv6Templates = []string{
	"The server at {} answered the request.",
	"http://[{}]:8080/status",
	"Blocked {}, after ten failed logins.",
	"AAAA record: {}",
	"gateway {}",
}

// publicIPv4 draws an address outside the ranges the scanner treats as
// not public.
func (g *gen) publicIPv4() string {
	for {
		a := [4]byte{byte(1 + g.r.IntN(223)), byte(g.r.IntN(256)), byte(g.r.IntN(256)), byte(1 + g.r.IntN(254))}
		ip := netip.AddrFrom4(a)
		if ip.IsPrivate() || ip.IsLoopback() || a[0] == 0 || a[0] == 127 || (a[0] == 100 && a[1]&0xc0 == 64) ||
			(a[0] == 169 && a[1] == 254) || (a[0] == 192 && a[1] == 0 && a[2] == 0) || (a[0] == 192 && a[1] == 88 && a[2] == 99) ||
			(a[0] == 198 && (a[1] == 18 || a[1] == 19)) {
			continue
		}
		return ip.String()
	}
}

func (g *gen) publicIPv6() string {
	var a [16]byte
	a[0] = 0x20 + byte(g.r.IntN(0x10)) // 2000::/4, global unicast
	if a[0] == 0x20 && g.r.IntN(4) == 0 {
		a[1], a[2], a[3] = 0x01, 0x0d, 0xb8 // documentation range
	} else {
		a[1] = byte(1 + g.r.IntN(255))
	}
	for i := 4; i < 16; i++ {
		if g.r.IntN(3) > 0 {
			a[i] = byte(g.r.IntN(256))
		}
	}
	ip := netip.AddrFrom16(a)
	switch g.r.IntN(4) {
	case 0: // full form, no compression
		s := ip.StringExpanded()
		parts := strings.Split(s, ":")
		for i, p := range parts {
			parts[i] = strings.TrimLeft(p, "0")
			if parts[i] == "" {
				parts[i] = "0"
			}
		}
		return strings.Join(parts, ":")
	case 1:
		return strings.ToUpper(ip.String())
	}
	return ip.String()
}

func (g *gen) ips(n int) {
	for i := range n {
		if i%3 == 2 {
			g.sentence("ip:v6", "IP_ADDRESS", pick(g, ipv6Templates), g.publicIPv6())
			continue
		}
		g.sentence("ip:v4", "IP_ADDRESS", pick(g, ipTemplates), g.publicIPv4())
	}
}

// cardIssuers are prefixes and lengths of the generated card numbers.
var cardIssuers = []struct {
	name, prefix string
	length       int
}{
	{"visa", "4", 16}, {"visa", "4", 13}, {"visa", "4", 19}, {"mastercard", "5", 16}, {"mastercard2", "2", 16},
	{"amex", "34", 15}, {"amex", "37", 15}, {"discover", "6011", 16}, {"discover", "65", 16}, {"jcb", "35", 16},
	{"unionpay", "62", 17}, {"diners", "36", 14}, {"maestro", "6759", 12}, {"mir", "220", 16},
}

var cardTemplates = []string{
	"Card number: {}",
	"Please charge {} for the deposit.",
	"cc={}",
	"My new credit card number is {}.",
	"Paid with card {} (expires 09/27).",
}

// cardNumber draws a number of the issuer and sets its Luhn check digit.
func (g *gen) cardNumber(prefix string, length int) string {
	p := prefix
	switch prefix {
	case "5":
		p += string(rune('1' + g.r.IntN(5)))
	case "2":
		p = strconv.Itoa(2221 + g.r.IntN(500))
	case "35":
		p = strconv.Itoa(3528 + g.r.IntN(62))
	case "220":
		p += string(rune('0' + g.r.IntN(5)))
	}
	body := []byte(p + g.random(digits, length-len(p)-1) + "0")
	sum := 0
	for i := len(body) - 2; i >= 0; i -= 2 {
		d := int(body[i]-'0') * 2
		if d > 9 {
			d -= 9
		}
		sum += d
	}
	for i := len(body) - 3; i >= 0; i -= 2 {
		sum += int(body[i] - '0')
	}
	body[len(body)-1] = byte('0' + (10-sum%10)%10)
	return string(body)
}

func (g *gen) cards(n int) {
	for range n {
		is := pick(g, cardIssuers)
		num := g.cardNumber(is.prefix, is.length)
		v := num
		switch sep := pick(g, []string{"", " ", "-"}); {
		case sep == "":
		case is.length == 15:
			v = num[:4] + sep + num[4:10] + sep + num[10:]
		default:
			var groups []string
			for i := 0; i < len(num); i += 4 {
				groups = append(groups, num[i:min(i+4, len(num))])
			}
			v = strings.Join(groups, sep)
		}
		g.sentence("card:"+is.name, "CREDIT_CARD", pick(g, cardTemplates), v)
	}
}

// ibanFormats gives each country's BBAN as a layout: 'n' a digit, 'a' an
// upper-case letter, 'c' either.
var ibanFormats = map[string]string{
	"DE": "nnnnnnnnnnnnnnnnnn", "GB": "aaaannnnnnnnnnnnnn", "FR": "nnnnnnnnnnnnnnnnnnnnncc", "ES": "nnnnnnnnnnnnnnnnnnnn",
	"IT": "annnnnnnnnncccccccccccc", "NL": "aaaannnnnnnnnn", "BE": "nnnnnnnnnnnn", "CH": "nnnnncccccccccccc",
	"AT": "nnnnnnnnnnnnnnnn", "PL": "nnnnnnnnnnnnnnnnnnnnnnnn", "SE": "nnnnnnnnnnnnnnnnnnnn", "NO": "nnnnnnnnnnn",
	"PT": "nnnnnnnnnnnnnnnnnnnnn", "IE": "aaaannnnnnnnnnnnnn", "DK": "nnnnnnnnnnnnnn", "BR": "nnnnnnnnnnnnnnnnnnnnnnnac",
}

var ibanTemplates = []string{
	"IBAN: {}",
	"Please transfer the amount to {} by Friday.",
	"Kontoverbindung {}, BIC to follow.",
	"account {}",
	"IBAN {}.",
}

func (g *gen) iban(country string) string {
	var bban strings.Builder
	for _, c := range ibanFormats[country] {
		switch c {
		case 'n':
			bban.WriteString(g.random(digits, 1))
		case 'a':
			bban.WriteString(g.random("ABCDEFGHIJKLMNOPQRSTUVWXYZ", 1))
		default:
			bban.WriteString(g.random("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 1))
		}
	}
	rem := 0
	for _, c := range bban.String() + country + "00" {
		if c >= '0' && c <= '9' {
			rem = (rem*10 + int(c-'0')) % 97
		} else {
			rem = (rem*100 + int(c-'A') + 10) % 97
		}
	}
	return fmt.Sprintf("%s%02d%s", country, 98-rem, bban.String())
}

func (g *gen) ibans(n int) {
	countries := make([]string, 0, len(ibanFormats))
	for _, c := range []string{"DE", "GB", "FR", "ES", "IT", "NL", "BE", "CH", "AT", "PL", "SE", "NO", "PT", "IE", "DK", "BR"} {
		countries = append(countries, c)
	}
	for range n {
		country := pick(g, countries)
		v := g.iban(country)
		if g.r.IntN(2) == 0 {
			var groups []string
			for i := 0; i < len(v); i += 4 {
				groups = append(groups, v[i:min(i+4, len(v))])
			}
			v = strings.Join(groups, " ")
		}
		g.sentence("iban:"+country, "IBAN_CODE", pick(g, ibanTemplates), v)
	}
}

var ssnTemplates = []string{
	"SSN: {}",
	"My social security number is {}.",
	"ssn={}",
	"Employee SSN {} on file.",
}

func (g *gen) ssns(n int) {
	for range n {
		area := 1 + g.r.IntN(899)
		if area == 666 {
			area = 665
		}
		sep := pick(g, []string{"-", "-", " "})
		v := fmt.Sprintf("%03d%s%02d%s%04d", area, sep, 1+g.r.IntN(99), sep, 1+g.r.IntN(9999))
		g.sentence("ssn", "US_SSN", pick(g, ssnTemplates), v)
	}
}

// jwt returns a token with a real JSON header and payload and a random
// signature.
func (g *gen) jwt() string {
	enc := base64.RawURLEncoding
	header := enc.EncodeToString([]byte(`{"alg":"` + pick(g, []string{"HS256", "RS256", "ES256"}) + `","typ":"JWT"}`))
	payload := enc.EncodeToString([]byte(fmt.Sprintf(`{"sub":"%s","iat":%d}`, g.word(2, 3), 1600000000+g.r.IntN(100000000))))
	sig := make([]byte, 32)
	for i := range sig {
		sig[i] = byte(g.r.IntN(256))
	}
	return header + "." + payload + "." + enc.EncodeToString(sig)
}

// pem returns a private key block with a random base64 body.
func (g *gen) pem() string {
	label := pick(g, []string{"RSA PRIVATE KEY", "EC PRIVATE KEY", "PRIVATE KEY", "OPENSSH PRIVATE KEY", "ENCRYPTED PRIVATE KEY"})
	var b strings.Builder
	b.WriteString("-----BEGIN " + label + "-----\n")
	for range 3 + g.r.IntN(6) {
		b.WriteString(g.random(base64std, 64) + "\n")
	}
	b.WriteString(g.random(base64std, 12+g.r.IntN(40)) + "==\n")
	b.WriteString("-----END " + label + "-----")
	return b.String()
}

// secretCase makes one labelled secret: the text before the value, the
// value and the text after it.
func (g *gen) secretCase() (string, string, string, string) {
	switch k := g.r.IntN(15); k {
	case 0:
		return "aws:key-id", "aws_access_key_id = ", "AKIA" + g.random(upper32, 16), ""
	case 1:
		return "aws:secret", "AWS_SECRET_ACCESS_KEY=", g.random(base64std, 40), ""
	case 2:
		return "github", "git clone https://github.com/x/y with token ", "ghp_" + g.random(alnum, 36), " today"
	case 3:
		return "github:fine-grained", "GH_TOKEN: ", "github_pat_" + g.random(alnum, 22) + "_" + g.random(alnum, 59), ""
	case 4:
		return "gitlab", "use glpat token ", "glpat-" + g.random(base64url, 20), " for CI"
	case 5:
		return "slack", "SLACK_BOT_TOKEN=", "xoxb-" + g.random(digits, 12) + "-" + g.random(digits, 13) + "-" + g.random(alnum, 24), ""
	case 6:
		return "stripe", "Stripe.api_key = '", pick(g, []string{"sk_live_", "sk_test_", "rk_live_"}) + g.random(alnum, 24), "'"
	case 7:
		return "jwt", "Authorization: Bearer ", g.jwt(), ""
	case 8:
		return "pem", "key file:\n", g.pem(), "\n"
	case 9:
		user := g.word(1, 2)
		return "url", pick(g, []string{"postgres://", "mysql://", "https://", "amqp://", "redis://"}),
			user + ":" + g.random(alnum, 10+g.r.IntN(10)), "@" + g.word(1, 2) + ".internal:5432/app"
	case 10:
		return "assign:api_key", `api_key = "`, g.random(alnum, 32), `"`
	case 11:
		return "assign:client_secret", `{"client_secret": "`, g.random(base64url, 40), `"}`
	case 12:
		before := pick(g, []string{"DB_PASSWORD=", "password: ", "admin_pwd = '"})
		after := ""
		if strings.HasSuffix(before, "'") {
			after = "'"
		}
		return "assign:password", before, g.random(alnum, 6) + pick(g, []string{"#", "!", "%", "7"}) + g.random(alnum, 6), after
	case 13:
		return "google", `"apiKey": "`, "AIza" + g.random(base64url, 35), `"`
	default:
		return "assign:header", "X-Api-Key: ", g.random(hexLower, 32), ""
	}
}

func (g *gen) secrets(n int) {
	for range n {
		kind, before, v, after := g.secretCase()
		b := &builder{}
		if f := g.filler(); f != "" {
			b.add(f, " ")
		}
		b.add(before).value("SECRET", v).add(after)
		g.emit("secret:"+kind, b)
	}
}

// mixed makes documents that hold several types at once.
func (g *gen) mixed(n int) {
	for range n {
		b := &builder{}
		b.add("Name: Selvo Dartan\nEmail: ").value("EMAIL_ADDRESS", g.email())
		num := g.phoneNumber("GB")
		b.add("\nPhone: ").value("PHONE_NUMBER", phonenumbers.Format(num, phonenumbers.INTERNATIONAL))
		b.add("\nLast login from ").value("IP_ADDRESS", g.publicIPv4())
		b.add(" on 2024-03-").add(fmt.Sprintf("%02d", 1+g.r.IntN(28)))
		b.add("\nIBAN ").value("IBAN_CODE", g.iban("DE"))
		b.add("\nCard ").value("CREDIT_CARD", g.cardNumber("4", 16))
		b.add("\nSSN ").value("US_SSN", fmt.Sprintf("%03d-%02d-%04d", 100+g.r.IntN(500), 1+g.r.IntN(99), 1+g.r.IntN(9999)))
		b.add("\nAPI token ").value("SECRET", "ghp_"+g.random(alnum, 36)).add("\n")
		g.emit("mixed", b)
	}
}
