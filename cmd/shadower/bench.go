package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/shadower/shadower/internal/bench"
)

// runBench is `shadower bench`: the service's figures, measured end to end.
func runBench(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	quick := fs.Bool("quick", false, "a small run of under two minutes")
	sizes := fs.String("sizes", "", "executions stored at each measurement, growing (default 1000000,3000000,10000000; quick 30000,90000)")
	pg := fs.String("pg", "postgres://postgres@127.0.0.1:5432/postgres", "PostgreSQL server for its store and the naive design ('' to skip)")
	pgExecutions := fs.Int("pg-executions", 0, "executions loaded into the PostgreSQL store (default 1000000; quick 30000)")
	repeat := fs.Int("repeat", 0, "requests per endpoint and window (default 100; quick 30)")
	wsClients := fs.Int("ws-clients", -1, "WebSocket clients of the fan-out measurement (default 10000; quick 2000; 0 skips it)")
	live := fs.Int("live", -1, "executions posted as live traffic after the stages, on each store (default 1000000; quick 30000; 0 skips it)")
	clients := fs.Int("clients", 0, "concurrent ingest clients, each posting 1,000-event batches (default 4)")
	ids := fs.String("ids", "ordered", "execution ids: ordered (as made: a sequence, ULID or UUIDv7 would be) or random (UUIDv4)")
	dir := fs.String("data", "", "directory for the embedded store (default a temporary one, removed after)")
	jsonOut := fs.String("json", "", "also write the figures as JSON to this file")
	svgOut := fs.String("svg", "", "also write a chart of the p99 figures as SVG to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	o := bench.Full()
	if *quick {
		o = bench.Quick()
	}
	if *sizes != "" {
		o.Sizes = nil
		for _, s := range strings.Split(*sizes, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil || n <= 0 || (len(o.Sizes) > 0 && n <= o.Sizes[len(o.Sizes)-1]) {
				return fmt.Errorf("--sizes: %q is not a growing list of positive counts", *sizes)
			}
			o.Sizes = append(o.Sizes, n)
		}
	}
	if *pgExecutions > 0 {
		o.PGExecutions = *pgExecutions
	}
	if *repeat > 0 {
		o.Repeat = *repeat
	}
	if *live >= 0 {
		o.Live = *live
	}
	if *clients > 0 {
		o.Clients = *clients
	}
	if *wsClients >= 0 {
		o.WSClients = *wsClients
	}
	switch *ids {
	case "ordered":
	case "random":
		o.RandomIDs = true
	default:
		return fmt.Errorf("--ids: %q is neither ordered nor random", *ids)
	}
	o.PG, o.Dir, o.Log = *pg, *dir, os.Stderr
	bin, err := os.Executable()
	if err != nil {
		return err
	}
	o.Bin = bin
	r, err := bench.Run(ctx, o)
	if err != nil {
		return err
	}
	r.Markdown(os.Stdout)
	if *svgOut != "" {
		if err := r.WriteSVG(*svgOut); err != nil {
			return err
		}
	}
	if *jsonOut != "" {
		return r.WriteJSON(*jsonOut)
	}
	return nil
}
