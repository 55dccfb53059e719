package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/term"

	"github.com/winnow-data/winnow/pipeline"
)

// newLogger returns a slog logger writing to w in format (text or json) at
// level and above.
func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: invalid value %q: use debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format: invalid value %q: use text or json", format)
}

// serveMetrics serves the run's metrics, plus the Go runtime's, in the
// Prometheus text format at addr/metrics until the returned function is
// called, and returns the address it listens on. Listening happens before it
// returns, so a busy port is a startup error.
func serveMetrics(addr string, ms *pipeline.Metrics, logger *slog.Logger) (string, func(), error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(ms, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("--metrics-addr: listening on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("metrics server stopped", "addr", addr, "err", err)
		}
	}()
	logger.Info("serving metrics", "addr", "http://"+ln.Addr().String()+"/metrics")
	return ln.Addr().String(), func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}, nil
}

// showProgress decides whether to draw the live progress line: by default
// only when stdout is a terminal, so piped and scripted runs get none.
func showProgress(mode string, stdout io.Writer) bool {
	switch mode {
	case "always":
		return true
	case "never":
		return false
	}
	f, ok := stdout.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// statusWriter is stderr shared by the logs and the progress line: a log
// line first clears the progress line, which the next tick redraws, so the
// two never mix on one line.
type statusWriter struct {
	mu     sync.Mutex
	w      io.Writer
	status bool // a progress line is on screen
}

func (s *statusWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.status {
		io.WriteString(s.w, "\r\033[K")
		s.status = false
	}
	return s.w.Write(p)
}

// draw replaces the progress line with line; "" clears it.
func (s *statusWriter) draw(line string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	io.WriteString(s.w, "\r\033[K"+line)
	s.status = line != ""
}

// startProgress redraws one status line on w twice a second until the
// returned function is called, which clears it.
func startProgress(w *statusWriter, ms *pipeline.Metrics) func() {
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				w.draw("")
				return
			case <-tick.C:
				w.draw(progressLine(ms))
			}
		}
	}()
	return func() {
		close(stop)
		wg.Wait()
	}
}

// progressLine formats docs/s, MB/s and the bottleneck stage with its share
// of the busiest time.
func progressLine(ms *pipeline.Metrics) string {
	if len(ms.Stages) == 0 || ms.Start.IsZero() {
		return ""
	}
	secs := time.Since(ms.Start).Seconds()
	src := ms.Stages[0]
	sink := ms.Stages[len(ms.Stages)-1]
	docs := src.DocsOut.Load()
	mb := float64(src.BytesOut.Load()) / 1e6
	var b strings.Builder
	fmt.Fprintf(&b, "%d docs read, %d written  %.0f docs/s  %.2f MB/s", docs, sink.DocsOut.Load(), float64(docs)/secs, mb/secs)
	if bn := ms.Bottleneck(); bn != nil {
		per := bn.BusyNow().Seconds() / float64(max(bn.Workers, 1))
		fmt.Fprintf(&b, "  bottleneck: %s (busy %.0f%%)", bn.Name, 100*per/secs)
	}
	return b.String()
}
