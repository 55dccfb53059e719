package objstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Scheme is the URL scheme of S3 objects and prefixes.
const Scheme = "s3://"

// IsURL reports whether s is an s3:// URL.
func IsURL(s string) bool { return strings.HasPrefix(s, Scheme) }

// ParseURL splits s3://bucket/key into the bucket and the key, which may
// be empty or a prefix.
func ParseURL(s string) (bucket, key string, err error) {
	if !IsURL(s) {
		return "", "", fmt.Errorf("object URL %q: missing the s3:// scheme", s)
	}
	bucket, key, _ = strings.Cut(strings.TrimPrefix(s, Scheme), "/")
	if bucket == "" {
		return "", "", fmt.Errorf("object URL %q: missing the bucket name, as in s3://bucket/prefix", s)
	}
	return bucket, key, nil
}

// URL returns the s3:// URL of key in bucket.
func URL(bucket, key string) string { return Scheme + bucket + "/" + key }

// Config is where the client connects. It holds no credentials: those are
// read by the client from the environment or the shared credentials file.
type Config struct {
	Endpoint  string // URL of the server; default https://s3.amazonaws.com
	Region    string // empty: the region that a bucket location request returns
	PathStyle bool   // bucket in the URL path instead of the host name
}

// ConfigFromEnv reads the endpoint from AWS_ENDPOINT_URL_S3 or
// AWS_ENDPOINT_URL, the region from AWS_REGION or AWS_DEFAULT_REGION and
// the addressing style from AWS_S3_FORCE_PATH_STYLE (a boolean).
func ConfigFromEnv() (Config, error) {
	cfg := Config{
		Endpoint: firstEnv("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"),
		Region:   firstEnv("AWS_REGION", "AWS_DEFAULT_REGION"),
	}
	if v := os.Getenv("AWS_S3_FORCE_PATH_STYLE"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return Config{}, fmt.Errorf("AWS_S3_FORCE_PATH_STYLE: invalid value %q: use true or false", v)
		}
		cfg.PathStyle = b
	}
	return cfg, nil
}

func firstEnv(names ...string) string {
	for _, n := range names {
		if v := os.Getenv(n); v != "" {
			return v
		}
	}
	return ""
}

// Client lists and reads objects. It is safe for concurrent use.
type Client struct {
	mc     *minio.Client
	logger *slog.Logger
	retry  Backoff
}

// Backoff is the retry policy for transient errors: up to Attempts
// requests in all, waiting First, then twice as long each time up to Max.
type Backoff struct {
	Attempts int
	First    time.Duration
	Max      time.Duration
}

// DefaultBackoff retries a request 5 times over about 6 seconds.
var DefaultBackoff = Backoff{Attempts: 6, First: 200 * time.Millisecond, Max: 3 * time.Second}

// New returns a client for cfg. Credentials come from AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, else from the shared
// credentials file (AWS_SHARED_CREDENTIALS_FILE, default
// ~/.aws/credentials, profile AWS_PROFILE or default); without either,
// requests are anonymous. New sends no request.
func New(cfg Config, logger *slog.Logger) (*Client, error) {
	endpoint := cfg.Endpoint
	if endpoint == "" {
		endpoint = "https://s3.amazonaws.com"
	}
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("object storage endpoint %q: invalid URL: use http://host:port or https://host", endpoint)
	}
	lookup := minio.BucketLookupAuto
	if cfg.PathStyle {
		lookup = minio.BucketLookupPath
	}
	creds := credentials.NewChainCredentials([]credentials.Provider{
		&credentials.EnvAWS{},
		&credentials.FileAWSCredentials{},
	})
	mc, err := minio.New(u.Host, &minio.Options{
		Creds:        creds,
		Secure:       u.Scheme == "https",
		Region:       cfg.Region,
		BucketLookup: lookup,
		MaxRetries:   1, // the client retries itself, so that it can log each retry
	})
	if err != nil {
		return nil, fmt.Errorf("creating object storage client for %s: %w", u.Host, err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Client{mc: mc, logger: logger, retry: DefaultBackoff}, nil
}

// WithLogger returns a copy of c that logs retries to logger.
func (c *Client) WithLogger(logger *slog.Logger) *Client {
	cc := *c
	cc.logger = logger
	return &cc
}

// WithBackoff returns a copy of c that retries with policy b.
func (c *Client) WithBackoff(b Backoff) *Client {
	cc := *c
	cc.retry = b
	return &cc
}

// do runs op until it succeeds, fails with an error that is not
// transient, or has used every attempt. It logs each retry with the URL.
func (c *Client) do(ctx context.Context, objectURL string, op func() error) error {
	wait := c.retry.First
	for attempt := 1; ; attempt++ {
		err := op()
		if err == nil || !IsTransient(err) || attempt >= c.retry.Attempts {
			return err
		}
		c.logger.Warn("retrying object storage request", "url", objectURL, "attempt", attempt, "wait", wait, "err", err)
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(wait):
		}
		wait = min(2*wait, c.retry.Max)
	}
}
