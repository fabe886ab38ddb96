package metrics

import (
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the tz cases must not depend on the host's zoneinfo

	"github.com/shadower/shadower/internal/execution"
	"github.com/shadower/shadower/internal/rollup"
)

// now is the fixed present of these tests: 2026-03-04 12:07:30 UTC, inside
// a minute, an hour and a day, so every step's alignment moves it.
var now = time.Date(2026, 3, 4, 12, 7, 30, 0, time.UTC)

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func query(kv ...string) url.Values {
	q := url.Values{}
	for i := 0; i < len(kv); i += 2 {
		q.Add(kv[i], kv[i+1])
	}
	return q
}

func TestParseWindowTimeframes(t *testing.T) {
	cases := []struct {
		tf   string
		now  time.Time
		step int64
		to   time.Time
	}{
		{"1h", now, 60, utc("2026-03-04T12:08:00Z")},
		{"6h", now, 300, utc("2026-03-04T12:10:00Z")},
		{"24h", now, 900, utc("2026-03-04T12:15:00Z")},
		{"7d", now, 3600, utc("2026-03-04T13:00:00Z")},
		{"30d", now, 21600, utc("2026-03-04T18:00:00Z")},
		{"90d", now, 86400, utc("2026-03-05T00:00:00Z")},
		// now on a boundary: the last bucket starts at now.
		{"1h", utc("2026-03-04T12:00:00Z"), 60, utc("2026-03-04T12:01:00Z")},
		{"24h", utc("2026-03-04T12:00:00Z"), 900, utc("2026-03-04T12:15:00Z")},
		{"90d", utc("2026-03-04T00:00:00Z"), 86400, utc("2026-03-05T00:00:00Z")},
		// now with a fraction of a second, just before a boundary.
		{"7d", utc("2026-03-04T12:59:59.999999999Z"), 3600, utc("2026-03-04T13:00:00Z")},
	}
	for _, c := range cases {
		name := c.tf + " at " + c.now.Format(time.RFC3339Nano)
		w, err := ParseWindow(query("timeframe", c.tf), c.now)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		length := Timeframes[c.tf].Length
		if w.Timeframe != c.tf || w.Step != c.step {
			t.Errorf("%s: timeframe %q step %d, want %q %d", name, w.Timeframe, w.Step, c.tf, c.step)
		}
		if !w.To.Equal(c.to) || !w.From.Equal(c.to.Add(-length)) {
			t.Errorf("%s: [%s, %s), want [%s, %s)", name, w.From, w.To, c.to.Add(-length), c.to)
		}
		checkAligned(t, name, w)
		if got := w.To.Sub(w.From); got != length {
			t.Errorf("%s: length %v, want %v", name, got, length)
		}
		last := w.To.Add(-time.Duration(w.Step) * time.Second)
		if c.now.Before(last) || !c.now.Before(w.To) {
			t.Errorf("%s: last bucket [%s, %s) does not hold now", name, last, w.To)
		}
		if w.TZ != time.UTC || len(w.Agents) != 0 {
			t.Errorf("%s: tz %v agents %v, want UTC and none", name, w.TZ, w.Agents)
		}
	}
}

func checkAligned(t *testing.T, name string, w Window) {
	t.Helper()
	if w.From.Location() != time.UTC || w.To.Location() != time.UTC {
		t.Errorf("%s: bounds not in UTC: %v %v", name, w.From.Location(), w.To.Location())
	}
	if w.From.Unix()%w.Step != 0 || w.To.Unix()%w.Step != 0 || w.From.Nanosecond() != 0 || w.To.Nanosecond() != 0 {
		t.Errorf("%s: [%s, %s) not aligned to a step of %d", name, w.From, w.To, w.Step)
	}
	if n := (w.To.Unix() - w.From.Unix()) / w.Step; n < 1 || n > MaxBuckets {
		t.Errorf("%s: %d buckets", name, n)
	}
}

