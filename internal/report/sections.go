package report

import (
	"fmt"
	"html/template"
	"math"
	"strings"
)

// sections returns the sections of the page in reading order. A section
// whose data is missing keeps its place and a note gives the reason. The
// mixture and changes sections are the exception: they appear only when
// the version has a mixture or the report compares two versions.
func (r *Report) sections(tables map[string]Table) []pageSection {
	out := []pageSection{
		r.overviewSection(tables),
		r.languagesSection(tables),
		r.sourcesSection(tables),
		r.gridSection(tables),
	}
	if len(r.Mixture) > 0 {
		out = append(out, r.mixtureSection(tables))
	}
	out = append(out, r.stagesSection(tables), r.signalsSection(tables), r.clustersSection(tables))
	if r.Against != nil {
		out = append(out, r.changesSection(tables))
	}
	return out
}

// notes returns the report's note for each named table that has one.
func (r *Report) notes(names ...string) []string {
	var out []string
	for _, n := range names {
		if note := r.Notes[n]; note != "" {
			out = append(out, note)
		}
	}
	return out
}

func (r *Report) overviewSection(tables map[string]Table) pageSection {
	v := r.Version
	facts := []fact{
		{formatCount(v.Docs), "documents kept"},
		{formatBytes(v.Bytes), "text kept"},
		{formatCount(v.Tokens), "whitespace tokens kept"},
	}
	if v.DocsRead > 0 {
		facts = append(facts,
			fact{formatCount(v.DocsRead), "documents read"},
			fact{formatPercent(fraction(v.Docs, v.DocsRead)), "of the documents read kept"})
	}
	facts = append(facts,
		fact{formatCount(int64(countKept(r.Languages))), "languages with kept documents"},
		fact{formatCount(int64(countKept(r.Sources))), "sources with kept documents"},
		fact{formatCount(int64(v.Shards)), "shards"},
		fact{formatCount(int64(v.Rejects)), "rejects files"})
	intro := []string{"The version's totals, from its manifest. Shares below are of the kept documents unless a chart says otherwise."}
	if v.DedupOf != "" {
		intro = append(intro, "This version was made by a winnow dedup pass over version "+v.DedupOf+".")
	}
	return pageSection{
		ID: "overview", Title: "Overview", Intro: intro, Facts: facts,
		Parts: []part{{Table: tableOf(tables[TableVersions], "versions", false)}},
	}
}

func countKept(rows []Share) int {
	n := 0
	for _, s := range rows {
		if s.Docs > 0 && s.Name != OtherName {
			n++
		}
	}
	return n
}

func (r *Report) languagesSection(tables map[string]Table) pageSection {
	p := part{Notes: r.notes(TableLanguages), Table: tableOf(tables[TableLanguages], "languages", true)}
	if len(r.Languages) > 0 {
		p.Figures = []figure{{Table: TableLanguages, Caption: "Share of kept documents, text bytes and tokens by language", SVG: shareChart("language shares", r.Languages)}}
	}
	return pageSection{
		ID: "languages", Title: "Languages",
		Intro: []string{"Each language label's share of the kept documents, text bytes and whitespace tokens. und counts the documents that langid could not label, or that no langid stage saw."},
		Parts: []part{p},
	}
}

// sourceKeyMeaning describes in words how a source key names sources.
func sourceKeyMeaning(key string) string {
	switch key {
	case "url_domain":
		return "the domain of each document's URL (balance.source: url_domain)"
	case "input":
		return "the input file each document came from (balance.source: input)"
	}
	return "the source field of each document"
}

func (r *Report) sourcesSection(tables map[string]Table) pageSection {
	p := part{Notes: r.notes(TableSources), Table: tableOf(tables[TableSources], "sources", true)}
	if len(r.Sources) > 0 {
		p.Figures = []figure{{Table: TableSources, Caption: "Share of kept documents, text bytes and tokens by source", SVG: shareChart("source shares", r.Sources)}}
	}
	return pageSection{
		ID: "sources", Title: "Sources",
		Intro: []string{"Sources are named by " + sourceKeyMeaning(r.SourceKey) + "; documents without one count as unknown."},
		Parts: []part{p},
	}
}

