package stages

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	trafilatura "github.com/markusmobius/go-trafilatura"
	"golang.org/x/net/html"

	"github.com/winnow-data/winnow/pipeline"
)

// Drop reasons of the extract stage.
const (
	extractEmpty    = "extract_empty"     // the page has no main text
	extractTooShort = "extract_too_short" // the main text is shorter than min_text_chars
	extractTooLarge = "extract_too_large" // the HTML is larger than max_html_bytes
	extractFailed   = "extract_failed"    // the HTML parser or the extractor failed or panicked
)

// extractEventNonHTML counts the rows that pass unchanged because they are
// not HTML.
const extractEventNonHTML = "non_html_passed"

// Values of ExtractOptions.Focus.
const (
	extractFocusBalanced  = "balanced"
	extractFocusPrecision = "precision"
	extractFocusRecall    = "recall"
)

// extractDocument is the extractor; tests replace it to check that a
// panic drops one document instead of stopping the run.
var extractDocument = trafilatura.ExtractDocument

// maxLoggedExtractFailures is how many extract_failed drops one stage logs.
const maxLoggedExtractFailures = 10

const extractDoc = "Replaces the HTML of each HTML row (metadata content_type containing \"html\", or, without a content_type, " +
	"text starting with '<') with its main text, found by go-trafilatura, one line per paragraph, heading, list item or table row; " +
	"boilerplate such as navigation, headers and footers is left out. Stores the page title as metadata \"title\". " +
	"Other rows pass unchanged. Drops pages without main text (extract_empty), with less than min_text_chars " +
	"(extract_too_short), larger than max_html_bytes (extract_too_large), or that fail to parse (extract_failed)."

func init() {
	pipeline.Register("extract", extractDoc, true, DefaultExtractOptions(), newExtractor)
	pipeline.DeclareReasons("extract", extractEmpty, extractTooShort, extractTooLarge, extractFailed)
}

// ExtractOptions configures the extract stage.
type ExtractOptions struct {
	Focus           string `yaml:"focus" doc:"balanced, precision (less text, less boilerplate) or recall (more text, more boilerplate); default balanced"`
	IncludeTables   bool   `yaml:"include_tables" doc:"keep the text of tables in the main text, one line per row with cells separated by \" | \"; default true"`
	IncludeComments bool   `yaml:"include_comments" doc:"append the text of the page's comment section after the main text; default false"`
	Fallback        bool   `yaml:"fallback" doc:"also run go-readability and go-domdistiller and keep the best of the three results, at about half the speed; default false"`
	MinTextChars    int    `yaml:"min_text_chars" doc:"minimum code points of main text; a shorter non-empty text is dropped as extract_too_short; 0 keeps every non-empty text; default 0"`
	MaxHTMLBytes    int    `yaml:"max_html_bytes" doc:"largest HTML row extracted, in bytes; a larger one is dropped as extract_too_large, since parsing takes several times its size in memory; 0 for no limit; default 8388608 (8 MiB)"`
}

// DefaultExtractOptions returns the options a config that names none gets.
func DefaultExtractOptions() ExtractOptions {
	return ExtractOptions{Focus: extractFocusBalanced, IncludeTables: true, MaxHTMLBytes: 8 << 20}
}

// Validate checks Focus and the limits.
func (o *ExtractOptions) Validate() error {
	switch o.Focus {
	case extractFocusBalanced, extractFocusPrecision, extractFocusRecall:
	default:
		return fmt.Errorf("invalid focus %q: use balanced, precision or recall", o.Focus)
	}
	if o.MinTextChars < 0 {
		return fmt.Errorf("invalid min_text_chars %d: must be 0 or more", o.MinTextChars)
	}
	if o.MaxHTMLBytes < 0 {
		return fmt.Errorf("invalid max_html_bytes %d: must be 0 (no limit) or more", o.MaxHTMLBytes)
	}
	return nil
}

// extractor is the extract stage. Process keeps its working state on the
// stack, go-trafilatura keeps none between calls, and Env.Events and the
// failure count are safe for concurrent use, so the engine may run Process
// on several batches at once.
type extractor struct {
	opts     ExtractOptions
	env      pipeline.Env
	traf     trafilatura.Options
	failures atomic.Int64
}

func newExtractor(opts ExtractOptions, env pipeline.Env) (pipeline.Stage, error) {
	traf := trafilatura.Options{
		ExcludeComments: !opts.IncludeComments,
		ExcludeTables:   !opts.IncludeTables,
		EnableFallback:  opts.Fallback,
		// Publication dates are not kept, so the search for them in the
		// page text is skipped.
		HtmlDateMode: trafilatura.Disabled,
	}
	switch opts.Focus {
	case extractFocusPrecision:
		traf.Focus = trafilatura.FavorPrecision
	case extractFocusRecall:
		traf.Focus = trafilatura.FavorRecall
	}
	return &extractor{opts: opts, env: env, traf: traf}, nil
}

// extraction is the result of extracting one page.
type extraction struct {
	text, title string
}

