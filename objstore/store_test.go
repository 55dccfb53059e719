package objstore_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/winnow-data/winnow/objstore"
	"github.com/winnow-data/winnow/objstore/s3test"
	"github.com/winnow-data/winnow/pipeline"
)

// conformanceStore is the part of a dataset store that the conformance
// tests exercise: pipeline.Store with conditional writes and removal.
type conformanceStore interface {
	pipeline.Store
	pipeline.ExclusiveWriter
	pipeline.Remover
}

var (
	_ conformanceStore      = (*objstore.Store)(nil)
	_ conformanceStore      = (*pipeline.LocalStore)(nil)
	_ pipeline.FileUploader = (*objstore.Store)(nil)
)

// newS3Store returns a Store under s3://bucket/prefix on srv.
func newS3Store(t *testing.T, srv *s3test.Server, bucket, prefix string, logger *slog.Logger) *objstore.Store {
	t.Helper()
	store, err := objstore.NewStore(newClient(t, srv.Endpoint, logger), objstore.URL(bucket, prefix))
	if err != nil {
		t.Fatal(err)
	}
	return store
}

// storeKinds returns a fresh local store and a fresh S3 store whose server
// honours If-None-Match, by name.
func storeKinds(t *testing.T) map[string]func(t *testing.T) conformanceStore {
	srv := s3test.StartWithMetadata(t)
	srv.MakeBucket("conform")
	n := 0
	return map[string]func(t *testing.T) conformanceStore{
		"local": func(t *testing.T) conformanceStore {
			store, err := pipeline.NewLocalStore(filepath.Join(t.TempDir(), "root"))
			if err != nil {
				t.Fatal(err)
			}
			return store
		},
		"s3": func(t *testing.T) conformanceStore {
			n++
			return newS3Store(t, srv, "conform", fmt.Sprintf("datasets/root-%d", n), nil)
		},
	}
}

func readAll(t *testing.T, store pipeline.Store, name string) string {
	t.Helper()
	r, err := store.Open(name)
	if err != nil {
		t.Fatalf("Open(%s): %v", name, err)
	}
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("reading %s: %v", name, err)
	}
	return string(data)
}

