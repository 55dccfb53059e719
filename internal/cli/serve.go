package cli

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/winnow-data/winnow/loader"
	"github.com/winnow-data/winnow/pipeline"
)

// Metadata keys of the Arrow stream that winnow serve writes.
const (
	arrowVersionKey = "winnow.version" // schema: the version streamed
	arrowStateKey   = "winnow.state"   // each record batch: the State token after it
	arrowEpochKey   = "winnow.epoch"   // each record batch: its epoch
)

// arrowStreamType is the media type of the Arrow IPC stream format.
const arrowStreamType = "application/vnd.apache.arrow.stream"

// serveConfig is the configuration of winnow serve.
type serveConfig struct {
	root     string
	version  string // resolved version id served by default
	addr     string
	token    string // bearer token; empty when none is required
	memory   int64
	prefetch int
	logger   *slog.Logger
}

// serveCommand serves a dataset's batches over HTTP until SIGINT or
// SIGTERM.
func serveCommand(args []string, stdout, stderr io.Writer) error {
	cfg, err := parseServeFlags(args, stderr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return serve(ctx, cfg, func(addr string) {
		fmt.Fprintf(stdout, "serving version %s of %s at http://%s\n", cfg.version, cfg.root, addr)
	})
}

// parseServeFlags reads winnow serve's command line and resolves the
// version and the token.
func parseServeFlags(args []string, stderr io.Writer) (*serveConfig, error) {
	fs := flag.NewFlagSet("winnow serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	version := fs.String("version", "latest", "version served to requests that name none; latest is resolved when the server starts")
	addr := fs.String("addr", "127.0.0.1:8420", "address to listen on; one that is not loopback needs a bearer token")
	tokenFile := fs.String("token-file", "", "file whose first line is the bearer token every request must send (Authorization: Bearer TOKEN); the WINNOW_SERVE_TOKEN environment variable sets it too")
	memoryMB := fs.Int64("memory-mb", loader.DefaultMemory>>20, "MiB of fetched and decoded shards per stream")
	prefetch := fs.Int("prefetch", loader.DefaultPrefetch, "shards fetched at once per stream")
	logFormat := fs.String("log-format", "text", "log format on stderr: text or json")
	logLevel := fs.String("log-level", "info", "minimum log level: debug, info, warn or error")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return nil, err
	}

	if *memoryMB < 1 || *prefetch < 1 {
		return nil, usageError{fmt.Errorf("--memory-mb and --prefetch must be 1 or more, got %d and %d", *memoryMB, *prefetch)}
	}
	logger, err := newLogger(stderr, *logFormat, *logLevel)
	if err != nil {
		return nil, usageError{err}
	}
	store, err := openLocalRootArg("serve takes one ROOT", pos, 1)
	if err != nil {
		return nil, err
	}

	token, err := readServeToken(*tokenFile)
	if err != nil {
		return nil, usageError{err}
	}
	if token == "" && !isLoopback(*addr) {
		return nil, usageError{fmt.Errorf("--addr %s is not a loopback address, so serving it needs a bearer token: pass --token-file or set WINNOW_SERVE_TOKEN", *addr)}
	}

	dir, err := loader.OpenLocalDir(store.Root())
	if err != nil {
		return nil, err
	}
	id, err := pipeline.ResolveVersion(store, *version)
	if err != nil {
		return nil, err
	}
	m, err := loader.ReadVersion(context.Background(), dir, id)
	if err != nil {
		return nil, err
	}
	return &serveConfig{root: store.Root(), version: m.ID, addr: *addr, token: token, memory: *memoryMB << 20, prefetch: *prefetch, logger: logger}, nil
}

// readServeToken returns the bearer token from path, or from the
// environment when path is empty.
func readServeToken(path string) (string, error) {
	if path == "" {
		return strings.TrimSpace(os.Getenv("WINNOW_SERVE_TOKEN")), nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("--token-file: %w", err)
	}
	token, _, _ := strings.Cut(string(data), "\n")
	if token = strings.TrimSpace(token); token == "" {
		return "", fmt.Errorf("--token-file: the first line of %s is empty: write the token there", path)
	}
	return token, nil
}

// isLoopback reports whether addr (host:port) listens on loopback only.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// serve listens on cfg.addr, calls ready with the address once it
// listens, and serves until ctx ends. Open streams end with ctx.
func serve(ctx context.Context, cfg *serveConfig, ready func(addr string)) error {
	store, err := loader.OpenLocalDir(cfg.root)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("--addr: listening on %s: %w", cfg.addr, err)
	}
	h := &serveHandler{cfg: cfg, store: store}
	srv := &http.Server{
		Handler:           h.routes(),
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	cfg.logger.Info("serving", "addr", ln.Addr().String(), "root", cfg.root, "version", cfg.version, "auth", cfg.token != "")
	ready(ln.Addr().String())

	select {
	case err := <-errc:
		return fmt.Errorf("serving on %s: %w", cfg.addr, err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = srv.Shutdown(shutdown)
	cfg.logger.Info("stopped", "addr", ln.Addr().String())
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

type serveHandler struct {
	cfg   *serveConfig
	store *loader.LocalDir
}

func (h *serveHandler) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/manifest", h.manifest)
	mux.HandleFunc("GET /v1/stream", h.stream)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		h.reject(w, r, http.StatusNotFound, fmt.Errorf("no endpoint %s %s: use GET /v1/manifest or GET /v1/stream", r.Method, r.URL.Path))
	})
	if h.cfg.token == "" {
		return mux
	}
	want := []byte("Bearer " + h.cfg.token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="winnow"`)
			h.reject(w, r, http.StatusUnauthorized, errors.New("missing or wrong bearer token"))
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// reject logs a request that fails before any data is sent and responds
// to it with status and err.
func (h *serveHandler) reject(w http.ResponseWriter, r *http.Request, status int, err error) {
	h.cfg.logger.Warn("request rejected", "method", r.Method, "path", r.URL.Path, "query", r.URL.RawQuery, "remote", r.RemoteAddr, "status", status, "err", err)
	httpError(w, status, err)
}

// httpError writes err as a JSON object {"error": "..."} with status.
func httpError(w http.ResponseWriter, status int, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
}

// manifest writes the manifest of the version the query names, or of the
// default version.
func (h *serveHandler) manifest(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	for k := range q {
		if k != "version" {
			h.reject(w, r, http.StatusBadRequest, fmt.Errorf("unknown parameter %q: /v1/manifest takes version", k))
			return
		}
	}
	m, status, err := h.readVersion(r.Context(), q.Get("version"))
	if err != nil {
		h.reject(w, r, status, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(m)
}

// readVersion reads version id, the default one when id is empty, and
// returns the HTTP status of its error.
func (h *serveHandler) readVersion(ctx context.Context, id string) (*pipeline.Manifest, int, error) {
	if id == "" {
		id = h.cfg.version
	}
	if id != "latest" && !isVersionID(id) {
		refs, err := pipeline.OpenLocalStore(h.cfg.root)
		if err != nil {
			return nil, http.StatusInternalServerError, err
		}
		resolved, err := pipeline.ResolveVersion(refs, id)
		switch {
		case errors.Is(err, pipeline.ErrVersionNotFound) && pipeline.CheckTagName(id) == nil:
			return nil, http.StatusNotFound, fmt.Errorf("parameter version: %w", err)
		case err != nil:
			return nil, http.StatusBadRequest, fmt.Errorf("parameter version: invalid value %q: want latest, a version id, an id prefix or a tag", id)
		}
		id = resolved
	}
	m, err := loader.ReadVersion(ctx, h.store, id)
	switch {
	case err == nil:
		return m, http.StatusOK, nil
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, pipeline.ErrNoVersions):
		return nil, http.StatusNotFound, err
	}
	return nil, http.StatusInternalServerError, err
}

// isVersionID reports whether id has the form of a version id.
func isVersionID(id string) bool {
	if len(id) != pipeline.VersionIDLen {
		return false
	}
	for _, c := range id {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// stream writes the batches of one consumer as an Arrow IPC stream: one
// record batch per loader batch, with the State after it in the batch's
// custom metadata.
func (h *serveHandler) stream(w http.ResponseWriter, r *http.Request) {
	opts, err := streamOptions(r.URL.Query())
	if err != nil {
		h.reject(w, r, http.StatusBadRequest, err)
		return
	}
	m, status, err := h.readVersion(r.Context(), opts.Version)
	if err != nil {
		h.reject(w, r, status, err)
		return
	}
	opts.Version = m.ID
	opts.Memory, opts.Prefetch, opts.Logger = h.cfg.memory, h.cfg.prefetch, h.cfg.logger
	l, err := loader.Open(r.Context(), h.store, opts)
	var optErr *loader.OptionError
	switch {
	case errors.As(err, &optErr):
		h.reject(w, r, http.StatusBadRequest, err)
		return
	case err != nil:
		h.reject(w, r, http.StatusInternalServerError, err)
		return
	}
	log := h.cfg.logger.With("version", m.ID, "rank", opts.Rank, "world_size", max(opts.WorldSize, 1), "worker", opts.Worker, "num_workers", max(opts.NumWorkers, 1))
	defer func() {
		if err := l.Close(); err != nil {
			log.Error("closing loader failed", "run_id", opts.RunID, "err", err)
		}
	}()

	start := l.State()
	log.Info("stream opened", "epoch", start.Epoch, "position", start.Position, "remote", r.RemoteAddr)
	began := time.Now()
	batches, docs, err := writeArrowStream(r.Context(), w, l, opts.Tokenize != "")
	switch {
	case err == nil:
		log.Info("stream ended", "batches", batches, "docs", docs, "seconds", time.Since(began).Seconds())
	case r.Context().Err() != nil:
		log.Info("stream stopped: the client left or the server is stopping", "batches", batches, "docs", docs, "err", err)
	default:
		// The stream has started, so the status is sent: cut the
		// connection without the end-of-stream marker, so the client's
		// reader fails instead of seeing a clean end.
		log.Error("stream failed", "batches", batches, "docs", docs, "err", err)
		panic(http.ErrAbortHandler)
	}
}

// writeArrowStream writes every batch of l to w and returns how many
// batches and documents it wrote.
func writeArrowStream(ctx context.Context, w http.ResponseWriter, l *loader.Loader, tokens bool) (int, int64, error) {
	schema := streamSchema(l.Manifest().ID, tokens)
	w.Header().Set("Content-Type", arrowStreamType)
	w.Header().Set("Winnow-Version", l.Manifest().ID)
	w.WriteHeader(http.StatusOK)
	flush := http.NewResponseController(w)

	iw := ipc.NewWriter(w, ipc.WithSchema(schema), ipc.WithAllocator(memory.DefaultAllocator))
	batches, docs := 0, int64(0)
	for {
		b, err := l.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return batches, docs, err
		}
		rec := arrowRecord(schema, b, tokens)
		err = iw.Write(rec)
		rec.Release()
		if err != nil {
			return batches, docs, fmt.Errorf("writing batch: %w", err)
		}
		if err := flush.Flush(); err != nil {
			return batches, docs, fmt.Errorf("writing batch: %w", err)
		}
		batches++
		docs += int64(len(b.Docs))
	}
	if err := iw.Close(); err != nil {
		return batches, docs, fmt.Errorf("ending stream: %w", err)
	}
	return batches, docs, flush.Flush()
}

// streamSchema is the schema of the stream's record batches.
func streamSchema(version string, tokens bool) *arrow.Schema {
	fields := []arrow.Field{
		{Name: pipeline.ColID, Type: arrow.BinaryTypes.String},
		{Name: pipeline.ColText, Type: arrow.BinaryTypes.String},
		{Name: pipeline.ColURL, Type: arrow.BinaryTypes.String},
		{Name: pipeline.ColSource, Type: arrow.BinaryTypes.String},
		{Name: pipeline.ColLang, Type: arrow.BinaryTypes.String},
		{Name: pipeline.ColTokenCount, Type: arrow.PrimitiveTypes.Int32},
		{Name: "position", Type: arrow.PrimitiveTypes.Int64},
	}
	if tokens {
		fields = append(fields, arrow.Field{Name: "tokens", Type: arrow.ListOf(arrow.PrimitiveTypes.Uint32)})
	}
	md := arrow.NewMetadata([]string{arrowVersionKey}, []string{version})
	return arrow.NewSchema(fields, &md)
}

// arrowRecord converts a loader batch to a record batch of schema.
func arrowRecord(schema *arrow.Schema, b *loader.Batch, tokens bool) arrow.RecordBatch {
	mem := memory.DefaultAllocator
	strs := make([]*array.StringBuilder, 5)
	for i := range strs {
		strs[i] = array.NewStringBuilder(mem)
		defer strs[i].Release()
	}
	counts := array.NewInt32Builder(mem)
	defer counts.Release()
	positions := array.NewInt64Builder(mem)
	defer positions.Release()
	for _, d := range b.Docs {
		for i, s := range []string{d.ID, d.Text, d.URL, d.Source, d.Lang} {
			strs[i].Append(s)
		}
		counts.Append(d.TokenCount)
		positions.Append(d.Position)
	}

	cols := make([]arrow.Array, 0, schema.NumFields())
	for _, sb := range strs {
		cols = append(cols, sb.NewArray())
	}
	cols = append(cols, counts.NewArray(), positions.NewArray())
	if tokens {
		lb := array.NewListBuilder(mem, arrow.PrimitiveTypes.Uint32)
		defer lb.Release()
		vb := lb.ValueBuilder().(*array.Uint32Builder)
		for _, ids := range b.Tokens {
			lb.Append(true)
			vb.AppendValues(ids, nil)
		}
		cols = append(cols, lb.NewArray())
	}
	md := arrow.NewMetadata([]string{arrowStateKey, arrowEpochKey}, []string{b.State.String(), strconv.Itoa(b.Epoch)})
	rec := array.NewRecordBatchWithMetadata(schema, cols, int64(len(b.Docs)), md)
	for _, c := range cols {
		c.Release()
	}
	return rec
}

// streamParams are the query parameters of /v1/stream.
var streamParams = map[string]bool{
	"version": true, "rank": true, "world_size": true, "worker": true, "num_workers": true,
	"batch_size": true, "drop_last": true, "shuffle": true, "seed": true, "window": true,
	"epoch": true, "epochs": true, "resume": true, "tokenize": true, "mix": true,
	"weights": true, "budget_tokens": true, "max_repeats": true, "stratified": true, "run_id": true,
}

// streamOptions turns the query of /v1/stream into loader options. An
// omitted epochs streams one epoch: the requested one, or the resume
// token's. A resume token supplies the seed, shuffle and window that the
// query omits.
func streamOptions(q url.Values) (loader.Options, error) {
	var o loader.Options
	for k, v := range q {
		if !streamParams[k] {
			return o, fmt.Errorf("unknown parameter %q", k)
		}
		if len(v) > 1 {
			return o, fmt.Errorf("parameter %q given %d times", k, len(v))
		}
	}

	p := queryParser{q: q}
	o.Version = q.Get("version")
	o.Rank = p.int("rank")
	o.WorldSize = p.int("world_size")
	o.Worker = p.int("worker")
	o.NumWorkers = p.int("num_workers")
	o.BatchSize = p.int("batch_size")
	o.DropLast = p.bool("drop_last")
	o.Shuffle = p.bool("shuffle")
	o.Seed = p.int64("seed")
	o.Window = p.int("window")
	o.Epoch = p.int("epoch")
	o.Epochs = p.int("epochs")
	o.Tokenize = q.Get("tokenize")
	o.RunID = q.Get("run_id")

	if token := q.Get("resume"); token != "" && p.err == nil {
		s, err := loader.ParseState([]byte(token))
		if err != nil {
			return o, fmt.Errorf("parameter resume: %w", err)
		}
		o.Resume = &s
		// The token fixes the order, so its seed, shuffle and window
		// apply unless the query repeats them.
		if !q.Has("seed") {
			o.Seed = s.Seed
		}
		if !q.Has("shuffle") {
			o.Shuffle = s.Shuffle
		}
		if !q.Has("window") {
			o.Window = s.Window
		}
		if q.Has("epoch") && o.Epoch != s.Epoch {
			return o, fmt.Errorf("parameter epoch is %d but the resume token is at epoch %d; omit epoch", o.Epoch, s.Epoch)
		}
		o.Epoch = s.Epoch
	}
	if !q.Has("epochs") {
		o.Epochs = o.Epoch + 1
	}

	if p.bool("mix") || q.Has("weights") {
		o.Mix = &loader.Mix{BudgetTokens: p.int64("budget_tokens"), MaxRepeats: p.float("max_repeats"), Stratified: p.bool("stratified")}
		if q.Has("weights") {
			o.Mix.Weights = p.weights("weights")
		}
	}
	return o, p.err
}

// queryParser parses query values, keeping the first error.
type queryParser struct {
	q   url.Values
	err error
}

func (p *queryParser) fail(name, value, want string) {
	if p.err == nil {
		p.err = fmt.Errorf("parameter %s: invalid value %q: want %s", name, value, want)
	}
}

func (p *queryParser) int64(name string) int64 {
	v := p.q.Get(name)
	if v == "" {
		return 0
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		p.fail(name, v, "an integer")
	}
	return n
}

func (p *queryParser) int(name string) int {
	n := p.int64(name)
	if int64(int(n)) != n {
		p.fail(name, p.q.Get(name), "a smaller integer")
	}
	return int(n)
}

func (p *queryParser) float(name string) float64 {
	v := p.q.Get(name)
	if v == "" {
		return 0
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		p.fail(name, v, "a number")
	}
	return f
}

func (p *queryParser) bool(name string) bool {
	v := p.q.Get(name)
	if v == "" {
		return false
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		p.fail(name, v, "true or false")
	}
	return b
}

// weights parses "eng_Latn:0.7,fra_Latn:0.3".
func (p *queryParser) weights(name string) map[string]float64 {
	v := p.q.Get(name)
	out := map[string]float64{}
	for _, item := range splitList(v) {
		lang, share, ok := strings.Cut(item, ":")
		f, err := strconv.ParseFloat(share, 64)
		if !ok || err != nil || lang == "" {
			p.fail(name, v, "LANG:SHARE pairs separated by commas, such as eng_Latn:0.7,fra_Latn:0.3")
			return nil
		}
		out[lang] = f
	}
	return out
}
