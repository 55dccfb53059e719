package report

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"strings"
	"unicode/utf8"
)

// Chart geometry, in SVG user units (CSS pixels at 100% zoom). Every chart
// scales to its container's width through its viewBox.
const (
	chartWidth  = 1000.0
	rowHeight   = 18.0
	barHeight   = 12.0
	charWidth   = 7.4 // a generous average advance of a 12px sans-serif character, such as DejaVu Sans's
	valueWidth  = 6.6 // the same for the 11px text at a bar's end
	maxLabelLen = 34  // runes of a label shown before it is cut with an ellipsis
	panelGap    = 16.0
)

// svgWriter builds one SVG element. Every mark, the element that stands
// for one row of the chart's table, carries a data-mark attribute so a
// test can count them, and a title that a browser shows on hover.
type svgWriter struct {
	b strings.Builder
}

func (w *svgWriter) open(width, height float64, label string) {
	fmt.Fprintf(&w.b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %s %s" width="%s" role="img" aria-label="%s">`,
		num(width), num(height), num(width), html.EscapeString(label))
}

func (w *svgWriter) close() template.HTML {
	w.b.WriteString("</svg>")
	return template.HTML(w.b.String()) // every text in it went through html.EscapeString
}

// text writes a text element; attrs is extra raw attributes.
func (w *svgWriter) text(x, y float64, class, attrs, s string) {
	fmt.Fprintf(&w.b, `<text x="%s" y="%s" class="%s"%s>%s</text>`, num(x), num(y), class, attrs, html.EscapeString(s))
}

func (w *svgWriter) line(x1, y1, x2, y2 float64, class string) {
	fmt.Fprintf(&w.b, `<line x1="%s" y1="%s" x2="%s" y2="%s" class="%s"/>`, num(x1), num(y1), num(x2), num(y2), class)
}

// mark writes a rect that stands for one row; series names the measure
// when the chart draws several per row.
func (w *svgWriter) mark(x, y, width, height float64, class, series, title, attrs string) {
	fmt.Fprintf(&w.b, `<rect data-mark=""`)
	if series != "" {
		fmt.Fprintf(&w.b, ` data-series="%s"`, series)
	}
	fmt.Fprintf(&w.b, ` x="%s" y="%s" width="%s" height="%s" class="%s"%s><title>%s</title></rect>`,
		num(x), num(y), num(max(width, 0)), num(max(height, 0)), class, attrs, html.EscapeString(title))
}

func (w *svgWriter) rect(x, y, width, height float64, class string) {
	fmt.Fprintf(&w.b, `<rect x="%s" y="%s" width="%s" height="%s" class="%s"/>`, num(x), num(y), num(max(width, 0)), num(max(height, 0)), class)
}

// num formats a coordinate with at most two decimals.
func num(f float64) string {
	s := fmt.Sprintf("%.2f", f)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	if s == "-0" {
		return "0"
	}
	return s
}

// shortLabel cuts a label to maxLabelLen runes.
func shortLabel(s string) string {
	if utf8.RuneCountInString(s) <= maxLabelLen {
		return s
	}
	r := []rune(s)
	return string(r[:maxLabelLen-1]) + "…"
}

// labelWidth returns the width of a column that fits the longest label.
func labelWidth(labels []string) float64 {
	longest := 0
	for _, l := range labels {
		longest = max(longest, utf8.RuneCountInString(shortLabel(l)))
	}
	return min(max(float64(longest)*charWidth+12, 48), 240)
}

// series is one measure of a horizontal bar chart, drawn in its own panel.
type series struct {
	name    string    // data-series value; empty for a chart of one series
	heading string    // panel heading; empty for none
	values  []float64 // one per label
	texts   []string  // shown at each bar's end
	titles  []string  // shown on hover
}

// hbarSpec is a horizontal bar chart: one row per label, one panel per
// series, side by side with one scale for all of them.
type hbarSpec struct {
	label  string // accessible name of the chart
	labels []string
	series []series
	ghost  []float64 // optional lighter bars behind the first series, such as a stage's input
	class  func(row int) string
}

