// Package schedule runs named jobs on cron schedules with gocron, on exactly one of any number
// of replicas.
//
// The replicas elect a leader through a PostgreSQL session advisory lock held on a dedicated
// connection (not gocron's Locker, which is held only while a job runs and so lets another
// replica take the freed lock and run the same tick again: fast jobs and clock skew make that
// likely). Only the leader runs jobs.
// When the leader's process or connection dies its session ends, the lock is freed, and another
// replica takes over at its next check (Options.CheckEvery) or at the next tick, whichever
// comes first. A job never overlaps itself: gocron skips a tick while the previous run of the
// same job is still going, and a job's context is cancelled if its replica loses leadership.
//
// The connection must reach PostgreSQL directly, not through PgBouncer in transaction pooling
// mode, where session locks do not work.
package schedule

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/jackc/pgx/v5"
)

// Job is one named, scheduled task.
type Job struct {
	// Name identifies the job in logs; it must be unique.
	Name string
	// Cron is a standard 5-field cron expression (minute hour day-of-month month day-of-week),
	// or a descriptor such as "@daily", evaluated in Options.Location. With Options.Seconds it
	// has a leading seconds field.
	Cron string
	// Run does the work. Its context is cancelled on shutdown and if this replica loses
	// leadership; Run should then return promptly.
	Run func(ctx context.Context) error
}

// DefaultLockName names the leadership lock of replicas that share a database.
const DefaultLockName = "aispend schedule"

// Options tune Run. The zero value is usable.
type Options struct {
	// Location is the time zone of the cron expressions. Default UTC.
	Location *time.Location
	// Logger receives job outcomes and leadership changes. Default: discard.
	Logger *slog.Logger
	// LockName names the advisory lock; replicas with the same name on the same database share
	// one leader. Default DefaultLockName.
	LockName string
	// Instance names this replica in logs and in pg_stat_activity. Default host:pid.
	Instance string
	// CheckEvery is how often leadership is checked between ticks: the leader's connection is
	// pinged, followers try the lock. Default 5s; it bounds how long a takeover takes.
	CheckEvery time.Duration
	// StopTimeout bounds how long shutdown waits for running jobs after cancelling them.
	// Default 30s.
	StopTimeout time.Duration
	// Seconds makes cron expressions take a leading seconds field (6 fields), for tests.
	Seconds bool
}

// CheckCron reports whether expr is a valid standard 5-field cron expression (or descriptor),
// with a message that says what is wrong.
func CheckCron(expr string) error { return checkCron(expr, false, time.UTC) }

func checkCron(expr string, seconds bool, loc *time.Location) (err error) {
	if strings.TrimSpace(expr) == "" {
		return errors.New("empty cron expression")
	}
	// robfig/cron v3.0.1, under gocron, panics on a time zone prefix with nothing after it
	// ("TZ=", "CRON_TZ=x"): found by FuzzLoadConfig.
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("invalid cron expression %q: want a time zone prefix followed by 5 fields", expr)
		}
	}()
	err = gocron.NewDefaultCron(seconds).IsValid(expr, loc, time.Now())
	if err == nil {
		return nil
	}
	// gocron joins its generic error with the parser's, which says what is wrong.
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		if errs := j.Unwrap(); len(errs) > 1 {
			err = errs[len(errs)-1]
		}
	}
	return fmt.Errorf("invalid cron expression %q: %w", expr, err)
}

// Run schedules jobs and blocks until ctx is done. It connects to dsn for leader election
// only; jobs bring their own database access. On cancellation (SIGTERM) it cancels running
// jobs, waits for them up to Options.StopTimeout, releases leadership, and returns nil; it
// returns an error for bad jobs or options, or when a job did not stop in time.
func Run(ctx context.Context, dsn string, jobs []Job, opts Options) error {
	opts = opts.withDefaults()
	log := opts.Logger.With("instance", opts.Instance)
	if err := checkJobs(jobs, opts); err != nil {
		return err
	}
	cc, err := pgx.ParseConfig(dsn)
	if err != nil {
		return fmt.Errorf("schedule: parse database URL: %w", err)
	}
	el := &elector{cfg: cc, app: "aispend schedule " + opts.Instance, lock: opts.LockName, log: log}
	s, err := newScheduler(el, jobs, opts, log)
	if err != nil {
		return err
	}

	stopWatch := make(chan struct{})
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		el.watch(stopWatch, opts.CheckEvery)
	}()
	s.Start()
	logNextRuns(s, jobs, opts.Location, log)

	<-ctx.Done()
	log.Info("scheduler stopping: cancelling running jobs")
	sctx, cancel := context.WithTimeout(context.Background(), opts.StopTimeout+5*time.Second)
	defer cancel()
	err = s.ShutdownWithContext(sctx)
	// Release leadership only after the jobs have stopped, so that no other replica starts a
	// job while ours still runs.
	close(stopWatch)
	<-watchDone
	el.close()
	if err != nil {
		return fmt.Errorf("schedule: stop: %w", err)
	}
	log.Info("scheduler stopped")
	return nil
}

