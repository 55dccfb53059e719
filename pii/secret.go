package pii

import (
	"bytes"
	"encoding/base64"
	"strings"
)

// tokenRule describes an access token that starts with a fixed prefix, as
// the providers publish them: the prefix, then a body of length [min, max]
// drawn from charset.
type tokenRule struct {
	prefix   string
	min, max int
	charset  func(c byte) bool
}

// Character sets of token bodies.
func isAlnumByte(c byte) bool     { return isAlnum(c) }
func isUpperOrDigit(c byte) bool  { return isUpper(c) || isDigit(c) }
func isAlnumOrUnder(c byte) bool  { return isAlnum(c) || c == '_' }
func isAlnumOrDash(c byte) bool   { return isAlnum(c) || c == '-' }
func isLetterByte(c byte) bool    { return isAlpha(c) }
func isTokenBodyByte(c byte) bool { return isBase64URL(c) }

func isAWSKeyIDPrefix(s string) bool { return awsKeyIDPrefixes[s] }

// awsKeyIDPrefixes are the four-letter prefixes of AWS access key ids and
// other unique ids of AWS IAM, from the IAM user guide ("Unique identifier
// prefixes"): AKIA for long-term access keys, ASIA for temporary ones.
var awsKeyIDPrefixes = map[string]bool{
	"AKIA": true, "ASIA": true, "ABIA": true, "ACCA": true, "AGPA": true, "AIDA": true,
	"AIPA": true, "ANPA": true, "ANVA": true, "APKA": true, "AROA": true, "ASCA": true,
}

// tokenRules lists the prefixed tokens by the byte that triggers them: '_'
// or '-' inside the prefix, or the prefix's first letter 'A'. The lengths
// are those of the providers' current formats, widened where a provider
// documents that a format may grow.
var tokenRules = map[byte][]tokenRule{
	'_': {
		{"ghp_", 36, 255, isAlnumByte}, // GitHub personal access token (classic)
		{"gho_", 36, 255, isAlnumByte}, // GitHub OAuth access token
		{"ghu_", 36, 255, isAlnumByte}, // GitHub user-to-server token
		{"ghs_", 36, 255, isAlnumByte}, // GitHub server-to-server token
		{"ghr_", 36, 255, isAlnumByte}, // GitHub refresh token
		{"github_pat_", 70, 255, isAlnumOrUnder},
		{"sk_live_", 20, 255, isAlnumByte}, // Stripe secret key
		{"sk_test_", 20, 255, isAlnumByte},
		{"rk_live_", 20, 255, isAlnumByte}, // Stripe restricted key
		{"rk_test_", 20, 255, isAlnumByte},
		{"whsec_", 24, 255, isAlnumByte}, // Stripe webhook signing secret
		{"npm_", 36, 36, isAlnumByte},    // npm access token
		{"hf_", 30, 40, isLetterByte},    // Hugging Face access token
	},
	'-': {
		{"glpat-", 20, 255, isTokenBodyByte}, // GitLab personal access token
		{"gldt-", 20, 255, isTokenBodyByte},  // GitLab deploy token
		{"glrt-", 20, 255, isTokenBodyByte},  // GitLab runner token
		{"glptt-", 20, 255, isTokenBodyByte}, // GitLab pipeline trigger token
		{"xoxb-", 20, 255, isAlnumOrDash},    // Slack bot token
		{"xoxp-", 20, 255, isAlnumOrDash},    // Slack user token
		{"xoxa-", 20, 255, isAlnumOrDash},    // Slack app token
		{"xoxr-", 20, 255, isAlnumOrDash},    // Slack refresh token
		{"xoxe-", 20, 255, isAlnumOrDash},    // Slack rotating token
		{"xapp-", 20, 255, isAlnumOrDash},    // Slack app-level token
		{"sk-proj-", 40, 255, isTokenBodyByte},
		{"sk-ant-", 40, 255, isTokenBodyByte},
		{"pypi-", 60, 255, isTokenBodyByte}, // PyPI API token
	},
	'A': {
		{"AIza", 35, 35, isTokenBodyByte}, // Google API key
	},
}