func (r *Report) gridSection(tables map[string]Table) pageSection {
	p := part{Notes: r.notes(TableLanguageSource), Table: tableOf(tables[TableLanguageSource], "languages by source", true)}
	if len(r.Grid) > 0 {
		p.Figures = []figure{{
			Table: TableLanguageSource, Caption: "Kept documents by language (rows) and source (columns)",
			SVG: heatmapChart(r.Grid, r.gridSources()), Wide: true,
		}}
	}
	return pageSection{
		ID: "language-source", Title: "Languages by source",
		Intro: []string{"Kept documents of each language in each source. The colour grows with the logarithm of the count; hover over a cell for the documents before curation too. An empty cell is a pair whose every document was dropped."},
		Parts: []part{p},
	}
}

// gridSources returns the heat map's columns in the order of the source
// table, with OtherName last.
func (r *Report) gridSources() []string {
	present := map[string]bool{}
	for _, c := range r.Grid {
		present[c.Source] = true
	}
	var out []string
	for _, s := range r.Sources {
		if present[s.Name] && s.Name != OtherName {
			out = append(out, s.Name)
		}
	}
	if present[OtherName] {
		out = append(out, OtherName)
	}
	return out
}

func (r *Report) mixtureSection(tables map[string]Table) pageSection {
	labels := make([]string, len(r.Mixture))
	natural, mix := series{name: "natural", heading: "natural share of tokens"}, series{name: "mix", heading: "share of the training mix"}
	for i, m := range r.Mixture {
		labels[i] = m.Lang
		natural.values = append(natural.values, m.Natural)
		natural.texts = append(natural.texts, formatPercent(m.Natural))
		natural.titles = append(natural.titles, fmt.Sprintf("%s: %s of the kept tokens", m.Lang, formatPercent(m.Natural)))
		mix.values = append(mix.values, m.Share)
		text := fmt.Sprintf("%s, %s×", formatPercent(m.Share), formatNumber(round(m.Repeats, 2)))
		mix.texts = append(mix.texts, text)
		mix.titles = append(mix.titles, fmt.Sprintf("%s: %s of the mix, %s passes over its tokens", m.Lang, formatPercent(m.Share), formatNumber(round(m.Repeats, 2))))
	}
	svg := hbarChart(hbarSpec{label: "training mixture", labels: labels, series: []series{natural, mix}})
	return pageSection{
		ID: "mixture", Title: "Training mixture",
		Intro: []string{"The per-language sampling weights recorded in the manifest for the loader, next to each language's natural share of the kept tokens, with the expected passes over its tokens."},
		Parts: []part{{
			Notes:   r.notes(TableMixture),
			Figures: []figure{{Table: TableMixture, Caption: "Natural share and mix share of tokens by language", SVG: svg}},
			Table:   tableOf(tables[TableMixture], "training mixture", true),
		}},
	}
}

// plural writes n and the noun, with an s unless n is 1.
func plural(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return formatCount(n) + " " + noun + "s"
}

// round rounds f to digits decimals.
func round(f float64, digits int) float64 {
	scale := math.Pow(10, float64(digits))
	return math.Round(f*scale) / scale
}

// shareChart draws the document, byte and token shares of each row in
// three panels.
func shareChart(label string, rows []Share) template.HTML {
	labels := make([]string, len(rows))
	docs := series{name: "docs", heading: "documents"}
	bytes := series{name: "bytes", heading: "text bytes"}
	tokens := series{name: "tokens", heading: "tokens"}
	for i, s := range rows {
		labels[i] = s.Name
		docs.add(s.DocsShare, fmt.Sprintf("%s: %s of kept documents (%s)", s.Name, formatPercent(s.DocsShare), formatCount(s.Docs)))
		bytes.add(s.BytesShare, fmt.Sprintf("%s: %s of kept text (%s)", s.Name, formatPercent(s.BytesShare), formatBytes(s.Bytes)))
		tokens.add(s.TokensShare, fmt.Sprintf("%s: %s of kept tokens (%s)", s.Name, formatPercent(s.TokensShare), formatCount(s.Tokens)))
	}
	return hbarChart(hbarSpec{label: label, labels: labels, series: []series{docs, bytes, tokens}})
}

// add appends a share with its percentage as the bar's text.
func (s *series) add(share float64, title string) {
	s.values = append(s.values, share)
	s.texts = append(s.texts, formatPercent(share))
	s.titles = append(s.titles, title)
}