func TestStoreConformance(t *testing.T) {
	for kind, newStore := range storeKinds(t) {
		t.Run(kind, func(t *testing.T) {
			t.Run("write open stat", func(t *testing.T) {
				store := newStore(t)
				if err := store.WriteFile("versions/0123456789abcdef.json", []byte("{}\n")); err != nil {
					t.Fatal(err)
				}
				if got := readAll(t, store, "versions/0123456789abcdef.json"); got != "{}\n" {
					t.Errorf("read %q, want %q", got, "{}\n")
				}
				info, err := store.Stat("versions/0123456789abcdef.json")
				if err != nil {
					t.Fatal(err)
				}
				if info.Size() != 3 || info.Name() != "0123456789abcdef.json" || info.IsDir() {
					t.Errorf("Stat = name %q size %d dir %v, want 0123456789abcdef.json, 3, false", info.Name(), info.Size(), info.IsDir())
				}
				if age := time.Since(info.ModTime()); age < -time.Minute || age > time.Minute {
					t.Errorf("Stat mod time %s is not about now", info.ModTime())
				}
			})

			t.Run("overwrite", func(t *testing.T) {
				store := newStore(t)
				for _, content := range []string{"first version, longer\n", "second\n"} {
					if err := store.WriteFile("refs/latest", []byte(content)); err != nil {
						t.Fatal(err)
					}
				}
				if got := readAll(t, store, "refs/latest"); got != "second\n" {
					t.Errorf("read %q after overwrite, want %q", got, "second\n")
				}
			})

			t.Run("missing is not exist", func(t *testing.T) {
				store := newStore(t)
				if _, err := store.Open("refs/latest"); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("Open of a missing file: %v, want fs.ErrNotExist", err)
				}
				if _, err := store.Stat("refs/latest"); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("Stat of a missing file: %v, want fs.ErrNotExist", err)
				}
				if err := store.Remove("refs/latest"); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("Remove of a missing file: %v, want fs.ErrNotExist", err)
				}
				names, err := store.List("no-such-folder")
				if err != nil || len(names) != 0 {
					t.Errorf("List of a missing folder = %q, %v; want no names and no error", names, err)
				}
			})

			t.Run("list", func(t *testing.T) {
				store := newStore(t)
				for _, name := range []string{"refs/tags/b", "refs/tags/a", "refs/tags/.hidden", "refs/tags/sub/c", "refs/latest", "refs/tagsuffix"} {
					if err := store.WriteFile(name, []byte(name)); err != nil {
						t.Fatal(err)
					}
				}
				names, err := store.List("refs/tags")
				if err != nil {
					t.Fatal(err)
				}
				if want := []string{"a", "b"}; !slices.Equal(names, want) {
					t.Errorf("List(refs/tags) = %q, want %q: sorted, no dot-names, no subfolder contents", names, want)
				}
				names, err = store.List("refs")
				if err != nil {
					t.Fatal(err)
				}
				if want := []string{"latest", "tagsuffix"}; !slices.Equal(names, want) {
					t.Errorf("List(refs) = %q, want %q", names, want)
				}
			})

			t.Run("invalid names", func(t *testing.T) {
				store := newStore(t)
				for _, name := range []string{"../escape", "/abs/path", "a//b", ""} {
					if err := store.WriteFile(name, []byte("x")); err == nil {
						t.Errorf("WriteFile(%q) succeeded, want an invalid path error", name)
					}
				}
			})

			t.Run("remove", func(t *testing.T) {
				store := newStore(t)
				if err := store.WriteFile("leases/a.json", []byte("{}")); err != nil {
					t.Fatal(err)
				}
				if err := store.Remove("leases/a.json"); err != nil {
					t.Fatal(err)
				}
				if _, err := store.Stat("leases/a.json"); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("Stat after Remove: %v, want fs.ErrNotExist", err)
				}
			})

			t.Run("write if absent", func(t *testing.T) {
				store := newStore(t)
				if err := store.WriteFileIfAbsent("refs/.commit.lock", []byte("mine\n")); err != nil {
					t.Fatalf("first WriteFileIfAbsent: %v", err)
				}
				err := store.WriteFileIfAbsent("refs/.commit.lock", []byte("theirs\n"))
				if !errors.Is(err, fs.ErrExist) {
					t.Errorf("second WriteFileIfAbsent: %v, want fs.ErrExist", err)
				}
				if got := readAll(t, store, "refs/.commit.lock"); got != "mine\n" {
					t.Errorf("content %q after a refused write, want %q", got, "mine\n")
				}
			})

			t.Run("write if absent race", func(t *testing.T) {
				store := newStore(t)
				const writers = 8
				var wins atomic.Int32
				var wg sync.WaitGroup
				errs := make([]error, writers)
				for i := range writers {
					wg.Go(func() {
						errs[i] = store.WriteFileIfAbsent("refs/children/root", fmt.Appendf(nil, "writer %d\n", i))
						if errs[i] == nil {
							wins.Add(1)
						}
					})
				}
				wg.Wait()
				if n := wins.Load(); n != 1 {
					t.Fatalf("%d of %d racing writers created the file, want exactly 1; errors %v", n, writers, errs)
				}
				winner := slices.IndexFunc(errs, func(err error) bool { return err == nil })
				for i, err := range errs {
					if i != winner && !errors.Is(err, fs.ErrExist) {
						t.Errorf("writer %d: %v, want fs.ErrExist", i, err)
					}
				}
				if got, want := readAll(t, store, "refs/children/root"), fmt.Sprintf("writer %d\n", winner); got != want {
					t.Errorf("content %q, want the winner's %q", got, want)
				}
			})

			t.Run("atomic replace", func(t *testing.T) {
				store := newStore(t)
				contents := [][]byte{bytes.Repeat([]byte("a"), 200<<10), bytes.Repeat([]byte("b"), 100<<10)}
				if err := store.WriteFile("versions/big.json", contents[0]); err != nil {
					t.Fatal(err)
				}
				stop := make(chan struct{})
				var wg sync.WaitGroup
				var torn, reads atomic.Int32
				wg.Go(func() {
					for {
						select {
						case <-stop:
							return
						default:
						}
						r, err := store.Open("versions/big.json")
						if err != nil {
							torn.Add(1)
							continue
						}
						data, err := io.ReadAll(r)
						r.Close()
						reads.Add(1)
						if err != nil || !(bytes.Equal(data, contents[0]) || bytes.Equal(data, contents[1])) {
							torn.Add(1)
						}
					}
				})
				for i := range 20 {
					if err := store.WriteFile("versions/big.json", contents[(i+1)%2]); err != nil {
						t.Error(err)
					}
				}
				close(stop)
				wg.Wait()
				if n := torn.Load(); n > 0 {
					t.Errorf("%d of %d reads saw a missing or partial file while it was replaced", n, reads.Load())
				}
			})
		})
	}
}