// withDefaults fills the options left zero.
func (opts Options) withDefaults() Options {
	if opts.Location == nil {
		opts.Location = time.UTC
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.LockName == "" {
		opts.LockName = DefaultLockName
	}
	if opts.Instance == "" {
		host, _ := os.Hostname()
		opts.Instance = host + ":" + strconv.Itoa(os.Getpid())
	}
	if opts.CheckEvery <= 0 {
		opts.CheckEvery = 5 * time.Second
	}
	if opts.StopTimeout <= 0 {
		opts.StopTimeout = 30 * time.Second
	}
	return opts
}

// checkJobs refuses an empty list, and jobs without a unique name, a function or a valid cron
// expression.
func checkJobs(jobs []Job, opts Options) error {
	if len(jobs) == 0 {
		return errors.New("schedule: no jobs to run")
	}
	seen := map[string]bool{}
	for i, j := range jobs {
		switch {
		case j.Name == "":
			return fmt.Errorf("schedule: job %d has no name", i)
		case seen[j.Name]:
			return fmt.Errorf("schedule: job name %q used twice", j.Name)
		case j.Run == nil:
			return fmt.Errorf("schedule: job %q has no function", j.Name)
		}
		seen[j.Name] = true
		if err := checkCron(j.Cron, opts.Seconds, opts.Location); err != nil {
			return fmt.Errorf("schedule: job %q: %w", j.Name, err)
		}
	}
	return nil
}

// newScheduler makes the gocron scheduler of jobs, led by el: each job in singleton mode, so
// that a tick is skipped while the job's previous run still goes.
func newScheduler(el *elector, jobs []Job, opts Options, log *slog.Logger) (gocron.Scheduler, error) {
	s, err := gocron.NewScheduler(
		gocron.WithLocation(opts.Location),
		gocron.WithDistributedElector(el),
		gocron.WithStopTimeout(opts.StopTimeout),
		gocron.WithLogger(log.With("component", "gocron")),
	)
	if err != nil {
		return nil, fmt.Errorf("schedule: create scheduler: %w", err)
	}
	for _, j := range jobs {
		_, err := s.NewJob(
			gocron.CronJob(j.Cron, opts.Seconds),
			gocron.NewTask(task(el, j, log)),
			gocron.WithName(j.Name),
			gocron.WithSingletonMode(gocron.LimitModeReschedule),
		)
		if err != nil {
			_ = s.Shutdown()
			return nil, fmt.Errorf("schedule: add job %q: %w", j.Name, err)
		}
	}
	return s, nil
}

func logNextRuns(s gocron.Scheduler, jobs []Job, loc *time.Location, log *slog.Logger) {
	next := map[string]time.Time{}
	for _, j := range s.Jobs() {
		next[j.Name()], _ = j.NextRun()
	}
	for _, j := range jobs {
		log.Info("job scheduled", "job", j.Name, "cron", j.Cron, "next_run", next[j.Name].In(loc))
	}
}

// task wraps a job for gocron: it runs only within a leadership term, and logs the outcome
// (the one place job errors are logged).
func task(el *elector, j Job, log *slog.Logger) func(context.Context) {
	log = log.With("job", j.Name)
	return func(jobCtx context.Context) {
		term := el.termContext()
		if term == nil {
			return // leadership lost between gocron's check and now
		}
		ctx, cancel := context.WithCancelCause(jobCtx)
		defer cancel(nil)
		stop := context.AfterFunc(term, func() { cancel(context.Cause(term)) })
		defer stop()

		start := time.Now()
		log.Info("job started")
		err := runSafely(ctx, j.Run)
		attrs := []any{"duration", time.Since(start).Round(time.Millisecond)}
		switch {
		case err != nil && ctx.Err() != nil:
			log.Warn("job stopped", append(attrs, "error", err, "cause", context.Cause(ctx))...)
		case err != nil:
			log.Error("job failed", append(attrs, "error", err)...)
		default:
			log.Info("job finished", attrs...)
		}
	}
}

// runSafely turns a panic in a job into an error, so that one bad run does not stop the
// scheduler.
func runSafely(ctx context.Context, run func(context.Context) error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
		}
	}()
	return run(ctx)
}
