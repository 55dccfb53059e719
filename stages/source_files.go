package stages

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/winnow-data/winnow/pipeline"
)

// Events that the file source counts on its Env.Events. None of them stops
// a run. A bad record is skipped or kept, as each comment states, and a bad
// file ends early with its complete records kept and its InputRecord
// marked incomplete.
const (
	EventMalformedJSON   = "malformed_json"   // a JSON line that does not parse; skipped
	EventOversizedRecord = "oversized_record" // a record larger than the maximum record size; skipped
	EventInvalidUTF8     = "invalid_utf8"     // a record with invalid UTF-8 in a column or its input's name; kept, with U+FFFD in every column but text
	EventLoneSurrogate   = "lone_surrogate"   // a record with an unpaired \ud800-style escape; kept, decoded as U+FFFD
	EventMissingText     = "missing_text"     // a record without a string or number at the text path; skipped
	EventBlankLine       = "blank_line"       // a JSON line with only whitespace; skipped, counted but not logged
	EventMalformedWARC   = "malformed_warc"   // a WARC or WET record with an invalid header; skipped up to the next record
	EventMalformedARC    = "malformed_arc"    // an ARC record with an invalid header line; skipped up to the next record
	EventTruncatedFile   = "truncated_file"   // a file that ends inside a record or a compressed block
	EventEmptyFile       = "empty_file"       // a file with no bytes, or none after decompression, or no rows
	EventReadError       = "read_error"       // a file that could not be opened, decompressed or read to its end

	// Records of WARC and ARC files without an HTML page. They are
	// skipped. The first two are logged, the others only counted.
	EventMalformedHTTP       = "malformed_http"               // an HTTP response whose status line or headers do not parse, or whose compressed body does not decode
	EventUnsupportedEncoding = "unsupported_content_encoding" // an HTTP body in a content coding that no decoder reads, such as compress
	EventWARCInfoSkipped     = "warc_warcinfo_skipped"        // a warcinfo record, or the version block that starts an ARC file
	EventWARCRequestSkipped  = "warc_request_skipped"         // a request record: what the crawler sent
	EventWARCRevisitSkipped  = "warc_revisit_skipped"         // a revisit record, which refers to an earlier capture instead of holding a page
	EventWARCMetadataSkipped = "warc_metadata_skipped"        // a metadata record, such as those of WAT files
	EventWARCOtherSkipped    = "warc_other_skipped"           // a conversion, continuation or unknown record type
	EventNonHTMLSkipped      = "warc_non_html_skipped"        // a response or resource whose payload is not HTML, such as an image, a PDF or a DNS answer
	EventHTTPStatusSkipped   = "warc_http_status_skipped"     // a response whose HTTP status is not 2xx, such as a redirect or an error page
)

// eventMessages are the log messages of the events.
var eventMessages = map[string]string{
	EventMalformedJSON:       "skipping malformed JSON record",
	EventOversizedRecord:     "skipping oversized record",
	EventInvalidUTF8:         "keeping record with invalid UTF-8",
	EventLoneSurrogate:       "keeping record with lone surrogate escape",
	EventMissingText:         "skipping record without text",
	EventMalformedWARC:       "skipping malformed WARC record",
	EventMalformedARC:        "skipping malformed ARC record",
	EventMalformedHTTP:       "skipping record with malformed HTTP response",
	EventUnsupportedEncoding: "skipping record with unsupported HTTP content encoding",
	EventTruncatedFile:       "input is truncated; keeping its complete records",
	EventEmptyFile:           "input is empty",
	EventReadError:           "reading input failed; keeping the records read so far",
}

var (
	errInvalidUTF8 = errors.New("invalid UTF-8 bytes: kept in the text, replaced by U+FFFD in the other columns")
	errMissingText = errors.New("no string or number at the text path")
	errEmptyFile   = errors.New("file contains no records")
)

func errRecordTooLarge(max int) error {
	return fmt.Errorf("record exceeds the maximum of %d bytes", max)
}

// DefaultMaxRecordBytes is the size of the largest record read, 256 MiB;
// larger records are skipped as oversized.
const DefaultMaxRecordBytes = 256 << 20

// readBufferSize is the buffer size of a decoded stream. Lines longer than
// it are assembled in a separate buffer.
const readBufferSize = 1 << 20

