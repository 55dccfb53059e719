package objstore

import (
	"context"
	"fmt"

	"github.com/minio/minio-go/v7"
)

// Object is one listed object.
type Object struct {
	Key  string
	Size int64 // bytes
}

// List returns every object whose key starts with prefix, in key order.
// It follows the server's pages of at most 1,000 keys each. A transient
// error is retried from the last key received.
func (c *Client) List(ctx context.Context, bucket, prefix string) ([]Object, error) {
	var out []Object
	listURL := URL(bucket, prefix)
	err := c.do(ctx, listURL, func() error {
		opts := minio.ListObjectsOptions{Prefix: prefix, Recursive: true}
		if len(out) > 0 {
			opts.StartAfter = out[len(out)-1].Key
		}
		for info := range c.mc.ListObjects(ctx, bucket, opts) {
			if info.Err != nil {
				return info.Err
			}
			out = append(out, Object{Key: info.Key, Size: info.Size})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", listURL, err)
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
		obj = Object{Key: info.Key, Size: info.Size}
		return err
	})
	if err != nil {
		return Object{}, fmt.Errorf("reading %s: %w", objectURL, classify(err))
	}
	return obj, nil
}
