package pii

import (
	"math"
	"strings"
)

// Limits of a key = value assignment, in bytes.
const (
	maxKeyNameLen     = 64
	maxSecretValueLen = 512
	minSecretLen      = 16 // for values of most key-like names
	minPasswordLen    = 8  // for values of password-like names
)

// minSecretEntropy is the least Shannon entropy, in bits per character, of
// an assigned secret. Random hex has up to 4, random base64 up to 6;
// English words and repeated placeholders fall below 3.
const minSecretEntropy = 3.0

// secretNameSuffixes are the endings, after lower-casing and removing '_',
// '-' and '.', of names whose values are secrets: DB_PASSWORD,
// client_secret, x-api-key, GITHUB_TOKEN, AWS_SECRET_ACCESS_KEY.
var secretNameSuffixes = []string{
	"secret", "secretkey", "secretkeybase", "token", "apikey", "accesskey", "privatekey",
	"authkey", "signingkey", "encryptionkey", "masterkey", "sessionkey", "credential",
	"credentials", "authorization",
}

// passwordNameSuffixes are the endings of names whose values are
// passwords, which are shorter than generated keys.
var passwordNameSuffixes = []string{"password", "passwd", "passphrase", "pwd"}

// notSecretNameSuffixes are names that end like a secret's but hold
// something else: pagination cursors and CSRF tokens.
var notSecretNameSuffixes = []string{"pagetoken", "nexttoken", "continuationtoken", "csrftoken", "xsrftoken"}

// placeholderWords mark example values that documentation puts where a
// secret goes.
var placeholderWords = []string{
	"xxxx", "****", "....", "your", "example", "changeme", "placeholder", "redacted",
	"dummy", "secret", "password", "token", "insert", "replace", "todo",
}

// assignment matches a secret value assigned to a key-like name at the
// '=' or ':' at text[op]: api_key = "...", DB_PASSWORD=..., "client_secret":
// "...", x-api-key: ..., Authorization: Bearer .... The match is the value
// alone, without quotes. The value must look generated: long enough, with
// at least two kinds of characters (lower case, upper case, digits,
// symbols), a digit or a symbol unless it mixes cases, a Shannon entropy
// of at least minSecretEntropy, and no
// placeholder word. References such as $DB_PASSWORD, ${...}, {{...}}
// and paths are not values.
func (sc *scan) assignment(op int) int {
	text := sc.text
	name, ok := keyNameBefore(text, op, sc.floor())
	if !ok {
		return op + 1
	}
	minLen := 0
	switch {
	case nameHasSuffix(name, passwordNameSuffixes):
		minLen = minPasswordLen
	case nameHasSuffix(name, secretNameSuffixes) && !nameHasSuffix(name, notSecretNameSuffixes):
		minLen = minSecretLen
	default:
		return op + 1
	}

	start, end, ok := valueAfter(text, op)
	if !ok {
		return op + 1
	}
	if nameHasSuffix(name, []string{"authorization"}) {
		// An HTTP credential: the scheme word stays, the credential goes.
		for _, scheme := range []string{"Bearer ", "Basic ", "Token ", "bearer ", "token "} {
			if strings.HasPrefix(text[start:], scheme) {
				start += len(scheme)
				end = start
				for end < len(text) && end-start < maxSecretValueLen && isUnquotedValueByte(text[end]) {
					end++
				}
				break
			}
		}
	}
	if !looksGenerated(text[start:end], minLen) {
		return max(end, op+1)
	}
	sc.add(Secret, start, end)
	return end
}

// keyNameBefore returns the name that ends before the operator at
// text[op], with spaces and one closing quote between them, lower-cased
// into a string without '_', '-' and '.'.
func keyNameBefore(text string, op, floor int) (string, bool) {
	k := op
	if op+1 < len(text) && text[op] == ':' && text[op+1] == '/' {
		return "", false // a URL, not an assignment
	}
	for k > floor && op-k < 4 && text[k-1] == ' ' {
		k--
	}
	if k > floor && (text[k-1] == '"' || text[k-1] == '\'') {
		k--
	}
	if k == floor || k == 0 || !isAlnum(text[k-1]) {
		return "", false
	}
	var buf [maxKeyNameLen]byte
	n := 0
	for k > floor && (isAlnum(text[k-1]) || text[k-1] == '_' || text[k-1] == '-' || text[k-1] == '.') {
		k--
		c := text[k]
		if c == '_' || c == '-' || c == '.' {
			continue
		}
		if n == maxKeyNameLen {
			return "", false
		}
		buf[n] = c | 0x20 // ASCII letters to lower case; digits keep their value
		n++
	}
	// buf holds the name reversed.
	for a, b := 0, n-1; a < b; a, b = a+1, b-1 {
		buf[a], buf[b] = buf[b], buf[a]
	}
	return string(buf[:n]), n > 0
}