// ctxCheckInterval is how many records pass between checks of the context;
// emitting a batch checks it as well.
const ctxCheckInterval = 256

// FileSource reads local files of JSON lines, Parquet, Common Crawl WET,
// WARC and ARC, one after another in name order, and emits document
// batches. It implements pipeline.Source.
type FileSource struct {
	cfg       pipeline.InputConfig
	env       pipeline.Env
	inputs    []Input
	paths     columnPaths
	maxRecord int

	mu      sync.Mutex // guards records, which the sink reads while Run appends
	records []pipeline.InputRecord

	resume *sourceResume // the start of a resumed run, nil to read everything
}

// sourceResume is the position a resumed run starts reading at; see
// SetResume.
type sourceResume struct {
	point  pipeline.ResumePoint
	prior  []pipeline.InputRecord
	replay bool
}

var _ pipeline.Source = (*FileSource)(nil)

// NewFileSource resolves cfg.Paths (see ResolveInputs) and checks cfg. It
// returns every configuration error, such as a path that matches no file,
// before reading any file. A zero BatchSize or BatchBytes takes the
// pipeline default.
func NewFileSource(cfg pipeline.InputConfig, env pipeline.Env) (*FileSource, error) {
	if cfg.Format == "" {
		cfg.Format = FormatAuto
	}
	switch cfg.Format {
	case FormatAuto, FormatJSONL, FormatParquet, FormatWET, FormatWARC, FormatARC:
	default:
		return nil, fmt.Errorf("input.format: invalid value %q: use auto, jsonl, parquet, wet, warc or arc", cfg.Format)
	}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = pipeline.DefaultBatchSize
	}
	if cfg.BatchBytes == 0 {
		cfg.BatchBytes = pipeline.DefaultBatchBytes
	}
	if cfg.BatchSize < 0 || cfg.BatchBytes < 0 {
		return nil, fmt.Errorf("input.batch_size %d, input.batch_bytes %d: invalid values: must be positive", cfg.BatchSize, cfg.BatchBytes)
	}
	if env.Logger == nil {
		env.Logger = slog.New(slog.DiscardHandler)
	}
	paths, err := newColumnPaths(cfg.Fields)
	if err != nil {
		return nil, err
	}
	inputs, err := ResolveInputs(cfg.Paths, cfg.Format)
	if err != nil {
		return nil, err
	}
	return &FileSource{cfg: cfg, env: env, inputs: inputs, paths: paths, maxRecord: DefaultMaxRecordBytes}, nil
}

// Resolved returns the files the source reads, in reading order.
func (s *FileSource) Resolved() []Input { return s.inputs }

// KeepWorkerShare limits the source to the inputs that worker reads out of
// workers (see WorkerShare). Call it before Run, with 0 <= worker < workers.
func (s *FileSource) KeepWorkerShare(worker, workers int) {
	s.inputs = WorkerShare(s.inputs, worker, workers)
}

// Inputs returns one record per input that Run reached, in reading order:
// its size and SHA-256, the records and decoded bytes read, and whether it
// was read to its end. Call it after Run returns.
func (s *FileSource) Inputs() []pipeline.InputRecord { return s.InputsDone(-1) }

// InputsDone returns a copy of the records of the first n inputs Run
// finished, or of all of them when n is negative. It is safe to call while
// Run goes on: the sink calls it at checkpoints, once the documents of
// those inputs have reached it.
func (s *FileSource) InputsDone(n int) []pipeline.InputRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n < 0 || n > len(s.records) {
		n = len(s.records)
	}
	return slices.Clone(s.records[:n])
}

