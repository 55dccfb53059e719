package pii

import (
	"strings"
	"testing"
)

// TestScanFixtures pins the cases that scrubbers of the field get wrong:
// code, package pins, object identities and timestamps stay, and a full
// IPv6 address in the documentation range is found whole.
func TestScanFixtures(t *testing.T) {
	runScanCases(t, Options{}, []scanCase{
		{"cpp scope", "std::vector<int> v;", nil},
		{"ipv6 documentation", "gateway 2001:db8:0:0:8:800:200c:417a", []string{"IP_ADDRESS:2001:db8:0:0:8:800:200c:417a"}},
		{"millisecond timestamp", "upload finished ts=1718236800005", nil},
		{"object identity", "at Handler@7f3a9c21", nil},
		{"npm pin", "npm i lodash@4.17.21", nil},
		{"port and year", "port 8080 since 2024", nil},
	})
}

func TestScanIPv6(t *testing.T) {
	runScanCases(t, Options{}, []scanCase{
		{"full", "addr 2606:4700:4700:0:0:0:0:1111 up", []string{"IP_ADDRESS:2606:4700:4700:0:0:0:0:1111"}},
		{"compressed", "dns 2606:4700:4700::1111.", []string{"IP_ADDRESS:2606:4700:4700::1111"}},
		{"two groups", "net 2001:db8:: is", []string{"IP_ADDRESS:2001:db8::"}},
		{"upper case", "2001:DB8::8A2E:370:7334", []string{"IP_ADDRESS:2001:DB8::8A2E:370:7334"}},
		{"brackets and port", "http://[2001:db8::1]:8080/", []string{"IP_ADDRESS:2001:db8::1"}},
		{"port after colon", "2001:db8::1: refused", []string{"IP_ADDRESS:2001:db8::1"}},
		{"mapped public", "from ::ffff:8.8.8.8 ok", []string{"IP_ADDRESS:::ffff:8.8.8.8"}},
		{"new documentation range", "3fff:1234::5", []string{"IP_ADDRESS:3fff:1234::5"}},

		{"double colon alone", "a :: b and ::", nil},
		{"cpp", "std::vector<std::string> x; a::b::c; Foo::Bar", nil},
		{"hex words", "dead::beef cafe::face", nil},
		{"python slice", "x[1::2] y[10::20]", nil},
		{"rust path", "use std::io::Result;", nil},
		{"time", "at 12:30:45 and 10:00", nil},
		{"mac address", "mac 00:1a:2b:3c:4d:5e", nil},
		{"loopback", "::1 and 0:0:0:0:0:0:0:1", nil},
		{"link-local", "fe80::1ff:fe23:4567:890a", nil},
		{"unique local", "fd12:3456:789a::1", nil},
		{"multicast", "ff02::1:2", nil},
		{"mapped private", "::ffff:192.168.1.1", nil},
		{"glued", "x2001:db8::1 2001:db8::1y", nil},
		{"too many groups", "1:2:3:4:5:6:7:8:9", nil},
	})
}