func TestStoreRootURLAndPrefix(t *testing.T) {
	srv := s3test.StartWithMetadata(t)
	srv.MakeBucket("rooted")
	store := newS3Store(t, srv, "rooted", "team/ds/", nil)
	if got := store.String(); got != "s3://rooted/team/ds" {
		t.Errorf("String() = %q, want s3://rooted/team/ds", got)
	}
	if err := store.WriteFile("refs/latest", []byte("x\n")); err != nil {
		t.Fatal(err)
	}
	// awscli, an independent client, finds the object under the prefix.
	if out := srv.AWS("s3", "ls", "s3://rooted/team/ds/refs/"); !strings.Contains(out, "latest") {
		t.Errorf("aws s3 ls does not list refs/latest under the prefix:\n%s", out)
	}
	if _, err := objstore.NewStore(newClient(t, srv.Endpoint, nil), "s3://rooted/a/../b"); err == nil {
		t.Error("NewStore accepted a prefix with a .. segment")
	}

	bucketStore := newS3Store(t, srv, "rooted", "", nil)
	names, err := bucketStore.List("team/ds/refs")
	if err != nil || !slices.Equal(names, []string{"latest"}) {
		t.Errorf("List on a bucket root = %q, %v; want [latest]", names, err)
	}
	missing := newS3Store(t, srv, "no-such-bucket", "ds", nil)
	if err := missing.CheckBucket(); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("CheckBucket of a missing bucket: %v, want fs.ErrNotExist", err)
	}
}

func TestStoreListPastOnePage(t *testing.T) {
	srv := s3test.Start(t)
	srv.MakeBucket("pages")
	store := newS3Store(t, srv, "pages", "ds", nil)
	const n = 1050
	names := make(chan int)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range names {
				if err := store.WriteFile(fmt.Sprintf("shards/%05d.parquet", i), []byte("x")); err != nil {
					t.Error(err)
				}
			}
		})
	}
	for i := range n {
		names <- i
	}
	close(names)
	wg.Wait()
	// A sibling folder whose name sorts inside the listing must not leak in.
	if err := store.WriteFile("shards/00500.parquet.d/inner", []byte("x")); err != nil {
		t.Fatal(err)
	}

	got, err := store.List("shards")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n {
		t.Fatalf("listed %d names, want %d", len(got), n)
	}
	for i, name := range got {
		if want := fmt.Sprintf("%05d.parquet", i); name != want {
			t.Fatalf("name %d = %q, want %q", i, name, want)
		}
	}
}