// SetResume makes Run start at point instead of the beginning. The inputs
// before point.InputIndex are not read again, and their records are taken
// from prior. The input at that index is read from its start, but its
// records before point.Record are skipped. With replay set they are not
// skipped but emitted in batches marked Replay, so stages whose state
// depends on every document before the point (deduplication followed by a
// filter) rebuild it, and the sink discards them. Call it before Run.
func (s *FileSource) SetResume(point pipeline.ResumePoint, prior []pipeline.InputRecord, replay bool) error {
	if point.InputIndex < 0 || point.InputIndex > len(s.inputs) || len(prior) < point.InputIndex {
		return fmt.Errorf("resuming at %s: input number %d is out of range (%d inputs)", point, point.InputIndex, len(s.inputs))
	}
	if point.InputIndex < len(s.inputs) && s.inputs[point.InputIndex].Name != point.Input {
		return fmt.Errorf("resuming at %s: input number %d is now %s: the inputs changed since the checkpoint", point, point.InputIndex, s.inputs[point.InputIndex].Name)
	}
	for i, rec := range prior[:point.InputIndex] {
		if s.inputs[i].Name != rec.URI {
			return fmt.Errorf("resuming at %s: input number %d is now %s, was %s: the inputs changed since the checkpoint", point, i, s.inputs[i].Name, rec.URI)
		}
	}
	s.resume = &sourceResume{point: point, prior: slices.Clone(prior[:point.InputIndex]), replay: replay}
	return nil
}

// Run reads every input and emits batches in order. Bad records and bad
// files are counted and logged, never returned; Run returns an error only
// when ctx is done or emit fails.
func (s *FileSource) Run(ctx context.Context, emit func(*pipeline.Batch) error) error {
	s.mu.Lock()
	s.records = make([]pipeline.InputRecord, 0, len(s.inputs))
	s.mu.Unlock()
	out := &batcher{bb: pipeline.NewBatchBuilder(), emit: emit, maxDocs: s.cfg.BatchSize, maxBytes: s.cfg.BatchBytes}
	for i, in := range s.inputs {
		if err := ctx.Err(); err != nil {
			out.discard()
			return err
		}
		var skip int64
		replay := false
		if r := s.resume; r != nil {
			if i < r.point.InputIndex && !r.replay {
				s.addRecord(r.prior[i])
				continue
			}
			switch {
			case i < r.point.InputIndex:
				skip = -1 // replay the whole input
			case i == r.point.InputIndex:
				skip = r.point.Record
			}
			replay = r.replay
		}
		rec, err := s.readInput(ctx, in, out, skip, replay)
		s.addRecord(rec)
		if err != nil {
			out.discard()
			return err
		}
	}
	return out.flush()
}

func (s *FileSource) addRecord(rec pipeline.InputRecord) {
	s.mu.Lock()
	s.records = append(s.records, rec)
	s.mu.Unlock()
}

// docReader decodes one input into documents.
type docReader interface {
	// read fills d with the next document and returns true, or returns
	// false at the end of the input. Bad records are counted and skipped
	// inside read. A non-nil error ended the input early. d.Text may alias
	// the reader's buffers: it is valid until the next call, so the caller
	// copies it first (BatchBuilder.Append does).
	read(d *pipeline.Doc) (bool, error)
	// progress returns the records consumed, bad ones included, and the
	// offset after the last one: decoded bytes, or rows for Parquet.
	progress() (records, offset int64)
}

// readInput reads one input into out and returns its record. The error is
// not nil only when the run must stop.
//
// The first skip records of the input were consumed by an earlier attempt
// of the run: they are skipped, or with replay emitted in replay batches. A
// negative skip means the whole input.
func (s *FileSource) readInput(ctx context.Context, in Input, out *batcher, skip int64, replay bool) (pipeline.InputRecord, error) {
	rec := pipeline.InputRecord{URI: in.Name, Path: in.Path, Format: in.Format}
	events := &inputEvents{env: s.env, path: in.Path, invalidName: in.nameRepaired, counts: map[string]int64{}}
	defer events.flush()

	raw, err := openInput(ctx, in, s.env.Logger)
	if err != nil {
		events.add(EventReadError, "offset", 0, err)
		rec.Error = err.Error()
		return rec, nil
	}
	rec.Size = raw.size

	r, release, inputErr := s.newDocReader(in, raw, events)
	var offset int64
	var runErr error
	if inputErr == nil {
		inputErr, runErr = pump(ctx, in.Name, r, out, skip, replay)
		rec.Records, offset = r.progress()
	}
	release()
	if runErr == nil {
		recordOutcome(&rec, events, inputErr, offset)
	}

	// A stopped run skips hashing the rest of the file.
	sum, err := raw.finish(runErr == nil)
	rec.SHA256 = sum
	if err != nil && runErr == nil {
		events.add(EventReadError, "offset", offset, err)
		rec.Complete = false
		rec.Error = err.Error()
	}
	return rec, runErr
}

