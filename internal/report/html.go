package report

import (
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"strconv"
	"strings"
)

var (
	//go:embed assets/report.css
	pageCSS string
	//go:embed assets/report.js
	pageJS string
	//go:embed assets/report.html.tmpl
	pageTemplateText string
)

var pageTemplate = template.Must(template.New("report").Parse(pageTemplateText))

// contentSecurityPolicy allows the page's own style and script elements,
// by hash, and nothing else: no request leaves the page.
var contentSecurityPolicy = fmt.Sprintf(
	"default-src 'none'; style-src '%s'; script-src '%s'; img-src data:; base-uri 'none'; form-action 'none'",
	cspHash(pageCSS), cspHash(pageJS))

func cspHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}

// page is the data of the HTML template.
type page struct {
	Title    string
	Meta     string
	Footer   string
	Winnow   string
	CSP      string
	CSS      template.CSS
	JS       template.JS
	Sections []pageSection
}

type pageSection struct {
	ID    string
	Title string
	Intro []string
	Facts []fact
	Parts []part
}

type fact struct{ Value, Label string }

// part is one block of a section: notes, then charts, then a table.
type part struct {
	Heading        string
	Notes          []string
	Chips          []string
	ChipsClass     string
	Figures        []figure
	SmallMultiples bool
	Table          *htmlTable
}

// figure is one chart. Table names the report table whose rows its marks
// stand for, and Group, when set, the subset of those rows.
type figure struct {
	Table   string
	Group   string
	Caption string
	SVG     template.HTML
	Wide    bool
}

type htmlTable struct {
	Name      string
	Caption   string
	Collapsed bool
	Head      []htmlColumn
	Rows      [][]htmlCell
}

type htmlColumn struct {
	Label   string
	Numeric bool
}

// htmlCell is a formatted value; Sort is the raw number that sorting
// uses, empty for an unknown value.
type htmlCell struct {
	Text    string
	Sort    string
	Numeric bool
}

// WriteHTML writes the report as one self-contained HTML page: charts are
// inline SVG, and the only script sorts tables and switches the theme.
func (r *Report) WriteHTML(w io.Writer) error {
	return pageTemplate.Execute(w, r.page())
}

func (r *Report) page() page {
	title := "winnow report: version " + r.Version.ID
	if r.Version.Tag != "" {
		title += " (" + r.Version.Tag + ")"
	}
	meta := []string{"created " + r.Version.CreatedAt.UTC().Format("2006-01-02 15:04 UTC")}
	if r.Version.Parent != "" {
		meta = append(meta, "parent "+r.Version.Parent)
	}
	if r.Version.Message != "" {
		meta = append(meta, "message “"+r.Version.Message+"”")
	}
	meta = append(meta, "winnow "+r.Version.Winnow, "config "+shortHash(r.Version.ConfigHash))

	tables := map[string]Table{}
	for _, t := range r.Tables() {
		tables[t.Name] = t
	}
	return page{
		Title:    title,
		Meta:     strings.Join(meta, " · "),
		Footer:   "Written by winnow report from the version's manifest and rejects output. The same tables are written by --format json and --format csv. This page loads nothing from the network.",
		Winnow:   r.Version.Winnow,
		CSP:      contentSecurityPolicy,
		CSS:      template.CSS(pageCSS),
		JS:       template.JS(pageJS),
		Sections: r.sections(tables),
	}
}

func shortHash(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

// tableOf formats t for the page; collapsed tables sit in a <details>.
func tableOf(t Table, caption string, collapsed bool) *htmlTable {
	h := &htmlTable{Name: t.Name, Caption: caption, Collapsed: collapsed}
	for _, c := range t.Columns {
		h.Head = append(h.Head, htmlColumn{Label: strings.ReplaceAll(c.Name, "_", " "), Numeric: c.Kind != Text && c.Kind != Bool})
	}
	for _, row := range t.Rows {
		cells := make([]htmlCell, len(row))
		for i, v := range row {
			cells[i] = formatCell(t.Columns[i], v)
		}
		h.Rows = append(h.Rows, cells)
	}
	return h
}

func formatCell(c Column, v any) htmlCell {
	numeric := c.Kind != Text && c.Kind != Bool
	if v == nil {
		return htmlCell{Text: "–", Numeric: numeric}
	}
	switch v := v.(type) {
	case int64:
		text := formatCount(v)
		if c.Kind == Bytes {
			text = formatBytes(v)
		}
		return htmlCell{Text: text, Sort: strconv.FormatInt(v, 10), Numeric: true}
	case float64:
		text := formatNumber(v)
		if c.Kind == Fraction && strings.HasSuffix(c.Name, "_delta") {
			text = formatPoints(v)
		} else if c.Kind == Fraction {
			text = formatPercent(v)
		}
		return htmlCell{Text: text, Sort: strconv.FormatFloat(v, 'g', -1, 64), Numeric: true}
	case bool:
		if v {
			return htmlCell{Text: "yes"}
		}
		return htmlCell{Text: "no"}
	}
	return htmlCell{Text: fmt.Sprint(v)}
}