func TestParseWindowDefault(t *testing.T) {
	for _, q := range []url.Values{{}, query("timeframe", ""), query("agent_id", "a")} {
		w, err := ParseWindow(q, now)
		if err != nil {
			t.Fatalf("%v: %v", q, err)
		}
		if w.Timeframe != "24h" || w.Step != 900 || !w.To.Equal(utc("2026-03-04T12:15:00Z")) || w.To.Sub(w.From) != 24*time.Hour {
			t.Errorf("%v: %+v, want the 24h timeframe", q, w)
		}
	}
}

func TestParseWindowCustom(t *testing.T) {
	cases := []struct {
		name     string
		from, to string
		step     string
		wantStep int64
		wantFrom string
		wantTo   string
	}{
		{"unaligned, default step", "2026-03-01T10:07:00Z", "2026-03-01T11:53:20Z", "", 300,
			"2026-03-01T10:05:00Z", "2026-03-01T11:55:00Z"},
		{"exact boundaries kept", "2026-03-01T10:00:00Z", "2026-03-01T11:00:00Z", "300", 300,
			"2026-03-01T10:00:00Z", "2026-03-01T11:00:00Z"},
		{"a fraction past a boundary widens", "2026-03-01T10:00:00.5Z", "2026-03-01T11:00:00.000000001Z", "300", 300,
			"2026-03-01T10:00:00Z", "2026-03-01T11:05:00Z"},
		{"a fraction before a boundary", "2026-03-01T09:59:59.9Z", "2026-03-01T10:59:59.9Z", "300", 300,
			"2026-03-01T09:55:00Z", "2026-03-01T11:00:00Z"},
		{"offsets, minute step", "2026-03-01T12:07:00+02:00", "2026-03-01T06:00:00-05:00", "60", 60,
			"2026-03-01T10:07:00Z", "2026-03-01T11:00:00Z"},
		{"hour step", "2026-03-01T10:30:00Z", "2026-03-01T12:30:00Z", "3600", 3600,
			"2026-03-01T10:00:00Z", "2026-03-01T13:00:00Z"},
		{"day step", "2026-02-20T10:30:00Z", "2026-03-01T12:30:00Z", "86400", 86400,
			"2026-02-20T00:00:00Z", "2026-03-02T00:00:00Z"},
		{"one hour: minute step", "2026-03-01T10:00:00Z", "2026-03-01T11:00:00Z", "", 60,
			"2026-03-01T10:00:00Z", "2026-03-01T11:00:00Z"},
		{"six hours: 5 minutes", "2026-03-01T10:00:00Z", "2026-03-01T16:00:00Z", "", 300,
			"2026-03-01T10:00:00Z", "2026-03-01T16:00:00Z"},
		{"two days: hours", "2026-03-01T10:20:00Z", "2026-03-03T10:20:00Z", "", 3600,
			"2026-03-01T10:00:00Z", "2026-03-03T11:00:00Z"},
		{"ten days: 6 hours", "2026-02-20T01:00:00Z", "2026-03-02T01:00:00Z", "", 21600,
			"2026-02-20T00:00:00Z", "2026-03-02T06:00:00Z"},
		{"99 days: days", "2025-11-25T12:00:00Z", "2026-03-04T12:00:00Z", "", 86400,
			"2025-11-25T00:00:00Z", "2026-03-05T00:00:00Z"},
		{"exactly 400 days", "2025-01-28T12:07:30Z", "2026-03-04T12:07:30Z", "", 86400,
			"2025-01-28T00:00:00Z", "2026-03-05T00:00:00Z"},
		{"exactly 2000 buckets", "2026-03-01T00:00:00Z", "2026-03-02T09:20:00Z", "60", 60,
			"2026-03-01T00:00:00Z", "2026-03-02T09:20:00Z"},
	}
	for _, c := range cases {
		q := query("from", c.from, "to", c.to)
		if c.step != "" {
			q.Set("step", c.step)
		}
		w, err := ParseWindow(q, now)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if w.Timeframe != "custom" || w.Step != c.wantStep || !w.From.Equal(utc(c.wantFrom)) || !w.To.Equal(utc(c.wantTo)) {
			t.Errorf("%s: %q step %d [%s, %s), want custom step %d [%s, %s)", c.name, w.Timeframe, w.Step,
				w.From.Format(time.RFC3339), w.To.Format(time.RFC3339), c.wantStep, c.wantFrom, c.wantTo)
		}
		checkAligned(t, c.name, w)
		// The window holds all that was asked for, and less than a step more at each end.
		from, to := utc(c.from), utc(c.to)
		step := time.Duration(w.Step) * time.Second
		if w.From.After(from) || w.To.Before(to) || from.Sub(w.From) >= step || w.To.Sub(to) >= step {
			t.Errorf("%s: [%s, %s) does not tightly hold [%s, %s)", c.name, w.From, w.To, from, to)
		}
	}
}

