package objstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"

	"github.com/minio/minio-go/v7"
)

// Put writes data to the object at key, replacing any object there. A
// single PUT is atomic: readers see the old object or the new one.
func (c *Client) Put(ctx context.Context, bucket, key string, data []byte) error {
	objectURL := URL(bucket, key)
	err := c.do(ctx, objectURL, func() error {
		_, err := c.mc.PutObject(ctx, bucket, key, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("writing %s: %w", objectURL, classify(err))
	}
	return nil
}

// PutFile copies the local file at path to the object at key. Files of
// 16 MiB or more go up in parts, and the object appears only when the
// last part is in, so readers never see a part of it. A retry sends the
// whole file again.
func (c *Client) PutFile(ctx context.Context, bucket, key, path string) error {
	objectURL := URL(bucket, key)
	err := c.do(ctx, objectURL, func() error {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		info, err := f.Stat()
		if err != nil {
			return err
		}
		_, err = c.mc.PutObject(ctx, bucket, key, f, info.Size(), minio.PutObjectOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("uploading %s to %s: %w", path, objectURL, classify(err))
	}
	return nil
}

// PutIfAbsent writes data to the object at key only when no object is
// there, with the header If-None-Match: *. When one is, it writes nothing
// and returns an error that matches fs.ErrExist. A server that ignores the
// header overwrites the object: Store.WriteFileIfAbsent checks for that
// first.
//
// A retried request can find the object that its own lost first attempt
// created. PutIfAbsent then reads the object back and reports success
// when it holds data.
func (c *Client) PutIfAbsent(ctx context.Context, bucket, key string, data []byte) error {
	objectURL := URL(bucket, key)
	attempts := 0
	err := c.do(ctx, objectURL, func() error {
		attempts++
		opts := minio.PutObjectOptions{DisableMultipart: true}
		opts.SetMatchETagExcept("*")
		_, err := c.mc.PutObject(ctx, bucket, key, bytes.NewReader(data), int64(len(data)), opts)
		if isConditionConflict(err) {
			// S3 returns 409 when another conditional write to the key is
			// in progress, and expects the client to try again.
			return transientError{err}
		}
		return err
	})
	if err == nil {
		return nil
	}
	if !isPreconditionFailed(err) {
		return fmt.Errorf("creating %s: %w", objectURL, classify(err))
	}
	if attempts > 1 {
		if got, rerr := c.readAll(ctx, bucket, key); rerr == nil && bytes.Equal(got, data) {
			return nil
		}
	}
	return fmt.Errorf("creating %s: the object exists: %w", objectURL, fs.ErrExist)
}

// Remove deletes the object at key. S3 reports success for a key that
// holds no object.
func (c *Client) Remove(ctx context.Context, bucket, key string) error {
	objectURL := URL(bucket, key)
	err := c.do(ctx, objectURL, func() error {
		return c.mc.RemoveObject(ctx, bucket, key, minio.RemoveObjectOptions{})
	})
	if err != nil {
		return fmt.Errorf("deleting %s: %w", objectURL, classify(err))
	}
	return nil
}

// CheckBucket returns an error that matches ErrNotFound when bucket does
// not exist.
func (c *Client) CheckBucket(ctx context.Context, bucket string) error {
	bucketURL := URL(bucket, "")
	var found bool
	err := c.do(ctx, bucketURL, func() error {
		var err error
		found, err = c.mc.BucketExists(ctx, bucket)
		return err
	})
	if err != nil {
		return fmt.Errorf("checking bucket %s: %w", bucketURL, classify(err))
	}
	if !found {
		return fmt.Errorf("bucket %s does not exist: %w", bucketURL, ErrNotFound)
	}
	return nil
}

// readAll returns the whole object at key.
func (c *Client) readAll(ctx context.Context, bucket, key string) ([]byte, error) {
	r, err := c.openNow(ctx, bucket, key)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

// transientError marks an error that IsTransient would not retry as one
// to retry.
type transientError struct{ error }

func (e transientError) Unwrap() error { return e.error }

func isPreconditionFailed(err error) bool {
	var resp minio.ErrorResponse
	return errors.As(err, &resp) && (resp.StatusCode == http.StatusPreconditionFailed || resp.Code == minio.PreconditionFailed)
}

func isConditionConflict(err error) bool {
	var resp minio.ErrorResponse
	return errors.As(err, &resp) && resp.StatusCode == http.StatusConflict && resp.Code == "ConditionalRequestConflict"
}

func isNotImplemented(err error) bool {
	var resp minio.ErrorResponse
	return errors.As(err, &resp) && (resp.StatusCode == http.StatusNotImplemented || resp.Code == "NotImplemented")
}
