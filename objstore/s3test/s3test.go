// Package s3test starts a real S3 server, versitygw with its posix
// backend, on 127.0.0.1 for tests, and drives it with Debian's awscli as
// an independent client. `make test-deps` installs both.
package s3test

import (
	"bytes"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"
)

// Credentials of the server's root user. They are test values, and the
// tests check that they reach no log and no manifest.
const (
	AccessKey = "winnowtestaccesskey"
	SecretKey = "winnowtestsecretkey0123456789"
)

// Server is a running versitygw.
type Server struct {
	Endpoint string // http://127.0.0.1:PORT
	Dir      string // the posix backend's folder; each subfolder is a bucket
	Addr     string // 127.0.0.1:PORT

	// sidecar is the folder where the backend keeps each object's
	// metadata, ETag included, or "" when it keeps none (--nometa).
	sidecar string

	t   testing.TB
	bin string
	cmd *exec.Cmd
	log *bytes.Buffer
}

// repoRoot returns the module root, found from this file's path.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Binary returns the path of versitygw that `make test-deps` installs, and
// fails t when it is missing.
func Binary(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(repoRoot(), "tools", "bin", "versitygw")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("S3 test server versitygw not found at %s: run `make test-deps`", bin)
	}
	return bin
}

// Start starts a server on a free loopback port with an empty backend
// folder and stops it, by PID, when the test ends. The backend keeps no
// object metadata (--nometa), so the server ignores If-None-Match on PUT
// and overwrites the object.
func Start(t testing.TB) *Server {
	t.Helper()
	return start(t, "")
}

// StartWithMetadata starts a server as Start does, but the backend keeps
// each object's metadata, ETag included, in a sidecar folder (--sidecar).
// The server then checks conditions against the stored ETags, and returns
// 412 Precondition Failed for a PUT with If-None-Match: * on an existing
// object.
func StartWithMetadata(t testing.TB) *Server {
	t.Helper()
	return start(t, t.TempDir())
}

func start(t testing.TB, sidecar string) *Server {
	t.Helper()
	s := &Server{t: t, bin: Binary(t), Dir: t.TempDir(), sidecar: sidecar}
	s.Addr = freeAddr(t)
	s.Endpoint = "http://" + s.Addr
	s.start()
	t.Cleanup(s.Stop)
	return s
}

func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("finding a free port: %v", err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func (s *Server) start() {
	s.t.Helper()
	s.log = &bytes.Buffer{}
	meta := []string{"--nometa"}
	if s.sidecar != "" {
		meta = []string{"--sidecar", s.sidecar}
	}
	args := append([]string{"--port", s.Addr, "--access", AccessKey, "--secret", SecretKey, "posix"}, meta...)
	cmd := exec.Command(s.bin, append(args, s.Dir)...)
	cmd.Env = []string{"HOME=" + s.Dir, "PATH=" + os.Getenv("PATH")}
	cmd.Stdout, cmd.Stderr = s.log, s.log
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("starting versitygw: %v", err)
	}
	s.cmd = cmd
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(s.Endpoint + "/")
		if err == nil {
			resp.Body.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.Stop()
	s.t.Fatalf("versitygw did not respond on %s within 15s; its output:\n%s", s.Addr, s.log)
}

// Stop kills the server by its PID and waits for it to exit. Stopping a
// stopped server does nothing.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Kill()
	s.cmd.Wait()
	s.cmd = nil
}

// Restart starts the server again on the same port and folder.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	s.start()
}

// Env returns the AWS environment variables that point a client at the
// server, as NAME=value pairs.
func (s *Server) Env() []string {
	return []string{
		"AWS_ENDPOINT_URL=" + s.Endpoint,
		"AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=" + AccessKey,
		"AWS_SECRET_ACCESS_KEY=" + SecretKey,
		"AWS_S3_FORCE_PATH_STYLE=true",
	}
}

// SetEnv sets Env for the rest of the test, with t.Setenv.
func (s *Server) SetEnv(t testing.TB) {
	t.Helper()
	type setenver interface{ Setenv(key, value string) }
	st, ok := t.(setenver)
	if !ok {
		t.Fatalf("SetEnv needs a *testing.T or *testing.B")
	}
	for _, kv := range s.Env() {
		k, v, _ := bytes.Cut([]byte(kv), []byte("="))
		st.Setenv(string(k), string(v))
	}
}

// AWS runs Debian's aws command against the server and returns its
// output. It fails t when the command fails.
func (s *Server) AWS(args ...string) string {
	s.t.Helper()
	bin := awsBinary(s.t)
	cmd := exec.Command(bin, append([]string{"--endpoint-url", s.Endpoint}, args...)...)
	cmd.Env = append([]string{"HOME=" + s.Dir, "PATH=" + os.Getenv("PATH"), "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null"}, s.Env()...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		s.t.Fatalf("aws %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// MakeBucket creates a bucket with awscli.
func (s *Server) MakeBucket(name string) {
	s.t.Helper()
	s.AWS("s3api", "create-bucket", "--bucket", name)
}

// awsBinary returns Debian's /usr/bin/aws, or an aws on PATH, whichever
// first prints its version.
func awsBinary(t testing.TB) string {
	t.Helper()
	candidates := []string{"/usr/bin/aws"}
	if p, err := exec.LookPath("aws"); err == nil {
		candidates = append(candidates, p)
	}
	for _, c := range candidates {
		if exec.Command(c, "--version").Run() == nil {
			return c
		}
	}
	t.Fatalf("awscli not found or broken (tried %v): run `make test-deps`", candidates)
	return ""
}

// String describes the server without its credentials.
func (s *Server) String() string {
	return "versitygw at " + s.Endpoint + " (pid " + strconv.Itoa(s.pid()) + ")"
}

func (s *Server) pid() int {
	if s.cmd == nil || s.cmd.Process == nil {
		return 0
	}
	return s.cmd.Process.Pid
}