func TestParseWindowStepOnTimeframe(t *testing.T) {
	w, err := ParseWindow(query("timeframe", "24h", "step", "3600"), now)
	if err != nil {
		t.Fatal(err)
	}
	if w.Step != 3600 || !w.To.Equal(utc("2026-03-04T13:00:00Z")) || w.To.Sub(w.From) != 24*time.Hour {
		t.Errorf("24h step 3600: %+v", w)
	}
	w, err = ParseWindow(query("timeframe", "7d", "step", "86400"), now)
	if err != nil {
		t.Fatal(err)
	}
	if w.Step != 86400 || !w.To.Equal(utc("2026-03-05T00:00:00Z")) || w.To.Sub(w.From) != 7*24*time.Hour {
		t.Errorf("7d step 86400: %+v", w)
	}
}

func TestParseWindowRefusals(t *testing.T) {
	long := strings.Repeat("a", execution.MaxIDLen+1)
	cases := []struct {
		name  string
		q     url.Values
		where string
	}{
		{"unknown timeframe", query("timeframe", "2h"), "timeframe"},
		{"timeframe is case sensitive", query("timeframe", "24H"), "timeframe"},
		{"only from", query("from", "2026-03-01T10:00:00Z"), "to"},
		{"only to", query("to", "2026-03-01T10:00:00Z"), "from"},
		{"from equals to", query("from", "2026-03-01T10:00:00Z", "to", "2026-03-01T10:00:00Z"), "from"},
		{"from after to", query("from", "2026-03-01T11:00:00Z", "to", "2026-03-01T10:00:00Z"), "from"},
		{"from equals to across offsets", query("from", "2026-03-01T12:00:00+02:00", "to", "2026-03-01T10:00:00Z"), "from"},
		{"from not a time", query("from", "yesterday", "to", "2026-03-01T10:00:00Z"), "from"},
		{"to without an offset", query("from", "2026-03-01T10:00:00Z", "to", "2026-03-01T11:00:00"), "to"},
		{"unix seconds", query("from", "1772359200", "to", "1772362800"), "from"},
		{"over 400 days", query("from", "2025-01-28T12:07:29Z", "to", "2026-03-04T12:07:30Z"), "from"},
		{"over 400 days, step given", query("from", "2024-01-01T00:00:00Z", "to", "2026-01-01T00:00:00Z", "step", "86400"), "from"},
		{"step 0", query("step", "0"), "step"},
		{"step -5", query("step", "-5"), "step"},
		{"step -60", query("step", "-60"), "step"},
		{"step abc", query("step", "abc"), "step"},
		{"step 1.5", query("step", "1.5"), "step"},
		{"step 60s", query("step", "60s"), "step"},
		{"step 90", query("step", "90"), "step"},
		{"step 30", query("timeframe", "1h", "step", "30"), "step"},
		{"7d in minutes: over 2000 buckets", query("timeframe", "7d", "step", "60"), "step"},
		{"90d in hours: over 2000 buckets", query("timeframe", "90d", "step", "3600"), "step"},
		{"custom 2001 buckets", query("from", "2026-03-01T00:00:00Z", "to", "2026-03-02T09:21:00Z", "step", "60"), "step"},
		{"custom 2001 buckets after alignment", query("from", "2026-03-01T00:00:30Z", "to", "2026-03-02T09:20:30Z", "step", "60"), "step"},
		{"timeframe with from and to", query("timeframe", "24h", "from", "2026-03-01T10:00:00Z", "to", "2026-03-01T11:00:00Z"), "timeframe"},
		{"bad agent_id", query("agent_id", "bad id"), "agent_id"},
		{"empty agent_id", query("agent_id", ""), "agent_id"},
		{"agent_id too long", query("agent_id", long), "agent_id"},
		{"agent_id with *", query("agent_id", "*"), "agent_id"},
		{"second agent_id bad", query("agent_id", "ok", "agent_id", "not/ok!"), "agent_id"},
		{"unknown tz", query("tz", "Mars/Olympus_Mons"), "tz"},
		{"tz Local", query("tz", "Local"), "tz"},
		{"tz path", query("tz", "../../etc/passwd"), "tz"},
		// Minute rows are kept 14 days and hour rows 400: a window starting
		// before then must use a step the coarser tier tiles.
		{"minute step past minute retention", query("from", "2026-02-15T00:00:00Z", "to", "2026-02-16T00:00:00Z", "step", "60"), "step"},
		{"5 minute step past minute retention", query("from", "2026-02-15T00:00:00Z", "to", "2026-02-16T00:00:00Z", "step", "300"), "step"},
		{"hour step past hour retention", query("from", "2025-01-01T00:00:00Z", "to", "2025-01-20T00:00:00Z", "step", "3600"), "step"},
	}
	for _, c := range cases {
		w, err := ParseWindow(c.q, now)
		var e *execution.Error
		if !errors.As(err, &e) {
			t.Errorf("%s: %v: got %+v, %v; want an *execution.Error", c.name, c.q, w, err)
			continue
		}
		if e.Code != execution.EInvalid || e.Where != c.where || e.Message == "" {
			t.Errorf("%s: code %q where %q (%s), want %q at %q", c.name, e.Code, e.Where, e.Message, execution.EInvalid, c.where)
		}
		if execution.ErrorCode(err) != execution.EInvalid {
			t.Errorf("%s: ErrorCode %q", c.name, execution.ErrorCode(err))
		}
	}
}

