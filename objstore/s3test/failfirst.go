package s3test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
)

// FailFirst starts a proxy to the server on 127.0.0.1 that answers the
// first request of method to each object path with 503 SlowDown, as an
// overloaded S3 does, and forwards every other request. A GET with a
// query string is a listing, not an object read, and is always forwarded.
// The proxy closes when the test ends; its URL is the endpoint to use.
func (s *Server) FailFirst(method string) *httptest.Server {
	target, err := url.Parse(s.Endpoint)
	if err != nil {
		s.t.Fatal(err)
	}
	h := &failFirst{method: method, seen: map[string]bool{}, proxy: httputil.NewSingleHostReverseProxy(target)}
	proxy := httptest.NewServer(h)
	s.t.Cleanup(proxy.Close)
	return proxy
}

type failFirst struct {
	method string
	mu     sync.Mutex
	seen   map[string]bool
	proxy  *httputil.ReverseProxy
}

func (f *failFirst) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == f.method && (r.Method != http.MethodGet || r.URL.RawQuery == "") {
		f.mu.Lock()
		first := !f.seen[r.URL.Path]
		f.seen[r.URL.Path] = true
		f.mu.Unlock()
		if first {
			io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>injected by the test</Message></Error>`)
			return
		}
	}
	f.proxy.ServeHTTP(w, r)
}
