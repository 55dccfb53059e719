package objstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"

	"github.com/minio/minio-go/v7"
)

// ErrNotFound is wrapped by the errors of a missing bucket or object. It
// also matches fs.ErrNotExist, as a missing file does.
var ErrNotFound error = notFoundError{}

type notFoundError struct{}

func (notFoundError) Error() string { return "object not found" }

// Is makes errors.Is(err, fs.ErrNotExist) hold for a missing object.
func (notFoundError) Is(target error) bool { return target == fs.ErrNotExist }

func classify(err error) error {
	var resp minio.ErrorResponse
	if errors.As(err, &resp) && (resp.StatusCode == http.StatusNotFound || resp.Code == "NoSuchKey" || resp.Code == "NoSuchBucket") {
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	return err
}

// Open returns a stream of the object at key. The first request goes out
// on the first Read. When a request fails transiently, before or during
// the body, the stream sends it again for the bytes not yet read, so the
// reader sees each byte once.
func (c *Client) Open(ctx context.Context, bucket, key string) io.ReadCloser {
	return &objectReader{ctx: ctx, c: c, bucket: bucket, key: key, url: URL(bucket, key)}
}

type objectReader struct {
	ctx         context.Context
	c           *Client
	bucket, key string
	url         string
	body        io.ReadCloser
	offset      int64 // bytes returned so far
	err         error // sticky error, io.EOF at the end
}

// openNow returns a stream of the object at key, as Open does, but sends
// the first request before it returns, so a missing object gives an error
// that matches ErrNotFound here rather than on the first Read.
func (c *Client) openNow(ctx context.Context, bucket, key string) (io.ReadCloser, error) {
	r := &objectReader{ctx: ctx, c: c, bucket: bucket, key: key, url: URL(bucket, key)}
	if err := c.do(ctx, r.url, r.request); err != nil {
		return nil, fmt.Errorf("opening %s: %w", r.url, classify(err))
	}
	return r, nil
}

func (r *objectReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	var n int
	err := r.c.do(r.ctx, r.url, func() error {
		if r.body == nil {
			if err := r.request(); err != nil {
				return err
			}
		}
		var err error
		n, err = r.body.Read(p)
		r.offset += int64(n)
		if err != nil && err != io.EOF {
			// Drop the broken body, so that the retry requests the rest.
			// Bytes that came with the error are returned first.
			r.body.Close()
			r.body = nil
			if n > 0 {
				return nil
			}
		}
		if err == io.EOF {
			r.err = io.EOF
			if n > 0 {
				return nil
			}
		}
		return err
	})
	if err != nil && err != io.EOF {
		r.err = fmt.Errorf("reading %s at byte %d: %w", r.url, r.offset, classify(err))
		return n, r.err
	}
	return n, err
}

// request starts a GET for the bytes from r.offset on.
func (r *objectReader) request() error {
	var opts minio.GetObjectOptions
	if r.offset > 0 {
		if err := opts.SetRange(r.offset, 0); err != nil {
			return err
		}
	}
	body, _, _, err := minio.Core{Client: r.c.mc}.GetObject(r.ctx, r.bucket, r.key, opts)
	if err != nil {
		return err
	}
	r.body = body
	return nil
}

func (r *objectReader) Close() error {
	if r.body != nil {
		err := r.body.Close()
		r.body = nil
		return err
	}
	return nil
}
