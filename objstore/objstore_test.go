package objstore_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/winnow-data/winnow/objstore"
	"github.com/winnow-data/winnow/objstore/s3test"
)

func TestParseURL(t *testing.T) {
	cases := []struct {
		in, bucket, key string
		ok              bool
	}{
		{"s3://b/data/x.jsonl", "b", "data/x.jsonl", true},
		{"s3://b", "b", "", true},
		{"s3://b/", "b", "", true},
		{"s3:///key", "", "", false},
		{"/local/path", "", "", false},
	}
	for _, c := range cases {
		bucket, key, err := objstore.ParseURL(c.in)
		if (err == nil) != c.ok || bucket != c.bucket || key != c.key {
			t.Errorf("ParseURL(%q) = %q, %q, %v; want %q, %q, ok=%v", c.in, bucket, key, err, c.bucket, c.key, c.ok)
		}
	}
}

// uploader returns a minio client for filling the test server.
func uploader(t *testing.T, endpoint string) *minio.Client {
	t.Helper()
	u, _ := url.Parse(endpoint)
	mc, err := minio.New(u.Host, &minio.Options{Creds: credentials.NewStaticV4(s3test.AccessKey, s3test.SecretKey, ""), Region: "us-east-1", BucketLookup: minio.BucketLookupPath})
	if err != nil {
		t.Fatal(err)
	}
	return mc
}

func put(t *testing.T, mc *minio.Client, bucket, key string, data []byte) {
	t.Helper()
	_, err := mc.PutObject(context.Background(), bucket, key, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{})
	if err != nil {
		t.Fatalf("putting %s: %v", key, err)
	}
}

func newClient(t *testing.T, endpoint string, logger *slog.Logger) *objstore.Client {
	t.Helper()
	t.Setenv("AWS_ACCESS_KEY_ID", s3test.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", s3test.SecretKey)
	c, err := objstore.New(objstore.Config{Endpoint: endpoint, Region: "us-east-1", PathStyle: true}, logger)
	if err != nil {
		t.Fatal(err)
	}
	return c.WithBackoff(objstore.Backoff{Attempts: 5, First: 10 * time.Millisecond, Max: 50 * time.Millisecond})
}

func TestObjectListPastOnePage(t *testing.T) {
	srv := s3test.Start(t)
	srv.MakeBucket("many")
	mc := uploader(t, srv.Endpoint)
	const n = 1500
	var wg sync.WaitGroup
	keys := make(chan int)
	for range 8 {
		wg.Go(func() {
			for i := range keys {
				put(t, mc, "many", fmt.Sprintf("p/%05d.jsonl", i), []byte("{}\n"))
			}
		})
	}
	for i := range n {
		keys <- i
	}
	close(keys)
	wg.Wait()

	objects, err := newClient(t, srv.Endpoint, nil).List(context.Background(), "many", "p/")
	if err != nil {
		t.Fatal(err)
	}
	if len(objects) != n {
		t.Fatalf("listed %d objects, want %d", len(objects), n)
	}
	for i, o := range objects {
		if want := fmt.Sprintf("p/%05d.jsonl", i); o.Key != want || o.Size != 3 {
			t.Fatalf("object %d = %+v, want key %s size 3", i, o, want)
		}
	}
}

// flakyProxy forwards to the server but fails the first GET of each
// object with 503, and cuts the body of the second GET after cutAfter
// bytes, so the reader must retry and then resume with a range request.
type flakyProxy struct {
	mu       sync.Mutex
	gets     map[string]int
	cutAfter int
	proxy    *httputil.ReverseProxy
}

func (p *flakyProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet || r.URL.RawQuery != "" {
		p.proxy.ServeHTTP(w, r)
		return
	}
	p.mu.Lock()
	p.gets[r.URL.Path]++
	n := p.gets[r.URL.Path]
	p.mu.Unlock()
	switch n {
	case 1:
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>injected by the test</Message></Error>`)
	case 2:
		p.proxy.ServeHTTP(&cuttingWriter{ResponseWriter: w, left: p.cutAfter}, r)
	default:
		p.proxy.ServeHTTP(w, r)
	}
}

// cuttingWriter passes left bytes of a body on and then aborts the
// response, which closes the connection mid-body.
type cuttingWriter struct {
	http.ResponseWriter
	left int
}

func (c *cuttingWriter) Write(b []byte) (int, error) {
	if len(b) > c.left {
		c.ResponseWriter.Write(b[:c.left])
		c.ResponseWriter.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	}
	c.left -= len(b)
	return c.ResponseWriter.Write(b)
}

func TestObjectReadRetriesTransientErrors(t *testing.T) {
	srv := s3test.Start(t)
	srv.MakeBucket("flaky")
	data := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB
	put(t, uploader(t, srv.Endpoint), "flaky", "in/doc.jsonl", data)

	target, _ := url.Parse(srv.Endpoint)
	fp := &flakyProxy{gets: map[string]int{}, cutAfter: 300 << 10, proxy: httputil.NewSingleHostReverseProxy(target)}
	proxy := httptest.NewServer(fp)
	defer proxy.Close()

	var logs bytes.Buffer
	c := newClient(t, proxy.URL, slog.New(slog.NewJSONHandler(&logs, nil)))
	r := c.Open(context.Background(), "flaky", "in/doc.jsonl")
	got, err := io.ReadAll(r)
	r.Close()
	if err != nil {
		t.Fatalf("reading through the flaky proxy: %v", err)
	}
	if sha256.Sum256(got) != sha256.Sum256(data) {
		t.Fatalf("read %d bytes that differ from the %d uploaded", len(got), len(data))
	}
	if n := fp.gets["/flaky/in/doc.jsonl"]; n != 3 {
		t.Errorf("proxy saw %d GETs, want 3: a 503, a cut body, a range request", n)
	}
	retries := strings.Count(logs.String(), "retrying object storage request")
	if retries != 2 {
		t.Errorf("logged %d retries, want 2; logs:\n%s", retries, logs.String())
	}
	if !strings.Contains(logs.String(), "s3://flaky/in/doc.jsonl") {
		t.Errorf("retry logs do not name the object; logs:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), s3test.SecretKey) || strings.Contains(logs.String(), s3test.AccessKey) {
		t.Errorf("logs contain the credentials:\n%s", logs.String())
	}
}

func TestObjectMissingIsNotFound(t *testing.T) {
	srv := s3test.Start(t)
	srv.MakeBucket("empty")
	c := newClient(t, srv.Endpoint, nil)
	if _, err := c.Stat(context.Background(), "empty", "nope.jsonl"); !errors.Is(err, objstore.ErrNotFound) {
		t.Errorf("Stat of a missing key: %v, want ErrNotFound", err)
	}
	r := c.Open(context.Background(), "empty", "nope.jsonl")
	defer r.Close()
	if _, err := io.ReadAll(r); !errors.Is(err, objstore.ErrNotFound) {
		t.Errorf("reading a missing key: %v, want ErrNotFound", err)
	}
}
