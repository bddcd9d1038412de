// Package s3test gives tests a real S3 server: versitygw serving a temporary directory on a free
// loopback port, with one empty bucket. The server can be stopped and restarted on the same port
// and directory to simulate storage going away in the middle of a run.
package s3test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/aispend/aispend/collect/testkit"
)

// Version is the pinned versitygw release; the Makefile's tools target installs it.
const (
	Version    = "v1.8.0"
	InstallCmd = "go install github.com/versity/versitygw/cmd/versitygw@" + Version
	Region     = "us-east-1"
)

// Server is one running versitygw.
type Server struct {
	Endpoint  string // http://127.0.0.1:PORT
	AccessKey string
	SecretKey string
	Region    string
	Bucket    string
	Dir       string // the posix backend's root; the bucket is a directory inside it

	t    testing.TB
	bin  string
	addr string
	log  string
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
}

// Start runs versitygw for the test and creates the bucket. The server stops when the test ends.
// A missing binary fails the test with the command that installs it.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := findBinary()
	if err != nil {
		t.Fatalf("versitygw not found: run make tools (%s): %v", InstallCmd, err)
	}
	dir := t.TempDir()
	s := &Server{
		AccessKey: "aispendtest",
		SecretKey: "aispendtestsecret",
		Region:    Region,
		Bucket:    "aispend-test",
		Dir:       filepath.Join(dir, "data"),
		t:         t,
		bin:       bin,
		log:       filepath.Join(dir, "versitygw.log"),
	}
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		t.Fatalf("s3test: %v", err)
	}
	t.Cleanup(s.Stop)
	// The free port is found by binding and closing; another process may take it in between,
	// so a failed start is tried again on a new port.
	for try := 1; ; try++ {
		port, err := testkit.FreePort()
		if err != nil {
			t.Fatalf("s3test: find a free port: %v", err)
		}
		s.addr = fmt.Sprintf("127.0.0.1:%d", port)
		s.Endpoint = "http://" + s.addr
		if err = s.start(); err == nil {
			break
		}
		if try == 3 {
			t.Fatalf("s3test: start versitygw: %v", err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Client().MakeBucket(ctx, s.Bucket, minio.MakeBucketOptions{Region: s.Region}); err != nil {
		t.Fatalf("s3test: create bucket %s: %v", s.Bucket, err)
	}
	return s
}

// Client is a minio client for the server, for checking what a test published.
func (s *Server) Client() *minio.Client {
	c, err := minio.New(s.addr, &minio.Options{
		Creds:        credentials.NewStaticV4(s.AccessKey, s.SecretKey, ""),
		Region:       s.Region,
		BucketLookup: minio.BucketLookupPath,
		MaxRetries:   1,
	})
	if err != nil {
		s.t.Fatalf("s3test: client: %v", err)
	}
	return c
}

// Stop kills the server; requests fail with "connection refused" until Restart.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.done
	s.cmd = nil
}

// Restart starts the server again on the same port and directory, keeping the bucket's objects.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	if err := s.start(); err != nil {
		s.t.Fatalf("s3test: restart versitygw: %v", err)
	}
}

// start launches the process and waits until its health endpoint answers.
func (s *Server) start() error {
	logf, err := os.OpenFile(s.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close() // the child keeps its own descriptor
	cmd := exec.Command(s.bin,
		"--port", s.addr, "--access", s.AccessKey, "--secret", s.SecretKey, "--region", s.Region,
		"--quiet", "--health", "/health",
		"posix", s.Dir)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("run %s: %w", s.bin, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	s.cmd, s.done = cmd, done

	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-done:
			s.cmd = nil
			return fmt.Errorf("versitygw exited at start: %s", s.logTail())
		default:
		}
		resp, err := client.Get(s.Endpoint + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			s.Stop()
			return fmt.Errorf("versitygw did not answer on %s within 30s (last error %v): %s", s.addr, err, s.logTail())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *Server) logTail() string {
	b, err := os.ReadFile(s.log)
	if err != nil {
		return "(no log)"
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return strings.TrimSpace(string(b))
}

// findBinary looks on PATH, then in <repo>/bin/tools where `make tools` installs it.
func findBinary() (string, error) {
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			p := filepath.Join(dir, "bin", "tools", "versitygw")
			if _, err := os.Stat(p); err != nil {
				return "", fmt.Errorf("not on PATH nor at %s", p)
			}
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not on PATH, and no go.mod above the working directory")
		}
		dir = parent
	}
}
