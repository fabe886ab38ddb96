/*
Package patterns finds unusual stretches in per-minute metrics of
executions, and forecasts executions per hour.

A [Series] judges one metric of one scope (a workspace, or one agent in it)
minute by minute. It is seeded once with the hour rollups of the last weeks,
then fed every minute as it closes:

	s := patterns.NewSeries(patterns.Throughput)
	for _, h := range hours { // oldest first
		s.SeedHour(h.Start, h.Count/60, h.Count)
	}
	for each closed minute {
		a, f := s.Add(patterns.Point{T: minute, Value: count, N: count})
		// a: what was expected of the minute and how far out it was.
		// f: non-nil when a finding opened, grew, escalated or closed.
	}

The four metrics are [Throughput] (executions finished in the minute),
[ErrorRate] (failed and timed out over finished, in the 5 minutes ending
with the minute), and [DurationP95] and [QueueWaitP95] (the 95th percentile
of run time and of queue wait in those 5 minutes). A minute is judged only
when it has data: always for throughput, with at least 20 executions behind
it for the others.

# Scales

Each metric is compared on a scale where its sampling noise is about
constant and nearly normal, so one threshold serves every volume:

  - Counts on the square-root scale √(x+3/8): a Poisson count has noise 1/2
    there whatever its rate, and the long right tail of small counts (a quiet
    night) does not look like a burst.
  - Error rates on the arcsine scale asin √((pN+3/8)/(N+3/4)): a binomial
    proportion has noise 1/(2√N) there, √(p(1-p)/N) translated, which stays
    finite when no error is expected.
  - p95s on the log scale: the noise of a percentile is relative, about c/√N.

The expected value on that scale is the mean of the transformed value, not
the transform of the expected value: for a count expected at 0.5 a minute
they differ by a tenth of the noise, and over half an hour of quiet minutes
that would read as a drop.

# Baselines

A minute is compared with one of three baselines ([Series.Baseline] tells
which comes next).

seasonal: the same hour on earlier weeks (the median of up to four, once
three are known and half of the last 72 hours have such a profile to read
the level from), else the same hour on earlier days (the median of up to
seven, once three are known). History is kept per hour; a minute's expected
value is interpolated between the centres of the hours around it, so the
shape of a daily cycle within an hour is not a change. The profile is then
moved to the recent level: how far the last 72 hours (weekly) or 3 hours
(daily, which follows a weekend's dip that way) ran from their own profile,
a ratio for counts and a shift on the scale for the others. So trends and
busier weeks are followed, while a change within a day moves the weekly
level little.

robust: the median of the last hour's minutes. Its spread is the MAD of the
last two hours' minutes together with half the distance between the medians
of the two hours: during a daily ramp the median lags, and the spread grows
by that lag instead of the ramp passing for a change. It serves the first
three days, and hours whose profile has too little data.

none: under 30 minutes of data in the last two hours and no profile.

# Noise

A minute's standard deviation on its scale has two parts.

The noise of the minute is the sampling noise of its metric times a
dispersion factor learnt from the series: the running mean square, over
about six hours, of the difference between a minute's standardized residual
and the one a window earlier (five minutes for the trailing metrics, whose
windows share executions until then). Differences cancel the level, so a
change the baseline has not followed does not inflate the noise that is
meant to reveal it. The factor is at least 1 for counts and error rates,
whose sampling noise is a true floor. A p95's noise is widened upwards by
1 + 2/√N: the high percentile of a small sample has a long right tail.

The level error is how far the baseline's hourly predictions missed over the
past week, beyond their sampling noise (the Paule-Mandel estimate of the
extra variance), and at least 3% (weekly) or 10% (daily) for counts and
p95s, 0.01 or 0.03 on the arcsine scale for error rates. The daily baseline
adds how far its level moved from the three hours before, since it lags
when the level moves (into and out of a weekend). The level error does not
shrink with more minutes.

# Scores and findings

A minute's score is its deviation in standard deviations, signed. The
weekly baseline also scores the mean of the last 30 minutes (those not
already beyond the warning score), in standard deviations of such a mean:
sampling noise shrinks with the minutes, the level error does not. A
minute's [Assessment.Score] is the stronger of the two when the minute lies
on the side of the mean.

A finding opens at a minute whose score reaches [WarningScore] (5): a burst
in its first minute, a slow change (a drift of a few percent an hour, an
error rate creeping up) once the 30-minute mean is 5 deviations out. A drop
below [CriticalScore] (8) needs a second minute to confirm it, and opens at
the first: counts cannot go below zero, and near zero their lower tail is
where the square-root scale is weakest. Severity is critical from 8.

While open, a minute extends the finding when it is as far out as the
warning score, or closer to the finding's own level (the mean deviation of
its minutes) than to normal. Otherwise it is evidence that the series is
back: the log likelihood ratio of "normal" against "at the finding's level"
accumulates, and the finding closes once it reaches 4.6 (100 to 1) after at
least 3 such minutes. A big spike thus closes three minutes after it ends; a
subtle shift needs more minutes to tell its end from noise. A minute as far
out the other way ends the finding and begins another, reported at the next
minute. A finding also closes after 30 minutes without a judged minute.

# Learning

Every minute is folded into the series' own hourly history, so the
baseline keeps learning after seeding. It learns the minute clipped to 3
deviations from what was expected, and an anomalous minute to 1: an outage
or a burst does not drag the baseline along, yet a lasting change, or a
baseline gone wrong, pulls it a little every minute. A change that holds a
finding open for 6 hours becomes the new normal: the finding closes, and the
level is read from the hours since the change began alone, as observed. If
within a day the series returns to the level the change replaced, the
minute that would open a finding for the return restores the old level
instead: the change is over, and the old normal is not news.

# Forecasts

[Hourly] forecasts executions per hour: a seasonal shape (hours of the day,
or of the week with two full weeks of history) times a level read from the
last hours, growing at the trend between whole recent days or weeks. Its 90%
interval comes from the errors it made forecasting each of the last two
weeks' days from the days before it.

A Series is not safe for concurrent use. docs/DETECTION.md gives the measured
quality of both.
*/
package patterns
