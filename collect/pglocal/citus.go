package pglocal

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Citus is a Citus cluster on loopback: a coordinator and its workers, each an ordinary
// PostgreSQL cluster with the citus extension preloaded. Applications connect to the coordinator
// only. Node metadata lives in each database, so a database of the cluster exists on every node
// and is set up by CreateDatabase.
type Citus struct {
	// Nodes are the superuser URLs of the maintenance database of each node, coordinator first.
	Nodes []string
	// Hosts are the host and port by which the coordinator reaches each node (Nodes' order).
	Hosts []HostPort
	own   []*Cluster // the clusters StartCitus started (none for an existing cluster)
}

// HostPort is a node's address as Citus's metadata names it.
type HostPort struct {
	Host string
	Port int
}

// citusSettings are the postgresql.conf lines of every node. Statistics collection is off: it
// would call home, and these clusters have no network.
var citusSettings = []string{
	"shared_preload_libraries = 'citus'",
	"citus.enable_statistics_collection = off",
}

// StartCitus starts a coordinator and the given number of workers, each a private cluster (see
// Start) with the citus extension preloaded. The citus extension must be installed into the
// PostgreSQL on the PATH (this repository: ../shared/citus/install.sh; elsewhere Citus's own
// packages). opt.Settings apply to every node.
func StartCitus(ctx context.Context, opt Options, workers int) (*Citus, error) {
	opt.Settings = append(append([]string{}, citusSettings...), opt.Settings...)
	c := &Citus{}
	for i := 0; i <= workers; i++ {
		n, err := Start(ctx, opt)
		if err != nil {
			return nil, errors.Join(fmt.Errorf("start Citus node %d (is the citus extension installed? make test-citus installs it): %w", i, err), c.Stop())
		}
		c.own = append(c.own, n)
		c.Nodes = append(c.Nodes, n.URL)
		c.Hosts = append(c.Hosts, HostPort{"127.0.0.1", n.Port})
	}
	return c, nil
}

// ExistingCitus describes a running Citus cluster from the superuser URL of its coordinator's
// maintenance database: its workers are the primary nodes in the coordinator's metadata,
// reached with the coordinator URL's user, password and parameters at their own host and port.
func ExistingCitus(ctx context.Context, coordinator string) (*Citus, error) {
	u, err := url.Parse(coordinator)
	if err != nil {
		return nil, fmt.Errorf("parse the Citus coordinator URL: %w", err)
	}
	conn, err := pgx.Connect(ctx, coordinator)
	if err != nil {
		return nil, fmt.Errorf("connect to the Citus coordinator: %w", err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT nodename, nodeport FROM pg_dist_node
		WHERE noderole = 'primary' AND groupid <> 0 ORDER BY nodeid`)
	if err != nil {
		return nil, fmt.Errorf("list the Citus workers (is the citus extension created in the coordinator's maintenance database?): %w", err)
	}
	c := &Citus{Nodes: []string{coordinator}}
	port, _ := strconv.Atoi(u.Port())
	c.Hosts = append(c.Hosts, HostPort{u.Hostname(), port})
	var hp HostPort
	if _, err := pgx.ForEachRow(rows, []any{&hp.Host, &hp.Port}, func() error {
		w := *u
		w.Host = hp.Host + ":" + strconv.Itoa(hp.Port)
		c.Nodes = append(c.Nodes, w.String())
		c.Hosts = append(c.Hosts, hp)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("list the Citus workers: %w", err)
	}
	if len(c.Nodes) < 2 {
		return nil, errors.New("the Citus coordinator has no workers (citus_add_node)")
	}
	return c, nil
}

// CreateDatabase creates database name on every node. From scratch (template ""), it creates
// the citus extension in it on every node and registers the coordinator and the workers in the
// coordinator's copy. From a template (a database of the cluster made by CreateDatabase and then
// frozen by Freeze), every node clones its own copy of it: the metadata, the shards and the
// placements agree across the nodes as they did in the template, so the clone is a cluster of
// its own with the same distributed tables. It returns the URL of the database on the
// coordinator.
func (c *Citus) CreateDatabase(ctx context.Context, name, template string) (string, error) {
	create := "CREATE DATABASE " + pgx.Identifier{name}.Sanitize()
	if template != "" {
		create += " TEMPLATE " + pgx.Identifier{template}.Sanitize()
	}
	// Workers first: a coordinator database that exists is one whose workers do.
	for i := len(c.Nodes) - 1; i >= 0; i-- {
		if err := execOn(ctx, c.Nodes[i], create); err != nil {
			return "", fmt.Errorf("create database %s on Citus node %d: %w", name, i, err)
		}
	}
	if template != "" {
		return WithDatabase(c.Nodes[0], name), nil
	}
	for i := len(c.Nodes) - 1; i >= 0; i-- {
		if err := execOn(ctx, WithDatabase(c.Nodes[i], name), "CREATE EXTENSION citus"); err != nil {
			return "", fmt.Errorf("create the citus extension in %s on node %d: %w", name, i, err)
		}
	}
	coord := WithDatabase(c.Nodes[0], name)
	stmts := []string{fmt.Sprintf("SELECT citus_set_coordinator_host(%s, %d)", quote(c.Hosts[0].Host), c.Hosts[0].Port)}
	for _, w := range c.Hosts[1:] {
		stmts = append(stmts, fmt.Sprintf("SELECT citus_add_node(%s, %d)", quote(w.Host), w.Port))
	}
	for _, s := range stmts {
		if err := execOn(ctx, coord, s); err != nil {
			return "", fmt.Errorf("add the Citus nodes to %s: %w", name, err)
		}
	}
	return coord, nil
}

// Freeze makes database name a template that CreateDatabase can clone on every node: it refuses
// connections from then on, and the sessions still in it (Citus's maintenance daemon, the
// coordinator's cached connections to the workers) are ended, since PostgreSQL clones only a
// database nobody is connected to.
func (c *Citus) Freeze(ctx context.Context, name string) error {
	lit := quote(name)
	for i, n := range c.Nodes {
		for _, s := range []string{
			"ALTER DATABASE " + pgx.Identifier{name}.Sanitize() + " WITH ALLOW_CONNECTIONS false",
			"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = " + lit + " AND pid <> pg_backend_pid()",
		} {
			if err := execOn(ctx, n, s); err != nil {
				return fmt.Errorf("freeze template %s on Citus node %d: %w", name, i, err)
			}
		}
	}
	return nil
}

// DropDatabase drops database name on every node, ending its sessions.
func (c *Citus) DropDatabase(ctx context.Context, name string) error {
	var errs []error
	for i, n := range c.Nodes {
		if err := execOn(ctx, n, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			errs = append(errs, fmt.Errorf("drop database %s on Citus node %d: %w", name, i, err))
		}
	}
	return errors.Join(errs...)
}

// Stop stops the nodes StartCitus started and removes their directories.
func (c *Citus) Stop() error {
	if c == nil {
		return nil
	}
	var errs []error
	for _, n := range c.own {
		errs = append(errs, n.Stop())
	}
	return errors.Join(errs...)
}

// WithDatabase is url with its database name replaced by db.
func WithDatabase(rawURL, db string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return rawURL
	}
	u.Path = "/" + db
	return u.String()
}

func execOn(ctx context.Context, url, sql string) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