func (r *Report) stagesSection(tables map[string]Table) pageSection {
	funnel := part{Heading: "Funnel", Notes: r.notes(TableStages), Table: tableOf(tables[TableStages], "stages", false)}
	if len(r.Stages) > 0 {
		funnel.Figures = []figure{{Table: TableStages, Caption: "Documents out of each stage; the lighter bar is the stage's input", SVG: funnelChart(r.Stages)}}
	}
	drops := part{Heading: "Drops by reason", Notes: r.notes(TableDrops), Table: tableOf(tables[TableDrops], "drops", false)}
	if len(r.Drops) > 0 {
		drops.Figures = []figure{{Table: TableDrops, Caption: "Documents dropped by each rule, with their share of the stage's input; colours alternate between stages", SVG: dropsChart(r.Drops)}}
	} else if len(r.Stages) > 0 {
		drops.Notes = append(drops.Notes, "No stage dropped a document.")
	}
	events := part{Heading: "Counted events", Table: tableOf(tables[TableEvents], "events", true)}
	if len(r.Events) == 0 {
		events.Notes = []string{"No stage counted an event."}
		events.Table = nil
	}
	return pageSection{
		ID: "stages", Title: "Stages",
		Intro: []string{"Documents into and out of every stage of the run that made the version, in dataflow order. The source stage's drops are records it read but could not turn into documents. Events are counted without dropping the document."},
		Parts: []part{funnel, drops, events},
	}
}

func funnelChart(stages []StageRow) template.HTML {
	labels := make([]string, len(stages))
	ghost := make([]float64, len(stages))
	out := series{}
	for i, s := range stages {
		labels[i] = s.Stage
		in := s.DocsIn
		if s.Stage == "source" {
			in = s.DocsOut + s.Dropped
		}
		ghost[i] = float64(in)
		text := formatCount(s.DocsOut)
		if s.Dropped > 0 {
			text += " (−" + formatCount(s.Dropped) + ")"
		}
		out.values = append(out.values, float64(s.DocsOut))
		out.texts = append(out.texts, text)
		out.titles = append(out.titles, fmt.Sprintf("%s: %s in, %s out, %s dropped", s.Stage, formatCount(in), formatCount(s.DocsOut), formatCount(s.Dropped)))
	}
	return hbarChart(hbarSpec{label: "stage funnel", labels: labels, series: []series{out}, ghost: ghost})
}

func dropsChart(drops []DropRow) template.HTML {
	labels := make([]string, len(drops))
	s := series{}
	stageIndex := map[string]int{}
	for i, d := range drops {
		if _, ok := stageIndex[d.Stage]; !ok {
			stageIndex[d.Stage] = len(stageIndex)
		}
		labels[i] = d.Reason
		s.values = append(s.values, float64(d.Docs))
		s.texts = append(s.texts, fmt.Sprintf("%s · %s of input", formatCount(d.Docs), formatPercent(d.Share)))
		s.titles = append(s.titles, fmt.Sprintf("%s, stage %s: %s dropped, %s of the stage's input", d.Reason, d.Stage, formatCount(d.Docs), formatPercent(d.Share)))
	}
	// Alternate colours between stages so that a stage's reasons group.
	class := func(i int) string { return fmt.Sprintf("s%d", stageIndex[drops[i].Stage]%2) }
	return hbarChart(hbarSpec{label: "drops by reason", labels: labels, series: []series{s}, class: class})
}

func (r *Report) signalsSection(tables map[string]Table) pageSection {
	p := part{Notes: r.notes(TableHistograms), SmallMultiples: true}
	for _, h := range r.Histograms {
		caption := fmt.Sprintf("%s · %s: %s", h.Stage, h.Signal, plural(h.Docs, "dropped document"))
		if len(h.Thresholds) > 1 {
			caption += fmt.Sprintf(" (%d thresholds, from %s to %s)", len(h.Thresholds), formatNumber(h.Thresholds[0]), formatNumber(h.Thresholds[len(h.Thresholds)-1]))
		}
		p.Figures = append(p.Figures, figure{Table: TableHistograms, Group: h.Stage + "/" + h.Signal, Caption: caption, SVG: histogramChart(h)})
	}
	if len(r.Histograms) > 0 {
		p.Table = tableOf(tables[TableHistograms], "histogram bins", true)
	}
	return pageSection{
		ID: "signals", Title: "Quality signals of dropped documents",
		Intro: []string{"For each rule that measures a value, the distribution of that value over the documents it dropped, with the threshold as a dashed line. These histograms show dropped documents only, read from the rejects output: kept documents are not there, so the side of the threshold where documents pass is empty."},
		Parts: []part{p},
	}
}