// SecretPrefixLen returns the length of the public prefix of a secret
// value, the part that names its kind and that a pseudonym keeps: "ghp_"
// of a GitHub token, "AKIA" of an AWS key id, "eyJ" of a JWT. It returns 0
// when the value has no known prefix.
func SecretPrefixLen(value string) int {
	if len(value) >= 4 && isAWSKeyIDPrefix(value[:4]) {
		return 4
	}
	if strings.HasPrefix(value, "eyJ") {
		return 3
	}
	if strings.HasPrefix(value, "SG.") {
		return 3
	}
	for _, rules := range tokenRules {
		for _, r := range rules {
			if strings.HasPrefix(value, r.prefix) {
				return len(r.prefix)
			}
		}
	}
	return 0
}

// tokenStartOK reports whether a token may start at text[start]: not in the
// middle of a longer word, identifier or base64 string.
func tokenStartOK(text string, start int) bool {
	return start == 0 || !(isBase64URL(text[start-1]) || text[start-1] == '.' || text[start-1] == '+')
}

// token dispatches the triggers of prefixed tokens: '_', '-', 'A', 'J'
// (the third byte of "eyJ") and '.' (the third byte of "SG.").
func (sc *scan) token(i int) int {
	text := sc.text
	switch c := text[i]; c {
	case 'A':
		return sc.prefixedToken(i, 'A')
	case 'J':
		if i >= 2 && text[i-2] == 'e' && text[i-1] == 'y' {
			return sc.jwt(i - 2)
		}
	case '.':
		if i >= 2 && text[i-2] == 'S' && text[i-1] == 'G' {
			return sc.sendGridKey(i - 2)
		}
	case '_', '-':
		// The prefix starts at most a few letters back.
		start := i
		for start > 0 && i-start < 8 && isAlpha(text[start-1]) {
			start--
		}
		if start < i {
			return sc.prefixedToken(start, c)
		}
	}
	return i + 1
}

// prefixedToken matches a token of tokenRules[trig] that starts at
// text[start], or an AWS access key id when trig is 'A'.
func (sc *scan) prefixedToken(start int, trig byte) int {
	text := sc.text
	if start < sc.floor() || !tokenStartOK(text, start) {
		return start + 1
	}
	if trig == 'A' && start+20 <= len(text) && isAWSKeyIDPrefix(text[start:start+4]) {
		// An access key id is the prefix and 16 upper-case letters and
		// digits, 20 characters in all.
		end := start + 4
		for end < len(text) && end-start < 20 && isUpperOrDigit(text[end]) {
			end++
		}
		if end-start == 20 && (end == len(text) || !isBase64URL(text[end])) && distinctBytes(text[start+4:end]) >= 8 {
			sc.add(Secret, start, end)
			return end
		}
	}
	for _, r := range tokenRules[trig] {
		if !strings.HasPrefix(text[start:], r.prefix) {
			continue
		}
		bodyStart := start + len(r.prefix)
		end := bodyStart
		for end < len(text) && end-bodyStart <= r.max && r.charset(text[end]) {
			end++
		}
		n := end - bodyStart
		if n < r.min || n > r.max || (end < len(text) && isBase64URL(text[end])) {
			return start + 1
		}
		if !randomLooking(text[bodyStart:end]) {
			return end
		}
		sc.add(Secret, start, end)
		return end
	}
	return start + 1
}

// randomLooking rejects the bodies of placeholder tokens such as
// ghp_xxxxxxxx... or sk_live_000000...: a generated body of 16 or more
// characters has many distinct characters.
func randomLooking(body string) bool {
	return distinctBytes(body) >= min(10, len(body)/2)
}

// distinctBytes counts the distinct bytes of s.
func distinctBytes(s string) int {
	var seen [256]bool
	n := 0
	for i := 0; i < len(s); i++ {
		if !seen[s[i]] {
			seen[s[i]] = true
			n++
		}
	}
	return n
}

// jwt matches a JSON Web Token that starts at text[start] ("eyJ"): three
// base64url segments joined by dots, the first two JSON objects. The
// header must decode to a JSON object that names its algorithm ("alg"), so
// base64 text that happens to start with eyJ is not taken. The signature
// may be empty, as for unsigned tokens.
func (sc *scan) jwt(start int) int {
	text := sc.text
	if start < sc.floor() || !tokenStartOK(text, start) {
		return start + 3
	}
	headerEnd := spanBase64URL(text, start)
	if headerEnd-start < 10 || headerEnd >= len(text) || text[headerEnd] != '.' {
		return headerEnd
	}
	payloadStart := headerEnd + 1
	if !strings.HasPrefix(text[payloadStart:], "ey") {
		return headerEnd
	}
	payloadEnd := spanBase64URL(text, payloadStart)
	if payloadEnd-payloadStart < 10 || payloadEnd >= len(text) || text[payloadEnd] != '.' {
		return payloadEnd
	}
	end := spanBase64URL(text, payloadEnd+1)
	if end < len(text) && (text[end] == '.' || text[end] == '+' || text[end] == '/') {
		return end // more segments, or standard base64: not a JWT
	}
	header, err := base64.RawURLEncoding.DecodeString(text[start:headerEnd])
	if err != nil || !bytes.HasPrefix(header, []byte("{")) || !bytes.Contains(header, []byte(`"alg"`)) {
		return end
	}
	sc.add(Secret, start, end)
	return end
}