func TestScanPhone(t *testing.T) {
	runScanCases(t, Options{}, []scanCase{
		{"us parentheses", "call (845) 450 5693 now", []string{"PHONE_NUMBER:(845) 450 5693"}},
		{"us dashes", "fax 212-456-7890.", []string{"PHONE_NUMBER:212-456-7890"}},
		{"us dots", "tel 212.456.7890", []string{"PHONE_NUMBER:212.456.7890"}},
		{"us bare", "2312322334", []string{"PHONE_NUMBER:2312322334"}},
		{"us leading one", "1-800-275-2273", []string{"PHONE_NUMBER:1-800-275-2273"}},
		{"international us", "+1-212-456-7890", []string{"PHONE_NUMBER:+1-212-456-7890"}},
		{"international bare", "+12312322334", []string{"PHONE_NUMBER:+12312322334"}},
		{"international uk", "ring +44 20 7946 0958 today", []string{"PHONE_NUMBER:+44 20 7946 0958"}},
		{"international brackets", "(+44) 20 7946 0958", []string{"PHONE_NUMBER:(+44) 20 7946 0958"}},
		{"international france", "+33 1 42 68 53 00", []string{"PHONE_NUMBER:+33 1 42 68 53 00"}},
		{"international japan", "+81 3-3224-9999", []string{"PHONE_NUMBER:+81 3-3224-9999"}},
		{"international brazil", "+55 11 91234-5678", []string{"PHONE_NUMBER:+55 11 91234-5678"}},
		{"uk national", "London 020 7946 0958", []string{"PHONE_NUMBER:020 7946 0958"}},
		{"germany national", "Büro 030 12345678", []string{"PHONE_NUMBER:030 12345678"}},
		{"germany slash", "Tel. 089/1234567", []string{"PHONE_NUMBER:089/1234567"}},
		{"france national", "01 42 68 53 00", []string{"PHONE_NUMBER:01 42 68 53 00"}},
		{"india national", "098765 43210", []string{"PHONE_NUMBER:098765 43210"}},
		{"japan national", "03-3224-9999", []string{"PHONE_NUMBER:03-3224-9999"}},
		{"australia national", "(02) 9374 4000", []string{"PHONE_NUMBER:(02) 9374 4000"}},
		{"international call prefix", "0049 30 12345678", []string{"PHONE_NUMBER:0049 30 12345678"}},
		{"glued to letters", "Tel:+4930123456789 or call2124567890now", []string{"PHONE_NUMBER:+4930123456789", "PHONE_NUMBER:2124567890"}},
		{"cjk around", "电话+86 10 6552 9988。", []string{"PHONE_NUMBER:+86 10 6552 9988"}},

		{"timestamp", "ts=1718236800005 and 1718236800", nil},
		{"date", "2024-01-15 15.01.2024 01/15/2024 2024/01/15", nil},
		{"isbn", "ISBN 0-306-40615-2 and ISBN-10: 0306406152", nil},
		{"uuid", "123e4567-e89b-12d3-a456-426614174000", nil},
		{"hash", "sha 3f2a9c8d71649823e0b1c4d5e6f7a8b9", nil},
		{"version", "v1.2.3 and 10.0.19045.3803", nil},
		{"decimal", "pi 3.14159265358 and 0.1234567", nil},
		{"amount", "$1,234,567.89 and 1 234 567", nil},
		{"invalid us area", "(123) 456-7890", nil},
		{"too short", "+44 20", nil},
		{"invalid country", "+999 1234 5678", nil},
		{"one-letter id", "grant E2016505031 funded", nil},
		{"labelled ids", "LCCN\n2013049256 and VAT: 06659860826 and Order #0374-277913", nil},
		{"date and time", "posted 08/10/2009 23:26:04", nil},
	})
}

func TestScanPhoneRegions(t *testing.T) {
	text := "Berlin 030 12345678, Madrid 912 345 678, NYC (212) 456-7890"
	runScanCases(t, Options{PhoneRegions: []string{"de", "ES"}}, []scanCase{
		{"de and es", text, []string{"PHONE_NUMBER:030 12345678", "PHONE_NUMBER:912 345 678"}},
	})
	if _, err := NewScanner(Options{PhoneRegions: []string{"XX"}}); err == nil {
		t.Error("NewScanner accepted the phone region XX")
	}
}

func TestScanCard(t *testing.T) {
	runScanCases(t, Options{}, []scanCase{
		{"visa spaced", "card 4111 1111 1111 1111 ok", []string{"CREDIT_CARD:4111 1111 1111 1111"}},
		{"visa dashed", "4929-3813-3266-4295", []string{"CREDIT_CARD:4929-3813-3266-4295"}},
		{"visa 13", "4222222222222", []string{"CREDIT_CARD:4222222222222"}},
		{"mastercard", "5555555555554444", []string{"CREDIT_CARD:5555555555554444"}},
		{"mastercard 2-series", "2223 0031 2200 3222", []string{"CREDIT_CARD:2223 0031 2200 3222"}},
		{"amex", "378282246310005 and 3782 822463 10005", []string{"CREDIT_CARD:378282246310005", "CREDIT_CARD:3782 822463 10005"}},
		{"discover", "6011111111111117", []string{"CREDIT_CARD:6011111111111117"}},
		{"jcb", "3530111333300000", []string{"CREDIT_CARD:3530111333300000"}},
		{"diners 14", "3056 930902 5904", []string{"CREDIT_CARD:3056 930902 5904"}},
		{"unionpay", "6200000000000005", []string{"CREDIT_CARD:6200000000000005"}},
		{"mir", "2200000000000004", []string{"CREDIT_CARD:2200000000000004"}},
		{"maestro", "6759649826438453", []string{"CREDIT_CARD:6759649826438453"}},

		{"timestamp passes luhn", "upload finished ts=1718236800005", nil},
		{"luhn fails", "4111 1111 1111 1112", nil},
		{"no issuer", "9111111111111111", nil},
		{"wrong length for issuer", "41111111111111111", nil},
		{"mixed separators", "4111-1111 1111 1111", nil},
		{"odd groups", "41 1111 1111 111 111", nil},
		{"glued", "x4111111111111111 4111111111111111x", nil},
		{"longer number", "4111111111111111.5", nil},
	})
}

