// Package pglocal starts a private, throwaway PostgreSQL cluster from the server binaries on
// the PATH (initdb, pg_ctl). Tests, benchmarks and `aispend demo` use it when no database URL
// is given. When the process runs as root, the cluster runs as the unprivileged "postgres"
// user, because initdb refuses to run as root.
package pglocal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
)

// Cluster is a running private PostgreSQL server.
type Cluster struct {
	Dir    string // data and socket directory, removed by Stop
	Port   int
	URL    string // superuser URL on 127.0.0.1
	asUser string
}

// Options tune the cluster. The zero value is a durable server (fsync on).
type Options struct {
	// Fast turns off fsync and synchronous commit: for tests whose assertions do not depend on
	// surviving a machine crash. Benchmarks and the demo keep the defaults.
	Fast bool
	// Settings are extra postgresql.conf lines.
	Settings []string
}

// Start runs initdb in a fresh temporary directory and starts the server on a free loopback port.
func Start(ctx context.Context, opt Options) (*Cluster, error) {
	for _, bin := range []string{"initdb", "pg_ctl"} {
		if _, err := exec.LookPath(bin); err != nil {
			return nil, fmt.Errorf("find %s: PostgreSQL server binaries are required (Debian: apt-get install postgresql; then put /usr/lib/postgresql/15/bin on PATH): %w", bin, err)
		}
	}
	c := &Cluster{}
	if os.Geteuid() == 0 {
		c.asUser = "postgres"
		if _, err := user.Lookup(c.asUser); err != nil {
			return nil, fmt.Errorf("look up user postgres (needed to run initdb as root; create it with: useradd --system postgres): %w", err)
		}
	}
	dir, err := os.MkdirTemp("", "aispend-pg-")
	if err != nil {
		return nil, fmt.Errorf("create cluster directory: %w", err)
	}
	c.Dir = dir
	if c.asUser != "" {
		if out, err := exec.CommandContext(ctx, "chown", c.asUser, dir).CombinedOutput(); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("chown cluster directory: %v: %s", err, out)
		}
	}
	data := filepath.Join(dir, "data")
	if out, err := c.cmd(ctx, "initdb", "--no-sync", "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-instructions").CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %v: %s", err, out)
	}
	conf := []string{
		"listen_addresses = '127.0.0.1'",
		"unix_socket_directories = '" + dir + "'",
		"max_connections = 200",
		"shared_buffers = 256MB",
		"max_wal_size = 2GB",
		"log_min_messages = warning",
	}
	if opt.Fast {
		conf = append(conf, "fsync = off", "synchronous_commit = off", "full_page_writes = off")
	}
	conf = append(conf, opt.Settings...)
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		all := append(append([]string{}, conf...), "port = "+strconv.Itoa(port))
		if err := appendConf(filepath.Join(data, "postgresql.conf"), all); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		out, err := c.cmd(ctx, "pg_ctl", "-D", data, "-l", filepath.Join(dir, "server.log"), "-w", "-t", "60", "start").CombinedOutput()
		if err == nil {
			c.Port = port
			c.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
			return c, nil
		}
		log, _ := os.ReadFile(filepath.Join(dir, "server.log"))
		lastErr = fmt.Errorf("pg_ctl start: %v: %s %s", err, out, tail(log))
		if !bytes.Contains(log, []byte("in use")) {
			break
		}
	}
	os.RemoveAll(dir)
	return nil, lastErr
}

// Stop shuts the server down immediately and removes its directory.
func (c *Cluster) Stop() error {
	if c == nil || c.Dir == "" {
		return nil
	}
	out, err := c.cmd(context.Background(), "pg_ctl", "-D", filepath.Join(c.Dir, "data"), "-m", "immediate", "-w", "stop").CombinedOutput()
	rmErr := os.RemoveAll(c.Dir)
	if err != nil {
		return fmt.Errorf("pg_ctl stop: %v: %s", err, out)
	}
	return rmErr
}

// Shutdown stops the server with pg_ctl's shutdown mode ("smart", "fast" or "immediate") and
// waits until it has exited, keeping its data directory and port, so that StartAgain can bring
// the same cluster back: for tests of a database outage.
func (c *Cluster) Shutdown(ctx context.Context, mode string) error {
	out, err := c.cmd(ctx, "pg_ctl", "-D", filepath.Join(c.Dir, "data"), "-m", mode, "-w", "-t", "60", "stop").CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctl stop -m %s: %v: %s", mode, err, out)
	}
	return nil
}

// StartAgain starts a cluster stopped by Shutdown, on the same data directory and port, and
// waits until it accepts connections.
func (c *Cluster) StartAgain(ctx context.Context) error {
	dir := c.Dir
	out, err := c.cmd(ctx, "pg_ctl", "-D", filepath.Join(dir, "data"), "-l", filepath.Join(dir, "server.log"), "-w", "-t", "60", "start").CombinedOutput()
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "server.log"))
		return fmt.Errorf("pg_ctl start: %v: %s %s", err, out, tail(log))
	}
	return nil
}

func (c *Cluster) cmd(ctx context.Context, name string, args ...string) *exec.Cmd {
	if c.asUser != "" {
		args = append([]string{"-u", c.asUser, "--", name}, args...)
		name = "runuser"
	}
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	return cmd
}

func appendConf(path string, lines []string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("open postgresql.conf: %w", err)
	}
	_, werr := f.WriteString("\n" + strings.Join(lines, "\n") + "\n")
	return errors.Join(werr, f.Close())
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func tail(b []byte) string {
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}
