package dedup

import (
	"encoding/hex"
	"runtime"
	"strconv"
	"testing"
)

func TestExactHashReferenceVectors(t *testing.T) {
	// Digests printed by xxh128sum from xxHash 0.8.1 (Debian package xxhash).
	tests := []struct {
		name string
		text string
		want string
	}{
		{"empty", "", "99aa06d3014798d86001c324468d497f"},
		{"short", "winnow", "5ed94383467bfbbd67dd0156a39fc5bc"},
		{"sentence", "The quick brown fox jumps over the lazy dog", "ddd650205ca3e7fa24a1cc2e3a8a7651"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := ExactHash(tt.text)
			if got := hex.EncodeToString(h[:]); got != tt.want {
				t.Errorf("ExactHash(%q) = %s, want %s", tt.text, got, tt.want)
			}
		})
	}
}

func TestExactHashDistinguishesNearTexts(t *testing.T) {
	texts := []string{
		"", " ", "a", "a ", "A", "\u00e9", "e\u0301", "a\u200bb", "ab",
		"line\n", "line\r\n", "line",
	}
	seen := map[[16]byte]string{}
	for _, s := range texts {
		h := ExactHash(s)
		if prev, dup := seen[h]; dup {
			t.Errorf("ExactHash(%q) equals ExactHash(%q)", s, prev)
		}
		seen[h] = s
	}
}

func TestExactSetAdd(t *testing.T) {
	s := NewExactSet(0)
	a, b := ExactHash("first"), ExactHash("second")

	if !s.Add(a) {
		t.Error("Add of a new hash returned false")
	}
	if s.Add(a) {
		t.Error("Add of a hash already added returned true")
	}
	if s.Contains(b) {
		t.Error("Contains returned true for a hash never added")
	}
	if !s.Add(b) {
		t.Error("Add of a second new hash returned false")
	}
	if !s.Contains(a) || !s.Contains(b) {
		t.Error("Contains returned false for an added hash")
	}
	if got := s.Len(); got != 2 {
		t.Errorf("Len = %d, want 2", got)
	}
}

// BenchmarkExactSetAdd reports the hashing and insertion cost of distinct
// 3 KB texts and, as heap-B/entry, the memory the set holds per hash.
func BenchmarkExactSetAdd(b *testing.B) {
	base := make([]byte, 3000)
	for i := range base {
		base[i] = 'a' + byte(i%26)
	}
	texts := make([]string, 1024)
	for i := range texts {
		texts[i] = strconv.Itoa(i) + string(base)
	}

	b.SetBytes(int64(len(texts[0])))
	b.ReportAllocs()
	s := NewExactSet(0)
	for i := 0; b.Loop(); i++ {
		h := ExactHash(texts[i%len(texts)])
		h[0] ^= byte(i >> 10) // distinct hashes past the first 1024 texts
		h[1] ^= byte(i >> 18)
		h[2] ^= byte(i >> 26)
		s.Add(h)
	}
	b.StopTimer()

	b.ReportMetric(setHeapBytesPerEntry(1<<20), "heap-B/entry")
}

// setHeapBytesPerEntry measures the live heap an ExactSet of n hashes holds.
func setHeapBytesPerEntry(n int) float64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	s := NewExactSet(0)
	var h [16]byte
	for i := range n {
		h[0], h[1], h[2], h[3] = byte(i), byte(i>>8), byte(i>>16), byte(i>>24)
		s.Add(h)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(s)
	return float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
}
