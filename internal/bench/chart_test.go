package bench

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// TestSVGBarsMatchFigures: the chart is well-formed, has one bar per
// charted request and size, and each bar's height is its p99 on the
// chart's scale.
func TestSVGBarsMatchFigures(t *testing.T) {
	r := &Result{}
	for i, n := range []int{1000, 3000} {
		st := Stage{Executions: n, Queries: map[string]Latency{}}
		for j, name := range charted {
			st.Queries[name] = Latency{P99Ms: float64(1+i) * float64(j+1) * 1.5}
		}
		r.Stages = append(r.Stages, st)
	}
	var b bytes.Buffer
	r.svg(&b)
	type rect struct {
		Height string `xml:"height,attr"`
		Title  string `xml:"title"`
	}
	var doc struct {
		Rects []rect `xml:"rect"`
	}
	if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("not well-formed: %v", err)
	}
	bars := map[string]float64{}
	for _, rc := range doc.Rects {
		if rc.Title == "" {
			continue
		}
		h, err := strconv.ParseFloat(rc.Height, 64)
		if err != nil {
			t.Fatal(err)
		}
		bars[rc.Title] = h
	}
	if len(bars) != len(charted)*2 {
		t.Fatalf("%d bars, want %d", len(bars), len(charted)*2)
	}
	// The tallest p99 is 24 ms (8 x 1.5 x 2): a 25 ms scale over 270 px.
	for i, st := range r.Stages {
		for _, name := range charted {
			v := st.Queries[name].P99Ms
			title := fmt.Sprintf("%s at %s: p99 %g ms", name, count(st.Executions), v)
			h, ok := bars[title]
			if !ok {
				t.Fatalf("no bar %q (stage %d)", title, i)
			}
			if want := v / 25 * 270; h < want-0.1 || h > want+0.1 {
				t.Errorf("%s: height %.1f, want %.1f", title, h, want)
			}
		}
	}
	if !strings.Contains(b.String(), "target, all sections 30d (20 ms)") {
		t.Error("the 20 ms target line is missing")
	}
}