func hbarChart(spec hbarSpec) template.HTML {
	lw := labelWidth(spec.labels)
	top := 6.0
	for _, s := range spec.series {
		if s.heading != "" {
			top = 22
		}
	}
	height := top + float64(len(spec.labels))*rowHeight + 6
	panels := float64(len(spec.series))
	panelWidth := (chartWidth - lw - (panels-1)*panelGap) / panels
	scale := 0.0
	for _, s := range spec.series {
		for _, v := range s.values {
			scale = max(scale, v)
		}
	}
	for _, v := range spec.ghost {
		scale = max(scale, v)
	}
	barMax := panelWidth - textRoom(spec.series...)

	var w svgWriter
	w.open(chartWidth, height, spec.label)
	for i, l := range spec.labels {
		y := top + float64(i)*rowHeight
		w.text(lw-8, y+barHeight, "label end", "", shortLabel(l))
	}
	for p, s := range spec.series {
		x0 := lw + float64(p)*(panelWidth+panelGap)
		if s.heading != "" {
			w.text(x0, 13, "axis", "", s.heading)
		}
		w.line(x0, top-2, x0, height-4, "axis-line")
		for i, v := range s.values {
			y := top + float64(i)*rowHeight + (rowHeight-barHeight)/2
			if p == 0 && i < len(spec.ghost) {
				w.rect(x0, y, barLength(spec.ghost[i], scale, barMax), barHeight, "ghost")
			}
			class := fmt.Sprintf("bar s%d", p%4)
			if spec.class != nil {
				class = "bar " + spec.class(i)
			}
			length := barLength(v, scale, barMax)
			w.mark(x0, y, length, barHeight, class, s.name, s.titles[i], "")
			end := length
			if p == 0 && i < len(spec.ghost) {
				end = max(end, barLength(spec.ghost[i], scale, barMax))
			}
			w.text(x0+end+4, y+barHeight-2, "value", "", s.texts[i])
		}
	}
	return w.close()
}

// textRoom returns the width that the longest text at a bar's end needs.
func textRoom(all ...series) float64 {
	longest := 0
	for _, s := range all {
		for _, t := range s.texts {
			longest = max(longest, utf8.RuneCountInString(t))
		}
	}
	return min(float64(longest)*valueWidth+8, 240)
}

// barLength scales v to at most full, keeping a nonzero value visible.
func barLength(v, scale, full float64) float64 {
	if scale <= 0 || v <= 0 {
		return 0
	}
	return max(v/scale*full, 1)
}

// divergingSpec is a chart of signed changes around a center line.
type divergingSpec struct {
	label  string
	labels []string
	values []float64
	texts  []string
	titles []string
}

func divergingChart(spec divergingSpec) template.HTML {
	lw := labelWidth(spec.labels)
	top := 6.0
	height := top + float64(len(spec.labels))*rowHeight + 6
	center := lw + (chartWidth-lw)/2
	half := (chartWidth-lw)/2 - textRoom(series{texts: spec.texts})
	scale := 0.0
	for _, v := range spec.values {
		scale = max(scale, math.Abs(v))
	}

	var w svgWriter
	w.open(chartWidth, height, spec.label)
	w.line(center, top-2, center, height-4, "axis-line")
	for i, v := range spec.values {
		y := top + float64(i)*rowHeight + (rowHeight-barHeight)/2
		w.text(lw-8, y+barHeight-1, "label end", "", shortLabel(spec.labels[i]))
		length := barLength(math.Abs(v), scale, half)
		if v < 0 {
			w.mark(center-length, y, length, barHeight, "bar neg", "", spec.titles[i], "")
			w.text(center-length-4, y+barHeight-2, "value end", "", spec.texts[i])
			continue
		}
		w.mark(center, y, length, barHeight, "bar pos", "", spec.titles[i], "")
		w.text(center+length+4, y+barHeight-2, "value", "", spec.texts[i])
	}
	return w.close()
}

