// Package pii is winnow's scanner for personal data and secrets in text.
// In one pass over the bytes, with no regular expressions, it finds email
// addresses, phone numbers, IPv4 and IPv6 addresses, payment card numbers,
// IBANs, US social security numbers and secrets. The secrets are cloud
// access keys, provider tokens, JWTs, PEM private keys, passwords in URLs
// and high-entropy values assigned to key-like names. It returns the byte
// spans sorted by start so a caller can tag, mask, pseudonymize or count
// them.
//
// The pass stops only at trigger bytes: digits, '@', ':', '=', '-', '_',
// '.', and the letters A and J. Each trigger hands the bytes around it to
// the matchers of the types that can start or continue there, and each
// candidate is validated before it is reported: the top-level domain of an
// email against the IANA list, a phone number with libphonenumber
// (github.com/nyaruka/phonenumbers), a card with the Luhn check and the
// issuer ranges, an IBAN with its country's length and MOD 97-10, an SSN
// with the ranges the Social Security Administration issues.
//
// The package has no pipeline knowledge and never logs: it takes a string
// and returns spans. The pii stage in winnow's stages package wraps it.
//
// Matching is tuned for web text and code, where false positives are
// common: package pins such as lodash@4.17.21, object identities such as
// Handler@7f3a9c21, `::` and std::vector in C++, millisecond timestamps,
// version numbers, dates, ISBNs, hashes and UUIDs are not reported. The
// rules and the choices made where the standards leave room are documented
// next to the code of each matcher.
package pii
