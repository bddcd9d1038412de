// Command aispend monitors what an organisation spends on AI requests: a collector that stores
// every request's usage and cost, and a batch job that reports, alerts and publishes.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/term"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	err := run(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return
	}
	fmt.Fprintln(os.Stderr, "aispend:", err)
	var ue usageError
	if errors.As(err, &ue) {
		os.Exit(2)
	}
	os.Exit(1)
}

// usageError is a wrong command line (no command, an unknown command, a flag that cannot be
// parsed): the usage has been printed to stderr and the exit status is 2, as the flag package
// and other command-line tools use for it, so that a script tells it from a failed run (1).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env *environment, args []string) error
}

// environment is what a subcommand gets from the process.
type environment struct {
	getenv         func(string) string
	stdout, stderr io.Writer
	log            *slog.Logger
	configPath     string
}

func commands() []command {
	return []command{
		{"serve", "run the collector HTTP server", cmdServe},
		{"migrate", "apply the database schema (idempotent)", cmdMigrate},
		{"run", "one batch run: statistics, alerts, pages, workbooks, publish, digest, retention (for cron)", cmdRun},
		{"alert", "alert test --to ADDR: send a sample alert email", cmdAlert},
		{"schedule", "run the configured jobs on their cron schedules (one leader among replicas)", cmdSchedule},
		{"runs", "list recent runs: kind, period, status, duration, error (--limit N)", cmdRuns},
		{"reprice", "price unpriced events; --from --to [--force]: recompute a range's costs from the current prices", cmdReprice},
		{"prices", "prices list|check: the price of every model seen in 30 days, or the models without one", cmdPrices},
		{"demo", "load a realistic 30-day sample data set and run the batch on it", cmdDemo},
		{"version", "print the version", func(_ context.Context, env *environment, _ []string) error {
			fmt.Fprintln(env.stdout, "aispend", version)
			return nil
		}},
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: aispend <command> [flags]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nCommands take --log-format auto|text|json, and all but demo --config FILE; run 'aispend <command> --help' for its flags.")
}

// run is the whole program: it gets the OS as parameters so that tests can call it.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(args) == 0 {
		usage(stderr)
		return usageError{errors.New("no command given")}
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		return nil
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, &environment{getenv: getenv, stdout: stdout, stderr: stderr}, args[1:])
		}
	}
	usage(stderr)
	return usageError{fmt.Errorf("unknown command %q", args[0])}
}

// flags makes a subcommand's flag set with the common flags; parse sets up the logger.
func (env *environment) flags(name, synopsis string) *flag.FlagSet {
	fs := env.flagsWithoutConfig(name, synopsis)
	fs.StringVar(&env.configPath, "config", "", "configuration file (default $AISPEND_CONFIG, else ./aispend.yaml if present)")
	return fs
}

// flagsWithoutConfig is flags without --config, for a command that brings its own
// configuration (demo): its help lists only the flags it accepts.
func (env *environment) flagsWithoutConfig(name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet("aispend "+name, flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	fs.String("log-format", "auto", "log format: auto (text on a terminal, else JSON), text or json")
	fs.Usage = func() {
		fmt.Fprintf(env.stderr, "Usage: aispend %s [flags]\n\n%s\n\nFlags:\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

func (env *environment) parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err} // the flag package has printed the error and the usage
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	format := fs.Lookup("log-format").Value.String()
	var h slog.Handler
	switch format {
	case "text":
		h = slog.NewTextHandler(env.stderr, nil)
	case "json":
		h = slog.NewJSONHandler(env.stderr, nil)
	case "auto":
		if f, ok := env.stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			h = slog.NewTextHandler(env.stderr, nil)
		} else {
			h = slog.NewJSONHandler(env.stderr, nil)
		}
	default:
		return fmt.Errorf("--log-format: %q: want auto, text or json", format)
	}
	env.log = slog.New(h)
	return nil
}
