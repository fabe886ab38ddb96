// Command shadower serves execution metrics for an AI-agent platform.
//
//	shadower serve --addr 127.0.0.1:8080 --data ./data
//	shadower demo
//	shadower bench --quick
//
// Every flag can also be set as SHADOWER_<FLAG> in the environment.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
	_ "time/tzdata" // by_hour accepts any IANA zone, even where the host has no zone files

	"github.com/shadower/shadower/internal/app"
	"github.com/shadower/shadower/internal/auth"
)

const usage = `usage: shadower <command> [flags]

commands:
  serve            serve the API on the embedded store (--data) or PostgreSQL (--db)
  demo             serve a simulated agent platform with a week of history and live traffic
  migrate          bring the store's schema up to date (--data or --db); with --from <dir>
                   --to <postgres://... | dir>, copy an embedded store's data into another store
  rollups rebuild  recompute the rollups of a range of days from raw rows (--from, --to)
  bench            measure ingest, every endpoint, accuracy, realtime, fan-out and memory
                   end to end, beside the naive design in PostgreSQL (--quick: under 2 minutes)

Run 'shadower <command> -h' for its flags.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	cmd, args := os.Args[1], os.Args[2:]
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	var err error
	switch cmd {
	case "serve", "demo":
		var cfg app.Config
		var profile string
		cfg, err = parseConfigWith(cmd, args, func(fs *flag.FlagSet) {
			fs.StringVar(&profile, "pprof", "", "address to serve Go's profiles on (/debug/pprof/), off when empty; keep it private")
		})
		if err == nil && profile != "" {
			err = serveProfiles(ctx, profile)
		}
		if err == nil && cmd == "serve" {
			err = app.Run(ctx, cfg)
		} else if err == nil {
			err = app.Demo(ctx, cfg, os.Stdout)
		}
	case "migrate":
		err = migrate(ctx, args)
	case "bench":
		err = runBench(ctx, args)
	case "rollups":
		if len(args) == 0 || args[0] != "rebuild" {
			fmt.Fprintf(os.Stderr, "usage: shadower rollups rebuild --from <RFC 3339> --to <RFC 3339> [--data dir | --db url]\n")
			os.Exit(2)
		}
		err = rebuild(ctx, args[1:])
	case "-h", "--help", "help":
		fmt.Print(usage)
		return
	default:
		fmt.Fprintf(os.Stderr, "unknown command %q\n\n%s", cmd, usage)
		os.Exit(2)
	}
	if err != nil {
		slog.Error(cmd+" failed", "err", err)
		os.Exit(1)
	}
}

func rebuild(ctx context.Context, args []string) error {
	var from, to string
	cfg, err := parseConfigWith("rollups rebuild", args, func(fs *flag.FlagSet) {
		fs.StringVar(&from, "from", "", "first day to rebuild (RFC 3339; whole UTC days)")
		fs.StringVar(&to, "to", "", "end of the range (RFC 3339; rounded up to a whole day)")
	})
	if err != nil {
		return err
	}
	f, err := time.Parse(time.RFC3339, from)
	if err != nil {
		return fmt.Errorf("--from: %w", err)
	}
	t, err := time.Parse(time.RFC3339, to)
	if err != nil {
		return fmt.Errorf("--to: %w", err)
	}
	return app.RebuildRollups(ctx, cfg, f, t, os.Stdout)
}

func migrate(ctx context.Context, args []string) error {
	var from, to string
	cfg, err := parseConfigWith("migrate", args, func(fs *flag.FlagSet) {
		fs.StringVar(&from, "from", "", "an embedded store's directory to copy from")
		fs.StringVar(&to, "to", "", "where to copy it: a postgres:// URL or a directory")
	})
	if err != nil {
		return err
	}
	switch {
	case from == "" && to == "":
		return app.MigrateSchema(ctx, cfg)
	case from == "" || to == "":
		return fmt.Errorf("--from and --to go together")
	}
	cfg.DB, cfg.Data = "", to
	if strings.HasPrefix(to, "postgres://") || strings.HasPrefix(to, "postgresql://") {
		cfg.DB, cfg.Data = to, ""
	}
	return app.Migrate(ctx, from, cfg, os.Stdout)
}

// serveProfiles serves net/http/pprof's handlers on their own listener, so
// the API's address never exposes them.
func serveProfiles(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("--pprof: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	context.AfterFunc(ctx, func() { srv.Close() })
	return nil
}

// parseConfigWith parses the common flags and those extra adds.
func parseConfigWith(cmd string, args []string, extra func(*flag.FlagSet)) (app.Config, error) {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	if extra != nil {
		extra(fs)
	}
	defaultData := "./data"
	if cmd == "demo" {
		defaultData = "" // a temporary directory
	}
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	data := fs.String("data", defaultData, "directory of the embedded store")
	db := fs.String("db", "", "PostgreSQL URL (postgres://...) instead of the embedded store")
	maxRun := fs.Duration("max-run-time", 24*time.Hour, "an unfinished execution older than this is reported as stale")
	retention := fs.Duration("retention", 30*24*time.Hour, "how long raw events and executions are kept")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	rate := fs.Float64("workspace-rate", 50_000, "each workspace's ingest limit in events per second (0: none)")
	burst := fs.Float64("workspace-burst", 100_000, "the events a workspace may send at once above its rate")
	// SHADOWER_<FLAG> sets a flag's default; the command line wins.
	fs.VisitAll(func(f *flag.Flag) {
		env := "SHADOWER_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(env); ok {
			f.Value.Set(v)
			f.DefValue = v
		}
	})
	if err := fs.Parse(args); err != nil {
		return app.Config{}, err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return app.Config{}, fmt.Errorf("--log-level: %w", err)
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(logger)
	return app.Config{
		Addr: *addr, Data: *data, DB: *db, MaxRunTime: *maxRun, Retention: *retention,
		WorkspaceRate: *rate, WorkspaceBurst: *burst,
		AdminKey: auth.Secret(os.Getenv("SHADOWER_ADMIN_KEY")), Logger: logger,
	}, nil
}
