package objstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
)

// Object is one listed object.
type Object struct {
	Key      string
	Size     int64     // bytes
	Modified time.Time // Last-Modified, by the server's clock
}

// List returns every object whose key starts with prefix, in key order.
// It follows the server's pages of at most 1,000 keys each. A transient
// error is retried from the last key received.
func (c *Client) List(ctx context.Context, bucket, prefix string) ([]Object, error) {
	return c.list(ctx, bucket, prefix, true)
}

// list returns the objects under prefix, in key order. With recursive
// false it returns only the objects directly under prefix, up to the next
// "/", as a folder listing does.
func (c *Client) list(ctx context.Context, bucket, prefix string, recursive bool) ([]Object, error) {
	var out []Object
	listURL := URL(bucket, prefix)
	// last is the last key or common prefix received, where a retry
	// starts over.
	last := ""
	err := c.do(ctx, listURL, func() error {
		opts := minio.ListObjectsOptions{Prefix: prefix, Recursive: recursive, StartAfter: last}
		for info := range c.mc.ListObjects(ctx, bucket, opts) {
			if info.Err != nil {
				return info.Err
			}
			last = info.Key
			if !recursive && strings.HasSuffix(info.Key, "/") {
				continue // a common prefix: a subfolder, not an object
			}
			out = append(out, Object{Key: info.Key, Size: info.Size, Modified: info.LastModified})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", listURL, classify(err))
	}
	return out, nil
}

// Stat returns the object at key. Its error wraps ErrNotFound when there
// is no such object.
func (c *Client) Stat(ctx context.Context, bucket, key string) (Object, error) {
	objectURL := URL(bucket, key)
	var obj Object
	err := c.do(ctx, objectURL, func() error {
		info, err := c.mc.StatObject(ctx, bucket, key, minio.StatObjectOptions{})
		obj = Object{Key: info.Key, Size: info.Size, Modified: info.LastModified}
		return err
	})
	if err != nil {
		return Object{}, fmt.Errorf("reading %s: %w", objectURL, classify(err))
	}
	return obj, nil
}