// Process extracts the main text of every alive HTML row, drops the rows
// that yield none, and merges each page's title into its metadata.
func (e *extractor) Process(ctx context.Context, b *pipeline.Batch) error {
	metas := b.Strings(pipeline.ColMetadata)
	ids := b.Strings(pipeline.ColID)
	titles := make([]string, b.Len())
	var nonHTML int64
	var err error
	b.MapStrings(pipeline.ColText, func(i int, text string) (string, bool) {
		if err != nil {
			return text, false
		}
		if err = ctx.Err(); err != nil {
			return text, false
		}
		if !isHTMLRow(metas.Value(i), text) {
			nonHTML++
			return text, false
		}
		res, reason, detail := e.extract(text, ids.Value(i))
		if reason != "" {
			b.DropWithDetail(i, reason, detail)
			return text, false
		}
		titles[i] = res.title
		return res.text, true
	})
	if err != nil {
		return err
	}

	b.MapStrings(pipeline.ColMetadata, func(i int, meta string) (string, bool) {
		if titles[i] == "" {
			return meta, false
		}
		return mergeMetadata(meta, "title", titles[i])
	})
	e.env.Events.Add(extractEventNonHTML, nonHTML)
	return nil
}

// extract returns the main text and title of page, or the reason to drop
// it with a JSON detail for the rejects output.
func (e *extractor) extract(page, id string) (extraction, string, string) {
	if e.opts.MaxHTMLBytes > 0 && len(page) > e.opts.MaxHTMLBytes {
		return extraction{}, extractTooLarge, pipeline.SignalDetail("html_bytes", float64(len(page)), float64(e.opts.MaxHTMLBytes))
	}
	res, err := e.run(page)
	if err != nil {
		if n := e.failures.Add(1); n <= maxLoggedExtractFailures {
			e.env.Logger.Warn("dropping document whose extraction failed", "reason", extractFailed, "id", id, "err", err)
		}
		detail, _ := json.Marshal(map[string]string{"error": err.Error()})
		return extraction{}, extractFailed, string(detail)
	}

	chars := utf8.RuneCountInString(res.text)
	switch {
	case chars == 0:
		return extraction{}, extractEmpty, `{"html_bytes":` + strconv.Itoa(len(page)) + `}`
	case chars < e.opts.MinTextChars:
		return extraction{}, extractTooShort, pipeline.SignalDetail("chars", float64(chars), float64(e.opts.MinTextChars))
	}
	return res, "", ""
}

// run parses page and extracts it. A panic in the parser or the
// extractor, which are third-party code, becomes an error, so that one
// page cannot stop the run.
//
// NOTE: no time limit applies to one page. max_html_bytes bounds its size,
// but a page that makes the extractor slow holds its worker until it ends.
func (e *extractor) run(page string) (res extraction, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("extraction panicked: %v", p)
		}
	}()

	// Parsing here, instead of in trafilatura.Extract, keeps the text as
	// UTF-8, because Extract guesses the page's charset again from its
	// bytes with chardet.
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		return extraction{}, fmt.Errorf("parsing HTML: %w", err)
	}
	opts := e.traf
	cfg := *trafilatura.DefaultConfig()
	// An empty result is extract_empty, decided here, not an error.
	cfg.MinOutputSize, cfg.MinOutputCommentSize = 0, 0
	opts.Config = &cfg
	out, err := extractDocument(doc, opts)
	if err != nil {
		return extraction{}, fmt.Errorf("extracting main text: %w", err)
	}

	text := renderText(out.ContentNode)
	if e.opts.IncludeComments {
		if comments := renderText(out.CommentsNode); comments != "" {
			text = strings.TrimLeft(text+"\n"+comments, "\n")
		}
	}
	return extraction{text: text, title: strings.Join(strings.Fields(out.Metadata.Title), " ")}, nil
}

// isHTMLRow reports whether a row contains HTML: its metadata content_type
// contains "html", or, when the metadata has no content_type, its text
// starts with '<' after whitespace and any byte order mark.
func isHTMLRow(meta, text string) bool {
	// Most metadata has no content_type, so a substring test spares it
	// the JSON decoding.
	if strings.Contains(meta, `"content_type"`) {
		var m struct {
			ContentType *string `json:"content_type"`
		}
		if json.Unmarshal([]byte(meta), &m) == nil && m.ContentType != nil {
			return strings.Contains(strings.ToLower(*m.ContentType), "html")
		}
	}
	text = strings.TrimLeft(text, " \t\r\n\f\uFEFF")
	return strings.HasPrefix(text, "<")
}

// mergeMetadata returns the metadata JSON object meta with key set to
// value, its keys sorted, and whether it changed. Metadata that is not a
// JSON object is returned unchanged.
func mergeMetadata(meta, key string, value any) (string, bool) {
	fields := map[string]json.RawMessage{}
	if strings.TrimSpace(meta) != "" {
		if err := json.Unmarshal([]byte(meta), &fields); err != nil {
			return meta, false
		}
	}
	encoded, err := marshalNoEscape(value)
	if err != nil {
		return meta, false
	}
	fields[key] = encoded
	out, err := marshalNoEscape(fields)
	if err != nil {
		return meta, false
	}
	return string(out), true
}

// marshalNoEscape encodes v as compact JSON, leaving <, > and & as they
// are, as the sources write metadata.
func marshalNoEscape(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