func TestScanIBAN(t *testing.T) {
	runScanCases(t, Options{}, []scanCase{
		{"germany print", "IBAN DE89 3704 0044 0532 0130 00.", []string{"IBAN_CODE:DE89 3704 0044 0532 0130 00"}},
		{"germany electronic", "IBAN:DE89370400440532013000", []string{"IBAN_CODE:DE89370400440532013000"}},
		{"uk letters", "GB29NWBK60161331926819", []string{"IBAN_CODE:GB29NWBK60161331926819"}},
		{"france letter in bban", "FR14 2004 1010 0505 0001 3M02 606", []string{"IBAN_CODE:FR14 2004 1010 0505 0001 3M02 606"}},
		{"norway shortest", "NO93 8601 1117 947", []string{"IBAN_CODE:NO93 8601 1117 947"}},
		{"brazil", "BR1800360305000010009795493C1", []string{"IBAN_CODE:BR1800360305000010009795493C1"}},

		{"bad check digits", "DE88 3704 0044 0532 0130 00", nil},
		{"wrong length", "DE89 3704 0044 0532 0130 0", nil},
		{"unknown country", "QQ89370400440532013000", nil},
		{"lower case", "de89370400440532013000", nil},
		{"uneven groups", "DE89 37040 044 0532 0130 00", nil},
		{"glued", "XDE89370400440532013000", nil},
	})
}

func TestScanSSN(t *testing.T) {
	runScanCases(t, Options{}, []scanCase{
		{"dashed", "SSN 514-14-8905.", []string{"US_SSN:514-14-8905"}},
		{"spaced", "ssn: 284 89 3485", []string{"US_SSN:284 89 3485"}},

		{"area 000", "000-12-3456", nil},
		{"area 666", "666-12-3456", nil},
		{"area 900", "900-12-3456", nil},
		{"group 00", "123-00-4567", nil},
		{"serial 0000", "123-45-0000", nil},
		{"advertised", "078-05-1120 and 219-09-9999", nil},
		{"bare nine digits", "123456789", nil},
		{"mixed separators", "123-45 6789", nil},
		{"part of longer", "123-45-6789-01 and 9123-45-6789", nil},
		{"ssn layout is no phone", "078-05-1120 and 666-12-3456", nil},
		{"zip plus four", "90210-1234", nil},
	})
}