func (r *Report) clustersSection(tables map[string]Table) pageSection {
	p := part{Notes: r.notes(TableClusters)}
	if len(r.Clusters) > 0 {
		labels := make([]string, len(r.Clusters))
		s := series{}
		for i, c := range r.Clusters {
			labels[i] = fmt.Sprintf("size %d", c.Size)
			s.values = append(s.values, float64(c.Clusters))
			s.texts = append(s.texts, plural(c.Clusters, "cluster"))
			s.titles = append(s.titles, fmt.Sprintf("%s of %d documents: 1 kept and %d dropped in each", plural(c.Clusters, "cluster"), c.Size, c.Size-1))
		}
		p.Figures = []figure{{Table: TableClusters, Caption: "Near-duplicate clusters by size", SVG: hbarChart(hbarSpec{label: "near-duplicate cluster sizes", labels: labels, series: []series{s}})}}
		p.Table = tableOf(tables[TableClusters], "cluster sizes", false)
	}
	return pageSection{
		ID: "clusters", Title: "Near-duplicate clusters",
		Intro: []string{"A cluster is a kept document with the documents near_dedup dropped as its near duplicates, so its size is 1 plus the drops that name it as their twin. Kept documents without a near duplicate are not counted. The kept document may belong to an earlier version when the run used --dedup-against."},
		Parts: []part{p},
	}
}

func (r *Report) changesSection(tables map[string]Table) pageSection {
	a := r.Against
	facts := []fact{}
	for _, d := range r.Divergence {
		facts = append(facts, fact{strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.4f", d.Divergence), "0"), "."), "Jensen-Shannon divergence of the language mix by " + d.Measure + " (bits)"})
	}
	facts = append(facts, fact{fmt.Sprintf("%+d", r.Version.Docs-a.Docs), "kept documents since " + a.ID})

	var newLangs, lostLangs []string
	for _, c := range r.LanguageChanges {
		switch c.Status {
		case statusNew:
			newLangs = append(newLangs, c.Name)
		case statusLost:
			lostLangs = append(lostLangs, c.Name)
		}
	}
	langs := part{Heading: "Languages", Table: tableOf(tables[TableLanguageChange], "language changes", true)}
	if len(newLangs) == 0 && len(lostLangs) == 0 {
		langs.Notes = append(langs.Notes, "No language is new or lost.")
	}
	parts := []part{
		{Table: tableOf(tables[TableDivergence], "divergence", false)},
		chipsPart("New languages", newLangs, "new"),
		chipsPart("Lost languages", lostLangs, "lost"),
		langs,
	}
	if len(r.LanguageChanges) > 0 {
		parts[3].Figures = []figure{{Table: TableLanguageChange, Caption: "Change of each language's share of kept documents, in percentage points", SVG: changeChart("language share changes", r.LanguageChanges)}}
	}
	sources := part{Heading: "Sources", Notes: r.notes(TableSourceChange), Table: tableOf(tables[TableSourceChange], "source changes", true)}
	if len(r.SourceChanges) > 0 {
		sources.Figures = []figure{{Table: TableSourceChange, Caption: "Change of each source's share of kept documents, in percentage points", SVG: changeChart("source share changes", r.SourceChanges)}}
	}
	parts = append(parts, sources)
	return pageSection{
		ID: "changes", Title: "Changes since " + a.ID,
		Intro: []string{fmt.Sprintf("Compared with version %s, created %s. The Jensen-Shannon divergence is 0 for the same language mix and 1 for two mixes with no language in common.", a.ID, a.CreatedAt.UTC().Format("2006-01-02 15:04 UTC"))},
		Facts: facts,
		Parts: parts,
	}
}

// chipsPart lists names under a heading that counts them.
func chipsPart(heading string, names []string, class string) part {
	p := part{Heading: fmt.Sprintf("%s (%d)", heading, len(names)), Chips: names, ChipsClass: class}
	if len(names) == 0 {
		p.Notes = []string{"None."}
	}
	return p
}

func changeChart(label string, rows []Change) template.HTML {
	spec := divergingSpec{label: label}
	for _, c := range rows {
		name := c.Name
		if c.Status != statusCommon {
			name += " (" + c.Status + ")"
		}
		d := c.Share - c.ShareBefore
		spec.labels = append(spec.labels, name)
		spec.values = append(spec.values, d)
		spec.texts = append(spec.texts, formatPoints(d))
		spec.titles = append(spec.titles, fmt.Sprintf("%s: %s → %s of kept documents (%s → %s documents)",
			c.Name, formatPercent(c.ShareBefore), formatPercent(c.Share), formatCount(c.DocsBefore), formatCount(c.Docs)))
	}
	return divergingChart(spec)
}
