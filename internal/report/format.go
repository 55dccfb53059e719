package report

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// formatCount writes n with thousands separators: 1,234,567.
func formatCount(n int64) string {
	s := strconv.FormatInt(n, 10)
	sign := ""
	if n < 0 {
		sign, s = "-", s[1:]
	}
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return sign + b.String()
}

// compactCount writes n in at most four characters or so: 950, 1.2k, 34k,
// 5.6M.
func compactCount(n int64) string {
	f := float64(n)
	switch {
	case n < 1000:
		return strconv.FormatInt(n, 10)
	case n < 10_000:
		return fmt.Sprintf("%.1fk", f/1e3)
	case n < 1_000_000:
		return fmt.Sprintf("%.0fk", f/1e3)
	case n < 10_000_000:
		return fmt.Sprintf("%.1fM", f/1e6)
	case n < 1_000_000_000:
		return fmt.Sprintf("%.0fM", f/1e6)
	}
	return fmt.Sprintf("%.1fG", f/1e9)
}

// formatBytes writes n in decimal units: 2.88 MB.
func formatBytes(n int64) string {
	units := []string{"B", "kB", "MB", "GB", "TB", "PB"}
	f := float64(n)
	i := 0
	for math.Abs(f) >= 1000 && i < len(units)-1 {
		f /= 1000
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%d B", n)
	}
	return fmt.Sprintf("%.3g %s", f, units[i])
}

// formatPercent writes a fraction as a percentage with about three
// significant digits: 12.3%, 0.42%, 0.0071%.
func formatPercent(f float64) string {
	p := f * 100
	a := math.Abs(p)
	switch {
	case a == 0:
		return "0%"
	case a >= 10:
		return fmt.Sprintf("%.1f%%", p)
	case a >= 1:
		return fmt.Sprintf("%.2f%%", p)
	}
	// Two significant digits: 0.42%, 0.0071%.
	decimals := 1 - int(math.Floor(math.Log10(a)))
	return strconv.FormatFloat(p, 'f', decimals, 64) + "%"
}

// formatPoints writes a difference of two fractions in percentage points,
// with its sign: +1.25 pp.
func formatPoints(d float64) string {
	s := formatPercent(d)
	s = strings.TrimSuffix(s, "%") + " pp"
	if d > 0 {
		s = "+" + s
	}
	return s
}

// formatNumber writes a measured value with up to four significant
// digits, and whole numbers in full.
func formatNumber(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return formatCount(int64(f))
	}
	return strconv.FormatFloat(f, 'g', 4, 64)
}
