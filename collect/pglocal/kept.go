package pglocal

import (
	"fmt"
	"path/filepath"
	"strings"
)

// StopCommand is the shell command that stops a cluster left running and removes its directory
// and the extra paths: what a user runs after `aispend demo --keep`.
func (c *Cluster) StopCommand(extra ...string) string {
	pgctl := "pg_ctl"
	if c.asUser != "" { // Start runs the server as an unprivileged user when we are root
		pgctl = "runuser -u " + c.asUser + " -- pg_ctl"
	}
	return fmt.Sprintf("%s -D %s stop && rm -rf %s", pgctl, filepath.Join(c.Dir, "data"), strings.Join(append([]string{c.Dir}, extra...), " "))
}