func TestStoreUploadFile(t *testing.T) {
	srv := s3test.StartWithMetadata(t)
	srv.MakeBucket("uploads")
	store := newS3Store(t, srv, "uploads", "ds", nil)
	// 17 MiB goes up in parts: minio-go splits files of 16 MiB or more.
	data := bytes.Repeat([]byte("0123456789abcdef"), 17<<16)
	local := filepath.Join(t.TempDir(), "shard.parquet")
	if err := os.WriteFile(local, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := store.UploadFile("shards/big.parquet", local); err != nil {
		t.Fatal(err)
	}
	info, err := store.Stat("shards/big.parquet")
	if err != nil {
		t.Fatal(err)
	}
	if info.Size() != int64(len(data)) {
		t.Errorf("uploaded object has %d bytes, want %d", info.Size(), len(data))
	}
	if got := readAll(t, store, "shards/big.parquet"); got != string(data) {
		t.Error("uploaded object differs from the file")
	}
}

func TestStoreConditionalWriteUnsupported(t *testing.T) {
	// Without metadata, versitygw v1.8.0 ignores If-None-Match and
	// overwrites, so the store must refuse rather than overwrite.
	srv := s3test.Start(t)
	srv.MakeBucket("nometa")
	store := newS3Store(t, srv, "nometa", "ds", nil)
	if err := store.WriteFile("refs/.commit.lock", []byte("held\n")); err != nil {
		t.Fatal(err)
	}
	err := store.WriteFileIfAbsent("refs/.commit.lock", []byte("mine\n"))
	if !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("WriteFileIfAbsent on a server that ignores If-None-Match: %v, want errors.ErrUnsupported", err)
	}
	if got := readAll(t, store, "refs/.commit.lock"); got != "held\n" {
		t.Errorf("content %q after the refused write, want %q", got, "held\n")
	}
	if err := store.WriteFileIfAbsent("refs/other", []byte("x")); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("second WriteFileIfAbsent: %v, want the same errors.ErrUnsupported", err)
	}
	names, err := newS3Store(t, srv, "nometa", "", nil).List("ds")
	if err != nil || len(names) != 0 {
		t.Errorf("probe left objects at the root: %q, %v", names, err)
	}
	if out := srv.AWS("s3", "ls", "--recursive", "s3://nometa/ds/"); strings.Contains(out, "probe") {
		t.Errorf("probe object left behind:\n%s", out)
	}
}

func TestStoreWritesRetryWithoutCredentialsInLogs(t *testing.T) {
	srv := s3test.StartWithMetadata(t)
	srv.MakeBucket("retry")
	proxy := srv.FailFirst(http.MethodPut)

	var logs bytes.Buffer
	client := newClient(t, proxy.URL, slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	store, err := objstore.NewStore(client, "s3://retry/ds")
	if err != nil {
		t.Fatal(err)
	}
	if err := store.WriteFile("versions/0123456789abcdef.json", []byte("{}\n")); err != nil {
		t.Fatalf("WriteFile through a proxy that fails the first PUT: %v", err)
	}
	if err := store.WriteFileIfAbsent("refs/.commit.lock", []byte("lock\n")); err != nil {
		t.Fatalf("WriteFileIfAbsent through a proxy that fails the first PUT: %v", err)
	}
	local := filepath.Join(t.TempDir(), "s.parquet")
	if err := os.WriteFile(local, []byte("PAR1"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := store.UploadFile("shards/s.parquet", local); err != nil {
		t.Fatalf("UploadFile through a proxy that fails the first PUT: %v", err)
	}

	for _, key := range []string{"versions/0123456789abcdef.json", "refs/.commit.lock", "shards/s.parquet"} {
		if !strings.Contains(logs.String(), `"url":"s3://retry/ds/`+key+`"`) {
			t.Errorf("no retry logged for s3://retry/ds/%s; logs:\n%s", key, logs.String())
		}
	}
	if strings.Contains(logs.String(), s3test.SecretKey) || strings.Contains(logs.String(), s3test.AccessKey) {
		t.Errorf("logs contain the credentials:\n%s", logs.String())
	}
}