// spanBase64URL returns the end of the run of base64url bytes at text[i],
// at most 16 KiB long.
func spanBase64URL(text string, i int) int {
	j := i
	for j < len(text) && j-i < 16<<10 && isBase64URL(text[j]) {
		j++
	}
	return j
}

// sendGridKey matches a SendGrid API key at text[start]: "SG.", 22
// base64url characters, '.', 43 more.
func (sc *scan) sendGridKey(start int) int {
	text := sc.text
	if start < sc.floor() || !tokenStartOK(text, start) {
		return start + 3
	}
	idEnd := spanBase64URL(text, start+3)
	if idEnd-(start+3) != 22 || idEnd >= len(text) || text[idEnd] != '.' {
		return start + 3
	}
	end := spanBase64URL(text, idEnd+1)
	if end-(idEnd+1) != 43 || (end < len(text) && text[end] == '.') {
		return start + 3
	}
	sc.add(Secret, start, end)
	return end
}

// maxPEMLen bounds the search for the end of a PEM block. An RSA 8192-bit
// private key in PEM is about 6.5 KB.
const maxPEMLen = 64 << 10

// dash dispatches a '-': the start of a PEM private key block, or a token
// prefix such as glpat- or xoxb-.
func (sc *scan) dash(i int) int {
	if strings.HasPrefix(sc.text[i:], "-----BEGIN ") {
		return sc.pemPrivateKey(i)
	}
	return sc.token(i)
}

// pemPrivateKey matches a PEM block of a private key that starts at
// text[start]: "-----BEGIN <label>-----" where the label ends in PRIVATE
// KEY (RSA, EC, DSA, OPENSSH, ENCRYPTED ...) or is PGP PRIVATE KEY BLOCK,
// through its END line. A block cut off before its END line (a truncated
// page) is matched through its last base64 line. Certificates and public
// keys are not secrets and are not matched.
func (sc *scan) pemPrivateKey(start int) int {
	text := sc.text
	const begin = "-----BEGIN "
	labelStart := start + len(begin)
	k := strings.Index(text[labelStart:min(len(text), labelStart+64)], "-----")
	if k < 0 {
		return start + len(begin)
	}
	label := text[labelStart : labelStart+k]
	if !isPEMLabel(label) || (!strings.HasSuffix(label, "PRIVATE KEY") && label != "PGP PRIVATE KEY BLOCK") {
		return labelStart + k
	}

	bodyStart := labelStart + k + len("-----")
	window := text[bodyStart:min(len(text), bodyStart+maxPEMLen)]
	endLine := "-----END " + label + "-----"
	if e := strings.Index(window, endLine); e >= 0 {
		end := bodyStart + e + len(endLine)
		sc.add(Secret, start, end)
		return end
	}
	// Truncated: take the lines of base64 and headers that follow.
	end := bodyStart
	for end < len(text) && end-bodyStart < maxPEMLen && isPEMBodyByte(text[end]) {
		end++
	}
	for end > bodyStart && isSpace(text[end-1]) {
		end--
	}
	if end-bodyStart < 64 {
		return bodyStart
	}
	sc.add(Secret, start, end)
	return end
}

// isPEMLabel reports whether s is made of upper-case ASCII letters, digits
// and single spaces, as the labels of RFC 7468 are.
func isPEMLabel(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isUpper(c) && !isDigit(c) && !(c == ' ' && i > 0 && s[i-1] != ' ') {
			return false
		}
	}
	return true
}

func isPEMBodyByte(c byte) bool {
	return isAlnum(c) || c == '+' || c == '/' || c == '=' || c == '\n' || c == '\r' || c == ' ' || c == ':' || c == ',' || c == '-'
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