// TestParseWindowRetentionAllowed is the other side of the retention
// refusals: the same old windows with a step the kept tier tiles.
func TestParseWindowRetentionAllowed(t *testing.T) {
	for _, q := range []url.Values{
		query("from", "2026-02-15T00:00:00Z", "to", "2026-02-16T00:00:00Z", "step", "3600"),
		query("from", "2026-02-25T00:00:00Z", "to", "2026-02-26T00:00:00Z", "step", "60"), // within 14 days
		query("from", "2025-01-01T00:00:00Z", "to", "2025-01-20T00:00:00Z", "step", "86400"),
		query("timeframe", "30d"), query("timeframe", "90d"), query("timeframe", "7d"),
	} {
		if _, err := ParseWindow(q, now); err != nil {
			t.Errorf("%v: %v", q, err)
		}
	}
}

func TestParseWindowAgentsAndTZ(t *testing.T) {
	w, err := ParseWindow(query("timeframe", "1h", "agent_id", "agent-1", "agent_id", "team/agent.2@v3", "agent_id", "a:b_c"), now)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"agent-1", "team/agent.2@v3", "a:b_c"}; !slices.Equal(w.Agents, want) {
		t.Errorf("agents %v, want %v in order", w.Agents, want)
	}
	for _, tz := range []string{"Europe/Paris", "America/New_York", "Asia/Kolkata", "UTC"} {
		w, err := ParseWindow(query("tz", tz), now)
		if err != nil {
			t.Errorf("tz %s: %v", tz, err)
			continue
		}
		if w.TZ == nil || w.TZ.String() != tz {
			t.Errorf("tz %s: loaded %v", tz, w.TZ)
			continue
		}
		// The zone is real, and does not move the UTC alignment.
		if tz == "Europe/Paris" {
			if _, off := now.In(w.TZ).Zone(); off != 3600 {
				t.Errorf("Europe/Paris offset in March: %d", off)
			}
		}
		if !w.To.Equal(utc("2026-03-04T12:15:00Z")) {
			t.Errorf("tz %s moved the window to %s", tz, w.To)
		}
	}
}

func TestWindowPrevious(t *testing.T) {
	w, err := ParseWindow(query("timeframe", "7d"), now)
	if err != nil {
		t.Fatal(err)
	}
	p := w.Previous()
	if !p.To.Equal(w.From) || p.To.Sub(p.From) != w.To.Sub(w.From) || p.Step != w.Step {
		t.Errorf("previous of [%s, %s) is [%s, %s) step %d", w.From, w.To, p.From, p.To, p.Step)
	}
}

