package cli

import "testing"

func TestForgetURLPrefixIgnoresScheme(t *testing.T) {
	s := forgetSelection{prefixes: []string{"https://developers.google.com/maps"}}
	for u, want := range map[string]bool{
		"https://developers.google.com/maps/a":           true,
		"http://developers.google.com/maps/b":            true,
		"developers.google.com/maps/c":                   true,
		"developers.google.com/search":                   false,
		"https://example.com/developers.google.com/maps": false,
	} {
		if got := s.matches("x", u); got != want {
			t.Errorf("matches(%q) = %v, want %v", u, got, want)
		}
	}
	bare := forgetSelection{prefixes: []string{"developers.google.com/"}}
	if !bare.matches("x", "https://developers.google.com/maps") {
		t.Error("a prefix without a scheme does not match a URL with one")
	}
	for p, ok := range map[string]bool{
		"https://example.com/u/": true, "example.com/u/": true, "http": false, "localhost": false, "https://": false,
	} {
		if err := checkURLPrefix(p); (err == nil) != ok {
			t.Errorf("checkURLPrefix(%q) = %v, want ok %v", p, err, ok)
		}
	}
}
