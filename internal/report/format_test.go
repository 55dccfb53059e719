package report

import "testing"

func TestReportFormatting(t *testing.T) {
	tests := []struct {
		got, want string
	}{
		{formatCount(0), "0"},
		{formatCount(1234567), "1,234,567"},
		{formatCount(-1234), "-1,234"},
		{compactCount(950), "950"},
		{compactCount(1234), "1.2k"},
		{compactCount(34_500), "34k"},
		{compactCount(5_600_000), "5.6M"},
		{formatBytes(999), "999 B"},
		{formatBytes(2_876_236), "2.88 MB"},
		{formatPercent(0), "0%"},
		{formatPercent(0.1234), "12.3%"},
		{formatPercent(0.01234), "1.23%"},
		{formatPercent(0.0042), "0.42%"},
		{formatPercent(0.006), "0.60%"},
		{formatPercent(0.000071), "0.0071%"},
		{formatPoints(0.0125), "+1.25 pp"},
		{formatPoints(-0.2), "-20.0 pp"},
		{formatNumber(12), "12"},
		{formatNumber(0.86681), "0.8668"},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