// recordOutcome sets how far an input was read, from the error that ended
// it early (nil at a clean end) and the offset reached, and counts the
// matching event.
func recordOutcome(rec *pipeline.InputRecord, events *inputEvents, inputErr error, offset int64) {
	switch {
	case inputErr == nil:
		rec.Complete = true
		if rec.Records == 0 && offset == 0 {
			events.add(EventEmptyFile, "offset", 0, errEmptyFile)
		}
	case errors.Is(inputErr, io.ErrUnexpectedEOF):
		events.add(EventTruncatedFile, "offset", offset, inputErr)
		rec.Error = inputErr.Error()
	default:
		events.add(EventReadError, "offset", offset, inputErr)
		rec.Error = inputErr.Error()
	}

	rec.BytesRead = offset
	if rec.Format == FormatParquet {
		// Parquet has no decoded stream, and its offsets count rows. A file
		// read to its end has consumed all of its bytes.
		rec.BytesRead = 0
		if rec.Complete {
			rec.BytesRead = rec.Size
		}
	}
}

// newDocReader returns the reader of in's format over raw, and a function
// that releases its decompressor.
func (s *FileSource) newDocReader(in Input, raw *rawFile, events *inputEvents) (docReader, func(), error) {
	if in.Format == FormatParquet {
		r, err := newParquetReader(raw.at, raw.size, s.paths, events)
		return r, func() {}, err
	}
	dec, release, err := raw.decoder(in.Compression)
	if err != nil {
		return nil, release, err
	}
	switch in.Format {
	case FormatWET:
		return newWETReader(dec, s.maxRecord, events), release, nil
	case FormatWARC:
		return newWARCReader(dec, s.maxRecord, events), release, nil
	case FormatARC:
		return newARCReader(dec, s.maxRecord, events), release, nil
	}
	return newJSONLReader(dec, s.paths, s.maxRecord, events), release, nil
}

// pump moves the documents of one input into out. inputErr ended the input
// early; runErr ends the run (ctx done or emit failed).
//
// Records before skip (all of them when skip is negative) were consumed by
// an earlier attempt: with replay they go out in replay batches, otherwise
// they are read past and not emitted.
func pump(ctx context.Context, name string, r docReader, out *batcher, skip int64, replay bool) (inputErr, runErr error) {
	// covered is the first record not yet in a batch's positions. A
	// document's position starts there so that skipped records are covered.
	var covered int64
	if !replay && skip > 0 {
		covered = skip
	}
	for n := 0; ; n++ {
		if n%ctxCheckInterval == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		var d pipeline.Doc
		ok, err := r.read(&d)
		if !ok {
			inputErr = err
			break
		}
		consumed := skip < 0 || d.InputOffset < skip
		if consumed && !replay {
			continue
		}
		if err := out.setReplay(consumed); err != nil {
			return nil, err
		}
		d.Input = name
		if d.ID == "" {
			d.ID = derivedID(name, d.InputOffset)
		}
		_, off := r.progress()
		pos := pipeline.Position{Input: name, FirstRecord: covered, EndRecord: d.InputOffset + 1, EndOffset: off}
		covered = pos.EndRecord
		if err := out.add(&d, pos); err != nil {
			return nil, err
		}
	}
	if records, off := r.progress(); records > covered {
		if err := out.setReplay(replay && (skip < 0 || records <= skip)); err != nil {
			return inputErr, err
		}
		out.cover(pipeline.Position{Input: name, FirstRecord: covered, EndRecord: records, EndOffset: off})
	}
	return inputErr, nil
}

// batcher cuts documents into batches of at most maxDocs documents or
// maxBytes text bytes, numbering them from 0. A full batch is emitted when
// the next document arrives, or at the end of the run, so that positions of
// records skipped at the end of an input join it instead of making a batch
// without documents.
type batcher struct {
	bb       *pipeline.BatchBuilder
	emit     func(*pipeline.Batch) error
	seq      uint64
	maxDocs  int
	maxBytes int
	pending  bool // positions were added since the last batch
	replay   bool // the batch being built replays consumed records
}