// histogramChart draws a histogram's bins as vertical bars, with a dashed
// line at each threshold.
func histogramChart(h Histogram) template.HTML {
	const (
		width, height = 360.0, 180.0
		left, right   = 44.0, 12.0
		top, bottom   = 16.0, 34.0
	)
	plotW, plotH := width-left-right, height-top-bottom
	lo, hi := h.Bins[0].Low, h.Bins[len(h.Bins)-1].High
	if hi == lo {
		hi = lo + 1
	}
	xAt := func(x float64) float64 { return left + (x-lo)/(hi-lo)*plotW }
	var most int64
	for _, b := range h.Bins {
		most = max(most, b.Docs)
	}

	var w svgWriter
	w.open(width, height, fmt.Sprintf("histogram of %s in %s", h.Signal, h.Stage))
	w.line(left, top+plotH, left+plotW, top+plotH, "axis-line")
	w.line(left, top, left, top+plotH, "axis-line")
	w.text(left-4, top+8, "axis end", "", formatCount(most))
	w.text(left-4, top+plotH, "axis end", "", "0")
	for _, b := range h.Bins {
		x0, x1 := xAt(b.Low), xAt(b.High)
		barH := 0.0
		if most > 0 {
			barH = float64(b.Docs) / float64(most) * plotH
		}
		title := fmt.Sprintf("%s from %s to %s: %s dropped documents", h.Signal, formatNumber(b.Low), formatNumber(b.High), formatCount(b.Docs))
		w.mark(x0+0.5, top+plotH-barH, x1-x0-1, barH, "bar s0", "", title, "")
	}
	// Bins of one whole number each are labelled at their centers, and a
	// threshold sits at the center of its number's bin.
	first, last, offset := lo, hi, 0.0
	if wholeBins(h.Bins) {
		first, last, offset = h.Bins[0].Low, h.Bins[len(h.Bins)-1].Low, 0.5
	}
	w.text(xAt(first+offset), height-bottom+16, "axis middle", "", formatNumber(first))
	if last != first {
		w.text(xAt(last+offset), height-bottom+16, "axis middle", "", formatNumber(last))
	}
	w.text(left+plotW/2, height-4, "axis middle", "", h.Signal)
	for i, t := range h.Thresholds {
		x := xAt(t + offset)
		w.line(x, top-4, x, top+plotH, "threshold")
		if i == 0 {
			w.text(min(x+3, width-right-60), top-5, "axis threshold-label", "", "threshold "+formatNumber(t))
		}
	}
	return w.close()
}

// wholeBins reports whether every bin holds one whole number.
func wholeBins(bins []Bin) bool {
	for _, b := range bins {
		if b.High-b.Low != 1 || b.Low != math.Trunc(b.Low) {
			return false
		}
	}
	return true
}

// heatmapChart draws the kept documents of each language (row) and source
// (column) as cells whose opacity grows with the log of the count. Rows
// follow the order of cells; sources gives the column order.
func heatmapChart(cells []Cell, sources []string) template.HTML {
	var langs []string
	langRow, sourceCol := map[string]int{}, map[string]int{}
	for j, s := range sources {
		sourceCol[s] = j
	}
	var most int64
	for _, c := range cells {
		if _, ok := langRow[c.Lang]; !ok {
			langRow[c.Lang] = len(langs)
			langs = append(langs, c.Lang)
		}
		most = max(most, c.Docs)
	}

	lw := labelWidth(langs)
	longest := 0
	for _, s := range sources {
		longest = max(longest, utf8.RuneCountInString(shortLabel(s)))
	}
	slant := float64(longest) * charWidth * 0.72 // the extent of a label turned 45 degrees
	top := slant + 14
	cw := min(max((chartWidth-lw-slant)/float64(len(sources)), 24), 56)
	width := max(chartWidth, lw+cw*float64(len(sources))+slant)
	height := top + float64(len(langs))*rowHeight + 8

	var w svgWriter
	w.open(width, height, "kept documents by language and source")
	for j, s := range sources {
		x := lw + (float64(j)+0.5)*cw
		w.text(x, top-6, "label", fmt.Sprintf(` transform="rotate(-45 %s %s)"`, num(x), num(top-6)), shortLabel(s))
	}
	for i, l := range langs {
		y := top + float64(i)*rowHeight
		if i%2 == 0 {
			w.rect(lw, y, cw*float64(len(sources)), rowHeight, "stripe")
		}
		w.text(lw-8, y+13, "label end", "", shortLabel(l))
	}
	for _, c := range cells {
		x := lw + float64(sourceCol[c.Source])*cw
		y := top + float64(langRow[c.Lang])*rowHeight
		opacity := 0.0
		if most > 0 && c.Docs > 0 {
			opacity = 0.12 + 0.88*math.Log1p(float64(c.Docs))/math.Log1p(float64(most))
		}
		title := fmt.Sprintf("%s in %s: %s kept of %s documents", c.Lang, c.Source, formatCount(c.Docs), formatCount(c.DocsBefore))
		w.mark(x+1, y+1, cw-2, rowHeight-2, "cell", "", title, fmt.Sprintf(` fill-opacity="%.3f"`, opacity))
		class := "cell-text"
		if opacity > 0.6 {
			class += " on-strong"
		}
		w.text(x+cw/2, y+13, class, "", compactCount(c.Docs))
	}
	return w.close()
}
