package objstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"
	"time"
)

// Store is a dataset root under a bucket and key prefix, with the methods
// of pipeline.Store. Names are slash-separated paths relative to the root,
// and a missing object gives an error that matches fs.ErrNotExist. List
// returns the objects directly under a prefix, as a folder listing does.
// Every write is one atomic PUT, or one multipart upload, which appears
// whole when it completes.
//
// Requests use the Client's retries and logging. The methods take no
// context, as pipeline.Store's do not, so a request runs until it
// succeeds or its retries run out.
type Store struct {
	c      *Client
	bucket string
	prefix string // key prefix without a trailing "/"; "" for the whole bucket

	probeOnce sync.Once
	probeErr  error
}

// NewStore returns the store of the dataset root at rootURL, an
// s3://bucket/prefix URL. It sends no request.
func NewStore(c *Client, rootURL string) (*Store, error) {
	bucket, prefix, err := ParseURL(rootURL)
	if err != nil {
		return nil, err
	}
	prefix = strings.Trim(prefix, "/")
	if prefix != "" && !fs.ValidPath(prefix) {
		return nil, fmt.Errorf("dataset root %s: invalid prefix %q: want slash-separated names without empty, '.' or '..' segments", rootURL, prefix)
	}
	return &Store{c: c, bucket: bucket, prefix: prefix}, nil
}

// String returns the root's s3:// URL.
func (s *Store) String() string { return URL(s.bucket, s.prefix) }

// Bucket returns the store's bucket.
func (s *Store) Bucket() string { return s.bucket }

// Prefix returns the key prefix of the root, without a trailing "/".
func (s *Store) Prefix() string { return s.prefix }

// CheckBucket returns an error that matches fs.ErrNotExist when the
// store's bucket does not exist.
func (s *Store) CheckBucket() error {
	return s.c.CheckBucket(context.Background(), s.bucket)
}

// key maps a store name to its object key, rejecting names that are not
// slash-separated relative paths.
func (s *Store) key(name string) (string, error) {
	if !fs.ValidPath(name) || name == "." {
		return "", fmt.Errorf("invalid store path %q: want a slash-separated path relative to the root", name)
	}
	if s.prefix == "" {
		return name, nil
	}
	return s.prefix + "/" + name, nil
}

// Open opens the object name for reading. The first request goes out
// before Open returns, so a missing object gives an error here.
func (s *Store) Open(name string) (io.ReadCloser, error) {
	key, err := s.key(name)
	if err != nil {
		return nil, err
	}
	return s.c.openNow(context.Background(), s.bucket, key)
}

// Stat returns the size and Last-Modified time of the object name.
func (s *Store) Stat(name string) (fs.FileInfo, error) {
	key, err := s.key(name)
	if err != nil {
		return nil, err
	}
	obj, err := s.c.Stat(context.Background(), s.bucket, key)
	if err != nil {
		return nil, err
	}
	return objectInfo{name: path.Base(name), size: obj.Size, modified: obj.Modified}, nil
}

// List returns the sorted names of the objects directly under the folder
// dir, skipping names that start with a dot. A prefix with no objects
// holds no files, and a missing bucket gives an error that matches
// fs.ErrNotExist.
func (s *Store) List(dir string) ([]string, error) {
	prefix := s.prefix
	if dir != "" && dir != "." {
		key, err := s.key(dir)
		if err != nil {
			return nil, err
		}
		prefix = key
	}
	if prefix != "" {
		prefix += "/"
	}
	objects, err := s.c.list(context.Background(), s.bucket, prefix, false)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, o := range objects {
		name := strings.TrimPrefix(o.Key, prefix)
		if name == "" || strings.HasPrefix(name, ".") || strings.Contains(name, "/") {
			continue
		}
		names = append(names, name)
	}
	sort.Strings(names)
	return names, nil
}

// WriteFile replaces the object name with data in one PUT.
func (s *Store) WriteFile(name string, data []byte) error {
	key, err := s.key(name)
	if err != nil {
		return err
	}
	return s.c.Put(context.Background(), s.bucket, key, data)
}

// UploadFile copies the local file at localPath to the object name.
func (s *Store) UploadFile(name, localPath string) error {
	key, err := s.key(name)
	if err != nil {
		return err
	}
	return s.c.PutFile(context.Background(), s.bucket, key, localPath)
}

// WriteFileIfAbsent writes data to the object name only when there is no
// such object, with a PUT that carries If-None-Match: *. An existing
// object gives an error that matches fs.ErrExist.
//
// Some servers ignore the header and overwrite the object, as versitygw
// v1.8.0 does when its posix backend runs with --nometa. Before its first
// conditional write, the store probes the server: it creates a scratch
// object under the root twice, and the second write must fail. When it
// does not, WriteFileIfAbsent returns an error that matches
// errors.ErrUnsupported and writes nothing.
func (s *Store) WriteFileIfAbsent(name string, data []byte) error {
	key, err := s.key(name)
	if err != nil {
		return err
	}
	if err := s.probeConditionalWrites(); err != nil {
		return err
	}
	return s.c.PutIfAbsent(context.Background(), s.bucket, key, data)
}

// probeConditionalWrites checks once per Store that the server honours
// If-None-Match: *, and returns the same result on every call.
func (s *Store) probeConditionalWrites() error {
	s.probeOnce.Do(func() { s.probeErr = s.probe() })
	return s.probeErr
}

func (s *Store) probe() error {
	ctx := context.Background()
	suffix := make([]byte, 8)
	if _, err := rand.Read(suffix); err != nil {
		return err
	}
	key, err := s.key(".winnow-probe-" + hex.EncodeToString(suffix))
	if err != nil {
		return err
	}
	if err := s.c.PutIfAbsent(ctx, s.bucket, key, []byte("first\n")); err != nil {
		if isNotImplemented(err) {
			return fmt.Errorf("checking conditional writes on %s: the server rejected If-None-Match: *: %w: %w", s, errors.ErrUnsupported, err)
		}
		return fmt.Errorf("checking conditional writes on %s: %w", s, err)
	}
	second := s.c.PutIfAbsent(ctx, s.bucket, key, []byte("second\n"))
	removeErr := s.c.Remove(ctx, s.bucket, key)
	switch {
	case second == nil:
		return fmt.Errorf("checking conditional writes on %s: the server ignored If-None-Match: * and overwrote an object: %w", s, errors.ErrUnsupported)
	case !errors.Is(second, fs.ErrExist):
		return fmt.Errorf("checking conditional writes on %s: %w", s, second)
	case removeErr != nil:
		return fmt.Errorf("checking conditional writes on %s: %w", s, removeErr)
	}
	return nil
}

// Remove deletes the object name. A missing object gives an error that
// matches fs.ErrNotExist, found by a HEAD request before the DELETE,
// because S3 reports success when it deletes nothing.
func (s *Store) Remove(name string) error {
	key, err := s.key(name)
	if err != nil {
		return err
	}
	ctx := context.Background()
	if _, err := s.c.Stat(ctx, s.bucket, key); err != nil {
		return err
	}
	return s.c.Remove(ctx, s.bucket, key)
}

// objectInfo is the fs.FileInfo of an object.
type objectInfo struct {
	name     string
	size     int64
	modified time.Time
}

func (o objectInfo) Name() string       { return o.name }
func (o objectInfo) Size() int64        { return o.size }
func (o objectInfo) Mode() fs.FileMode  { return 0o444 }
func (o objectInfo) ModTime() time.Time { return o.modified }
func (o objectInfo) IsDir() bool        { return false }
func (o objectInfo) Sys() any           { return nil }