// setReplay marks the documents added next as replayed or not, cutting the
// batch where that changes so a batch is wholly one or the other.
func (b *batcher) setReplay(replay bool) error {
	if replay == b.replay {
		return nil
	}
	if err := b.flush(); err != nil {
		return err
	}
	b.replay = replay
	return nil
}

func (b *batcher) add(d *pipeline.Doc, p pipeline.Position) error {
	if b.bb.Len() >= b.maxDocs || b.bb.TextBytes() >= b.maxBytes {
		if err := b.flush(); err != nil {
			return err
		}
	}
	b.bb.Append(d)
	b.cover(p)
	return nil
}

// cover adds a position to the batch being built, with or without a
// document: skipped records must be marked as consumed too.
func (b *batcher) cover(p pipeline.Position) {
	b.bb.AddPosition(p)
	b.pending = true
}

// flush emits the batch being built, if it holds documents or positions.
func (b *batcher) flush() error {
	if !b.pending {
		return nil
	}
	batch := b.bb.Build(b.seq)
	batch.Replay = b.replay
	b.seq++
	b.pending = false
	return b.emit(batch)
}

// discard frees the batch being built after the run stopped.
func (b *batcher) discard() {
	if b.pending {
		b.bb.Build(b.seq).Release()
		b.pending = false
	}
}

// maxLoggedEvents is how many events of each reason one input logs; the
// rest are counted, and their number is logged when the input ends.
const maxLoggedEvents = 10

// inputEvents counts and logs the events of one input. Logs carry the
// path, the position and the error, never document text.
type inputEvents struct {
	env         pipeline.Env
	path        string
	invalidName bool // the input's name had invalid UTF-8, which every record carries
	counts      map[string]int64
}

// add counts one event of reason at position pos, logged under posKey
// ("line" or "offset").
func (e *inputEvents) add(reason, posKey string, pos int64, err error) {
	e.env.Events.Add(reason, 1)
	e.counts[reason]++
	if e.counts[reason] <= maxLoggedEvents {
		e.env.Logger.Warn(eventMessages[reason], "reason", reason, "path", e.path, posKey, pos, "err", err)
	}
}

// count adds one event of reason to the counters without logging it, for
// events that are harmless and may repeat on most records.
func (e *inputEvents) count(reason string) {
	e.env.Events.Add(reason, 1)
}

// repairUTF8 repairs the columns of d with repairColumns and counts one
// EventInvalidUTF8 at position pos when a column of d, or the name of the
// input, had invalid UTF-8.
func (e *inputEvents) repairUTF8(d *pipeline.Doc, posKey string, pos int64) {
	if repairColumns(d) || e.invalidName {
		e.add(EventInvalidUTF8, posKey, pos, errInvalidUTF8)
	}
}

// flush logs how many events of each reason were counted but not logged.
func (e *inputEvents) flush() {
	for _, reason := range pipeline.SortedKeys(e.counts) {
		if n := e.counts[reason]; n > maxLoggedEvents {
			e.env.Logger.Warn("more bad input events than logged", "reason", reason, "path", e.path, "count", n, "logged", maxLoggedEvents)
		}
	}
}

// repairColumns replaces invalid UTF-8 in the id, url, source and metadata
// of d, because Parquet string columns must hold valid UTF-8. It reports
// whether any column had invalid UTF-8, the text included. The text keeps
// its bytes: the normalize stage repairs it, and counts the replacements,
// by its own policy. JSON metadata stays valid JSON, because its invalid
// bytes can only be inside strings.
func repairColumns(d *pipeline.Doc) bool {
	invalid := !utf8.ValidString(d.Text)
	for _, col := range []*string{&d.ID, &d.URL, &d.Source, &d.Metadata} {
		var repaired bool
		if *col, repaired = validUTF8(*col); repaired {
			invalid = true
		}
	}
	return invalid
}

// validUTF8 returns s with each run of invalid UTF-8 bytes replaced by
// U+FFFD, and whether there was any. A valid s is returned without a copy.
func validUTF8(s string) (string, bool) {
	if utf8.ValidString(s) {
		return s, false
	}
	return strings.ToValidUTF8(s, "\uFFFD"), true
}