// TestParseWindowStepBounded: a step is a bucket width, so an accepted
// window stays a real window: From before To, at most MaxWindow long (plus
// the widening to whole steps), and times the API can encode. A step far
// above the window's length must be refused rather than stretch it.
func TestParseWindowStepBounded(t *testing.T) {
	for _, q := range []url.Values{
		query("timeframe", "1h", "step", "86400000"),  // 1000 days
		query("timeframe", "24h", "step", "34560000"), // 400 days
		query("timeframe", "1h", "step", "9223372036854720000"),
		query("from", "2026-03-01T10:00:00Z", "to", "2026-03-01T11:00:00Z", "step", "315360000"), // 10 years
		query("from", "2000-01-01T00:00:00Z", "to", "2000-01-01T00:00:00.5Z", "step", "9223372036854720000"),
	} {
		w, err := ParseWindow(q, now)
		if err != nil {
			var e *execution.Error
			if !errors.As(err, &e) || e.Where != "step" {
				t.Errorf("%v: refused with %v, want the step named", q, err)
			}
			continue
		}
		_, jerr := w.To.MarshalJSON()
		if !w.From.Before(w.To) || w.To.Sub(w.From) > MaxWindow+24*time.Hour || jerr != nil {
			t.Errorf("%v: accepted as [%s, %s) (%v long, %d s steps): want a refusal or a window of at most 400 days",
				q, w.From, w.To, w.To.Sub(w.From), w.Step)
		}
	}
}

// TestParseWindowPreviousWithinRetention: the comparison section and the
// throughput trend read the window just before this one (Window.Previous)
// through rollup.Cover, so the retention refusal must hold for it too:
// otherwise its edges are read from minute rows already expired and the
// previous figures silently miss them.
func TestParseWindowPreviousWithinRetention(t *testing.T) {
	for _, q := range []url.Values{
		// Starts 13.5 days ago: inside minute retention; its previous day
		// begins at 00:15 fourteen and a half days ago.
		query("from", "2026-02-19T00:15:00Z", "to", "2026-02-20T00:15:00Z", "step", "900"),
		// Controls: the previous window's edges are whole hours, or recent.
		query("from", "2026-02-18T18:00:00Z", "to", "2026-02-19T18:00:00Z", "step", "60"),
		query("from", "2026-02-19T00:00:00Z", "to", "2026-02-20T00:00:00Z", "step", "3600"),
		query("timeframe", "24h"),
		query("timeframe", "6h"),
	} {
		w, err := ParseWindow(q, now)
		if err != nil {
			continue // refusing is the other correct answer
		}
		p := w.Previous()
		for _, sp := range rollup.Cover(p.From.Unix(), p.To.Unix(), rollup.Day) {
			if sp.Tier == rollup.Day {
				continue
			}
			cutoff := now.Add(-rollup.Retention[sp.Tier])
			if sp.From < cutoff.Unix() {
				t.Errorf("%v: accepted, but its previous window [%s, %s) reads %s rows from %s, before they are kept (%s)",
					q, p.From.Format(time.RFC3339), p.To.Format(time.RFC3339), sp.Tier,
					time.Unix(sp.From, 0).UTC().Format(time.RFC3339), cutoff.Format(time.RFC3339))
			}
		}
	}
}

// TestParseWindowYears refuses windows outside the years an answer can hold.
func TestParseWindowYears(t *testing.T) {
	for _, q := range []url.Values{
		query("from", "1969-12-31T23:00:00Z", "to", "1970-01-01T00:00:00.5Z"),
		query("from", "9999-12-30T00:00:00Z", "to", "9999-12-31T23:59:59.5Z", "step", "86400"),
		query("from", "0001-01-01T00:00:00Z", "to", "0002-02-05T00:00:00Z", "step", "86400"),
	} {
		_, err := ParseWindow(q, now)
		var e *execution.Error
		if !errors.As(err, &e) || e.Where != "from" {
			t.Errorf("%v: %v, want from refused", q, err)
		}
	}
}