func TestScanSecrets(t *testing.T) {
	ghp := "ghp_" + "aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5"
	jwt := "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c2VyLTQyIiwiaWF0IjoxNzAwMDAwMDAwfQ.c2lnbmF0dXJlLWJ5dGVzLWZvci10ZXN0cy0xMjM0"
	pem := "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\nVTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n-----END RSA PRIVATE KEY-----"
	runScanCases(t, Options{}, []scanCase{
		{"aws key id", "aws_access_key_id=AKIAZ3MPLEK3YID7Q2WX", []string{"SECRET:AKIAZ3MPLEK3YID7Q2WX"}},
		{"aws secret key", "aws_secret_access_key = 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", []string{"SECRET:wJalrXUtnFEMI/K7MDENG/bPxRfiCY9Q2WXLMKAZ"}},
		{"google api key", `key: "AIzaSyD9x2K7Lm4Np8Qr1St5Uv3Wx6Yz0AbCdEf"`, []string{"SECRET:AIzaSyD9x2K7Lm4Np8Qr1St5Uv3Wx6Yz0AbCdEf"}},
		{"github token", "export GH=" + ghp, []string{"SECRET:" + ghp}},
		{"github fine-grained", "github_pat_11ABCDEFG0123456789abc_" + strings.Repeat("aZ9yX8wV7u", 6), []string{"SECRET:github_pat_11ABCDEFG0123456789abc_" + strings.Repeat("aZ9yX8wV7u", 6)}},
		{"gitlab token", "glpat-Xy9Zq8Wv7Ut6Sr5Qp4On", []string{"SECRET:glpat-Xy9Zq8Wv7Ut6Sr5Qp4On"}},
		{"slack token", "xoxb-2048135792-4096246813579-AbCdEfGhIjKlMnOpQrStUvWx", []string{"SECRET:xoxb-2048135792-4096246813579-AbCdEfGhIjKlMnOpQrStUvWx"}},
		{"stripe key", "sk_live_4eC39HqLyjWDarjtT1zdp7dc", []string{"SECRET:sk_live_4eC39HqLyjWDarjtT1zdp7dc"}},
		{"jwt", "Authorization: Bearer " + jwt, []string{"SECRET:" + jwt}},
		{"bare jwt", "token " + jwt + " expired", []string{"SECRET:" + jwt}},
		{"pem", "key:\n" + pem + "\nend", []string{"SECRET:" + pem}},
		{"url password", "postgres://admin:s3cr3tP4ss@db.example.com:5432/app", []string{"SECRET:admin:s3cr3tP4ss"}},
		{"url password with ip", "ftp://bob:Tr0ub4dor%263@203.0.113.5/", []string{"SECRET:bob:Tr0ub4dor%263", "IP_ADDRESS:203.0.113.5"}},
		{"assignment quoted", `api_key = "Zx8fK2pQ9rT4vW7yB1nM3sD6"`, []string{"SECRET:Zx8fK2pQ9rT4vW7yB1nM3sD6"}},
		{"assignment json", `{"client_secret": "q8W2e7R4t1Y9u3I6o0P5a2S8d"}`, []string{"SECRET:q8W2e7R4t1Y9u3I6o0P5a2S8d"}},
		{"assignment env", "DB_PASSWORD=Gx7#kP2!mQ9z", []string{"SECRET:Gx7#kP2!mQ9z"}},
		{"assignment yaml", "  password: hT4$wq9Lz2", []string{"SECRET:hT4$wq9Lz2"}},
		{"header", "X-Api-Key: 9f86d081884c7d659a2feaa0c55ad015", []string{"SECRET:9f86d081884c7d659a2feaa0c55ad015"}},

		{"placeholder token", "ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", nil},
		{"short token", "ghp_abc123", nil},
		{"publishable key", "pk_live_4eC39HqLyjWDarjtT1zdp7dc", nil},
		{"certificate", "-----BEGIN CERTIFICATE-----\nMIIDdzCCAl+gAwIBAgIEAgAAuTANBgkqhkiG9w0BAQUFADBaMQswCQYDVQQGEwJJ\n-----END CERTIFICATE-----", nil},
		{"public key", "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEVs/o5+uQbTjL3chynL4wXgUg2R9\n-----END PUBLIC KEY-----", nil},
		{"url placeholder", "postgres://user:password@localhost/db and redis://:${REDIS_PASSWORD}@cache:6379", nil},
		{"url without password", "https://example.com:8080/ and https://jane@example.com/path", []string{"EMAIL_ADDRESS:jane@example.com"}},
		{"assignment reference", "password = os.environ['DB_PASSWORD']; token: ${GITHUB_TOKEN}; secret=$SECRET", nil},
		{"assignment placeholder", `api_key = "your_api_key_here"; password: changeme123`, nil},
		{"assignment word", "password: correcthorsebatterystaple", nil},
		{"assignment short", "password=abc1", nil},
		{"not a secret name", `hash = "9f86d081884c7d659a2feaa0c55ad015"; public_key = "Zx8fK2pQ9rT4vW7yB1nM3sD6"`, nil},
		{"pagination token", `"nextPageToken": "CAoQAA8x7Ab9Zq2Lm4Np"`, nil},
		{"git sha", "commit 3f2a9c8d71649823e0b1c4d5e6f7a8b9c0d1e2f3", nil},
		{"uuid", "id 123e4567-e89b-12d3-a456-426614174000", nil},
		{"base64 not jwt", "eyJmb28iOiJiYXIifQ.eyJmb28iOiJiYXIifQ.", nil},
		{"snake case", "hf_model_name and sk_live_mode and github_actions", nil},
	})
}

func TestSecretPrefixLen(t *testing.T) {
	cases := map[string]int{
		"ghp_abc": 4, "github_pat_x": 11, "AKIAXYZ": 4, "eyJhb": 3, "xoxb-1": 5, "sk_live_a": 8, "SG.x": 3, "random": 0,
	}
	for value, want := range cases {
		if got := SecretPrefixLen(value); got != want {
			t.Errorf("SecretPrefixLen(%q) = %d, want %d", value, got, want)
		}
	}
}
