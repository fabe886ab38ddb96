package bench

import (
	"fmt"
	"io"
	"math"
	"os"
)

// charted are the requests the chart shows: the combined answers and the
// slowest sections over the longest windows, and realtime.
var charted = []string{"all 30d", "all 90d", "performance 90d", "queue 90d", "throughput 30d", "latency 90d", "comparison 90d", "realtime"}

// WriteSVG writes a bar chart of each charted request's p99 at every size
// of the embedded store, with the targets drawn across, to path.
func (r *Result) WriteSVG(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	r.svg(f)
	return f.Close()
}

func (r *Result) svg(out io.Writer) {
	const (
		width, height        = 860, 360
		left, right          = 60, 850
		top, bottom          = 30, 300
		allTarget, oneTarget = 20.0, 10.0
	)
	p := func(format string, args ...any) { fmt.Fprintf(out, format+"\n", args...) }
	top99 := allTarget
	for _, st := range r.Stages {
		for _, name := range charted {
			top99 = math.Max(top99, st.Queries[name].P99Ms)
		}
	}
	step := 5.0
	for top99/step > 14 {
		step *= 2
	}
	scaleMax := math.Ceil(top99/step) * step
	y := func(v float64) float64 { return bottom - v/scaleMax*(bottom-top) }
	colors := []string{"#93c5fd", "#3b82f6", "#1e3a8a", "#172554"}

	p(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="11">`, width, height)
	p(`<rect width="%d" height="%d" fill="white"/>`, width, height)
	p(`<text x="%d" y="18" font-size="13" font-weight="bold">p99 ms per request as the embedded store grows (shadower bench)</text>`, left)
	for v := 0.0; v <= scaleMax; v += step {
		p(`<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#e5e7eb"/>`, left, right, y(v), y(v))
		p(`<text x="%d" y="%.1f" text-anchor="end" fill="#6b7280">%g</text>`, left-6, y(v)+4, v)
	}
	for _, t := range []struct {
		v     float64
		label string
	}{{oneTarget, "target, one section (10 ms)"}, {allTarget, "target, all sections 30d (20 ms)"}} {
		p(`<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#dc2626" stroke-dasharray="5,4"/>`, left, right, y(t.v), y(t.v))
		p(`<text x="%d" y="%.1f" text-anchor="end" fill="#dc2626">%s</text>`, right-2, y(t.v)-4, t.label)
	}
	group := float64(right-left) / float64(len(charted))
	bar := group * 0.8 / float64(max(len(r.Stages), 1))
	for i, name := range charted {
		x0 := float64(left) + float64(i)*group + group*0.1
		for j, st := range r.Stages {
			v := st.Queries[name].P99Ms
			p(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s at %s: p99 %g ms</title></rect>`,
				x0+float64(j)*bar, y(v), bar-2, bottom-y(v), colors[j%len(colors)], name, count(st.Executions), v)
		}
		p(`<text x="%.1f" y="%d" text-anchor="middle">%s</text>`, x0+group*0.4, bottom+16, name)
	}
	for j, st := range r.Stages {
		x := left + j*150
		p(`<rect x="%d" y="%d" width="12" height="12" fill="%s"/>`, x, bottom+32, colors[j%len(colors)])
		p(`<text x="%d" y="%d">%s executions</text>`, x+18, bottom+42, count(st.Executions))
	}
	p(`</svg>`)
}