func nameHasSuffix(name string, suffixes []string) bool {
	for _, s := range suffixes {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}

// valueAfter returns the span of the value after the operator at
// text[op]: quoted, up to its closing quote on the same line, or
// unquoted, up to a space or a delimiter.
func valueAfter(text string, op int) (int, int, bool) {
	j := op + 1
	if j < len(text) && (text[j] == '>' || (text[op] == ':' && text[j] == '=')) {
		j++ // => and :=
	}
	for j < len(text) && j-op < 6 && (text[j] == ' ' || text[j] == '\t') {
		j++
	}
	if j >= len(text) {
		return 0, 0, false
	}
	if q := text[j]; q == '"' || q == '\'' || q == '`' {
		start := j + 1
		end := start
		for end < len(text) && end-start < maxSecretValueLen && text[end] != q && text[end] != '\n' {
			end++
		}
		if end >= len(text) || text[end] != q {
			return 0, 0, false
		}
		return start, end, end > start
	}
	end := j
	for end < len(text) && end-j < maxSecretValueLen && isUnquotedValueByte(text[end]) {
		end++
	}
	// A sentence may end right after the value.
	for end > j && (text[end-1] == '.' || text[end-1] == ',') {
		end--
	}
	return j, end, end > j
}

// isUnquotedValueByte reports whether c may appear in an unquoted value:
// anything printable but spaces, quotes and the delimiters of code and
// markup.
func isUnquotedValueByte(c byte) bool {
	if c <= ' ' || c >= 0x7f {
		return false
	}
	switch c {
	case '"', '\'', '`', ',', ';', '&', '(', ')', '[', ']', '{', '}', '<', '>', '|', '\\':
		return false
	}
	return true
}

// looksGenerated applies the value rules of assignment to v.
func looksGenerated(v string, minLen int) bool {
	if len(v) < minLen || len(v) > maxSecretValueLen {
		return false
	}
	switch v[0] {
	case '$', '%', '~', '.', '#', '*', '@':
		return false // a variable, a template, a path or a mask
	case '/':
		// A path has no upper case and no '+' or '=', which base64 has.
		if !strings.ContainsAny(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZ+=") {
			return false
		}
	}
	if strings.Contains(v, "://") {
		return false
	}
	lower := strings.ToLower(v)
	for _, w := range placeholderWords {
		if strings.Contains(lower, w) {
			return false
		}
	}

	var hasLower, hasUpper, hasDigit, hasSymbol bool
	var counts [128]uint16
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c >= 0x80 {
			return false // generated secrets are ASCII
		}
		counts[c]++
		switch {
		case c >= 'a' && c <= 'z':
			hasLower = true
		case c >= 'A' && c <= 'Z':
			hasUpper = true
		case isDigit(c):
			hasDigit = true
		case c != '-' && c != '_' && c != '.':
			hasSymbol = true
		}
	}
	kinds := 0
	for _, b := range []bool{hasLower, hasUpper, hasDigit, hasSymbol} {
		if b {
			kinds++
		}
	}
	if kinds < 2 || !(hasDigit || hasSymbol || (hasLower && hasUpper && len(v) >= minSecretLen)) {
		return false
	}
	return entropy(&counts, len(v)) >= minSecretEntropy
}

// entropy returns the Shannon entropy, in bits per character, of a string
// of n characters with the given character counts.
func entropy(counts *[128]uint16, n int) float64 {
	h := 0.0
	for _, k := range counts {
		if k == 0 {
			continue
		}
		p := float64(k) / float64(n)
		h -= p * math.Log2(p)
	}
	return h
}

// placeholderPasswords are the passwords of example URLs in documentation,
// as in postgres://user:password@localhost/db.
var placeholderPasswords = map[string]bool{
	"password": true, "pass": true, "passwd": true, "pwd": true, "pw": true, "secret": true,
	"changeme": true, "mypassword": true, "yourpassword": true, "your_password": true,
	"your-password": true, "pa55word": true, "p@ssw0rd": true, "example": true, "test": true,
}

// urlCredentials matches the user information of a URL with a password,
// scheme://user:password@host, at the "://" at text[colon]. The match is
// "user:password", since the user name is often personal too. Passwords
// that documentation uses as placeholders, variables such as ${PASSWORD}
// and masks such as **** are not matched.
func (sc *scan) urlCredentials(colon int) (int, bool) {
	text := sc.text
	// The scheme: a letter, then letters, digits, '+', '-' or '.'.
	s := colon
	for s > sc.floor() && colon-s < 32 && (isAlnum(text[s-1]) || text[s-1] == '+' || text[s-1] == '-' || text[s-1] == '.') {
		s--
	}
	if s == colon || !isAlpha(text[s]) {
		return 0, false
	}

	userStart := colon + 3
	at := -1
	sep := -1
	for j := userStart; j < len(text) && j-userStart < 256; j++ {
		c := text[j]
		if c == '@' {
			at = j
			break
		}
		if c == ':' && sep < 0 {
			sep = j
		}
		if c <= ' ' || c >= 0x7f || strings.IndexByte("/?#\"'<>[]{}|\\", c) >= 0 {
			break
		}
	}
	if at < 0 || sep < 0 || sep+1 == at || at+1 >= len(text) || !(isAlnum(text[at+1]) || text[at+1] == '[') {
		return 0, false
	}
	password := text[sep+1 : at]
	if placeholderPasswords[strings.ToLower(password)] || distinctBytes(password) == 1 {
		return at + 1, true
	}
	switch password[0] {
	case '$', '<', '{', '%', '*':
		return at + 1, true
	}
	sc.add(Secret, userStart, at)
	// The scan resumes after the '@', so the password's tail and the host
	// are not read as an email address.
	return at + 1, true
}
