// Package pii is winnow's scanner for personal data in text. It finds email
// addresses and public IPv4 addresses in one hand-written pass over the
// bytes, with no regular expressions, and returns their byte spans sorted by
// start so a caller can tag, mask or count them.
//
// The package has no pipeline knowledge and never logs: it takes a string
// and returns spans. The pii stage in winnow's stages package wraps it.
//
// Matching is tuned for web text, where false positives are common: package
// pins such as `lodash@4.17.21`, Java object identities such as
// `Object@7f3a9c21`, asset names such as `logo@2x.png`, version numbers and
// dotted numbers longer than four parts are not reported. The rules and the
// choices made where the standards leave room are documented next to the
// code in email.go and ipv4.go.
package pii
