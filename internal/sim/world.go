package sim

import (
	"time"
)

// The burst: every simulated day, weekends included, the BurstWorkspace
// receives BurstFactor times its weekday arrival rate from BurstAt UTC for
// BurstLength (15:00-15:10 UTC), as a daily flash sale fires order webhooks. Its
// six worker slots cannot keep up, so the queue wait grows through the burst
// and the backlog drains within minutes after it.
const (
	BurstWorkspace = "globex"
	BurstAt        = 15 * time.Hour // time of day, UTC
	BurstLength    = 10 * time.Minute
	BurstFactor    = 6.0
)

// ProgressEvery is the mean gap between progress events of a long run; runs
// shorter than it report no progress.
const ProgressEvery = 10 * time.Second

// Choice is one weighted option.
type Choice struct {
	Value  string
	Weight float64
}

// ErrorKind is one way an agent fails. Within bounds when in the run the failure
// hits: validation errors come at once, tool errors anywhere.
type ErrorKind struct {
	Type     string
	Weight   float64
	Within   float64 // the failure happens at a uniform fraction [0, Within) of the would-be duration
	Messages []string
}

// Agent is the profile of one simulated agent. Durations are lognormal around
// Median; a bimodal agent draws SlowShare of its runs around SlowMedian
// instead, and a heavy tail multiplies TailProb of the runs by 3·Pareto(TailAlpha).
// A run longer than Timeout ends timed_out at Timeout.
type Agent struct {
	ID        string
	Workspace string
	Role      string
	Triggers  []Choice
	// Share of its workspace's on-demand arrivals; 0 for scheduled agents.
	Share float64
	// Every > 0 makes the agent scheduled: it runs at every multiple of Every
	// (UTC), whatever the load, with trigger "schedule".
	Every time.Duration

	Median     time.Duration
	Sigma      float64
	SlowShare  float64
	SlowMedian time.Duration
	TailProb   float64
	TailAlpha  float64
	Timeout    time.Duration

	FailureRate float64
	CancelRate  float64
	Errors      []ErrorKind

	// A degrading agent gets worse with simulated time since the platform
	// started: its medians grow by DegradeMedian (a fraction of Median) and its
	// failure rate by DegradeFailure per simulated day, so it keeps degrading in
	// Live. Growth stops after maxDegradeDays.
	Degrading      bool
	DegradeMedian  float64
	DegradeFailure float64

	TokensPerSec float64 // tokens used per second of run time
	CreditsPer1K float64 // credits billed per 1000 tokens
}

// maxDegradeDays caps the degradation so a long Live run stays plausible.
const maxDegradeDays = 10

// workspaceSpec is a tenant: its worker pool and on-demand load.
type workspaceSpec struct {
	name    string
	workers int
	slots   int     // concurrent executions per worker
	peak    float64 // on-demand arrivals per second at full daily and weekly load
}

// The rates are sized for ~150k executions a week. The pools run at about
// 55% (acme), 22% (globex, sized for the burst to overflow it) and 40%
// (initech, rising as sql-analyst degrades) utilisation at peak, so queues
// form at peak hours, in heavy-tail pile-ups and in the burst.
var workspaceSpecs = []workspaceSpec{
	{name: "acme", workers: 2, slots: 2, peak: 0.25},
	{name: "globex", workers: 3, slots: 2, peak: 0.18},
	{name: "initech", workers: 2, slots: 1, peak: 0.12},
}

// dailyLoad is the arrival weight at each UTC hour, interpolated linearly in
// between: an office-hours curve with a quiet night.
var dailyLoad = [24]float64{
	0.18, 0.14, 0.12, 0.12, 0.14, 0.20, 0.32, 0.50, 0.72, 0.88, 0.95, 0.97,
	0.92, 0.96, 1.00, 0.98, 0.92, 0.80, 0.62, 0.48, 0.40, 0.34, 0.28, 0.22,
}

// weeklyLoad is the arrival weight per weekday (time.Sunday = 0).
var weeklyLoad = [7]float64{0.30, 0.95, 1.00, 1.00, 0.98, 0.85, 0.35}

// Error messages by type, shared by the agents that fail that way.
var (
	errRateLimit = ErrorKind{Type: "rate_limit", Within: 0.4, Messages: []string{
		"429 Too Many Requests from model provider: tokens-per-minute limit reached",
		"429 Too Many Requests from model provider: requests-per-minute limit reached, retry after 20s",
		"tool quota exhausted: 1000 calls per hour",
	}}
	errToolError = ErrorKind{Type: "tool_error", Within: 1, Messages: []string{
		"tool web_search: upstream returned HTTP 502",
		"tool http_fetch: connection reset by peer",
		"tool crm.lookup: record not found",
		"tool sql.query: relation \"orders_archive\" does not exist",
		"tool file_read: permission denied",
	}}
	errLLMTimeout = ErrorKind{Type: "llm_timeout", Within: 1, Messages: []string{
		"model call timed out after 60s",
		"model call timed out after 120s (streaming stalled)",
	}}
	errValidation = ErrorKind{Type: "validation_error", Within: 0.1, Messages: []string{
		"input rejected: required field \"customer_id\" is missing",
		"model output is not valid JSON for the declared schema",
		"input document exceeds the 200 page limit",
	}}
	errOOM = ErrorKind{Type: "oom", Within: 1, Messages: []string{
		"worker sandbox killed: out of memory (limit 2 GiB)",
		"python tool process killed by OOM killer",
	}}
	errContext = ErrorKind{Type: "context_length_exceeded", Within: 1, Messages: []string{
		"prompt of 131072 tokens exceeds the model context window",
	}}
)

// weighted returns k with the given weight.
func weighted(k ErrorKind, w float64) ErrorKind { k.Weight = w; return k }

func api(w float64) Choice     { return Choice{"api", w} }
func manual(w float64) Choice  { return Choice{"manual", w} }
func webhook(w float64) Choice { return Choice{"webhook", w} }

const ms = time.Millisecond

// agentSpecs is the catalogue. Shares within a workspace add up to 1.
var agentSpecs = []Agent{
	// acme: a support organisation.
	{ID: "ticket-classifier", Workspace: "acme", Role: "routes incoming support tickets",
		Triggers: []Choice{api(1)}, Share: 0.42,
		Median: 300 * ms, Sigma: 0.35, Timeout: 30 * time.Second,
		FailureRate: 0.01, CancelRate: 0.002,
		Errors:       []ErrorKind{weighted(errValidation, 3), weighted(errRateLimit, 2), weighted(errLLMTimeout, 1)},
		TokensPerSec: 2500, CreditsPer1K: 0.1},
	{ID: "email-triage", Workspace: "acme", Role: "labels inbound e-mail from the mail gateway",
		Triggers: []Choice{webhook(1)}, Share: 0.15,
		Median: 1500 * ms, Sigma: 0.4, Timeout: 30 * time.Second,
		FailureRate: 0.015, CancelRate: 0,
		Errors:       []ErrorKind{weighted(errValidation, 2), weighted(errRateLimit, 2), weighted(errToolError, 1)},
		TokensPerSec: 1200, CreditsPer1K: 0.1},
	{ID: "doc-summarizer", Workspace: "acme", Role: "summarises long documents",
		Triggers: []Choice{api(0.8), manual(0.2)}, Share: 0.33,
		Median: 4 * time.Second, Sigma: 0.5, Timeout: 60 * time.Second,
		FailureRate: 0.03, CancelRate: 0.01,
		Errors: []ErrorKind{weighted(errLLMTimeout, 3), weighted(errRateLimit, 3), weighted(errToolError, 2),
			weighted(errValidation, 1)},
		TokensPerSec: 900, CreditsPer1K: 0.3},
	{ID: "deep-research", Workspace: "acme", Role: "multi-step web research, heavy-tailed",
		Triggers: []Choice{manual(0.6), api(0.4)}, Share: 0.10,
		Median: 45 * time.Second, Sigma: 0.8, TailProb: 0.06, TailAlpha: 1.2, Timeout: 10 * time.Minute,
		FailureRate: 0.07, CancelRate: 0.03,
		Errors: []ErrorKind{weighted(errToolError, 4), weighted(errLLMTimeout, 3), weighted(errRateLimit, 2),
			weighted(errOOM, 1), weighted(errContext, 1)},
		TokensPerSec: 400, CreditsPer1K: 1.0},
	{ID: "kpi-report", Workspace: "acme", Role: "hourly KPI report",
		Every:  time.Hour,
		Median: 20 * time.Second, Sigma: 0.3, Timeout: 5 * time.Minute,
		FailureRate:  0.02,
		Errors:       []ErrorKind{weighted(errToolError, 2), weighted(errRateLimit, 1)},
		TokensPerSec: 300, CreditsPer1K: 0.5},

	// globex: e-commerce; the burst workspace.
	{ID: "order-webhook", Workspace: "globex", Role: "enriches orders from the shop webhook",
		Triggers: []Choice{webhook(1)}, Share: 0.5,
		Median: 1200 * ms, Sigma: 0.4, Timeout: 30 * time.Second,
		FailureRate:  0.02,
		Errors:       []ErrorKind{weighted(errValidation, 3), weighted(errToolError, 2), weighted(errRateLimit, 2)},
		TokensPerSec: 800, CreditsPer1K: 0.1},
	{ID: "fraud-screener", Workspace: "globex", Role: "scores payments for fraud",
		Triggers: []Choice{api(0.5), webhook(0.5)}, Share: 0.3,
		Median: 600 * ms, Sigma: 0.3, Timeout: 10 * time.Second,
		FailureRate:  0.005,
		Errors:       []ErrorKind{weighted(errLLMTimeout, 1), weighted(errRateLimit, 1)},
		TokensPerSec: 1500, CreditsPer1K: 0.2},
	{ID: "code-assistant", Workspace: "globex", Role: "quick edits or long refactors (bimodal)",
		Triggers: []Choice{manual(0.7), api(0.3)}, Share: 0.2,
		Median: 8 * time.Second, Sigma: 0.45, SlowShare: 0.3, SlowMedian: 90 * time.Second,
		TailProb: 0.02, TailAlpha: 1.5, Timeout: 5 * time.Minute,
		FailureRate: 0.08, CancelRate: 0.04,
		Errors: []ErrorKind{weighted(errToolError, 4), weighted(errValidation, 2), weighted(errOOM, 2),
			weighted(errLLMTimeout, 1)},
		TokensPerSec: 600, CreditsPer1K: 0.8},

	// initech: back office.
	{ID: "invoice-extractor", Workspace: "initech", Role: "extracts fields from invoices",
		Triggers: []Choice{webhook(0.6), api(0.4)}, Share: 0.4,
		Median: 2500 * ms, Sigma: 0.4, Timeout: 60 * time.Second,
		FailureRate:  0.04,
		Errors:       []ErrorKind{weighted(errValidation, 5), weighted(errToolError, 2), weighted(errLLMTimeout, 1)},
		TokensPerSec: 1000, CreditsPer1K: 0.2},
	{ID: "support-chat", Workspace: "initech", Role: "answers employee questions; users abandon",
		Triggers: []Choice{api(1)}, Share: 0.35,
		Median: 6 * time.Second, Sigma: 0.6, TailProb: 0.02, TailAlpha: 1.3, Timeout: 2 * time.Minute,
		FailureRate: 0.02, CancelRate: 0.05,
		Errors:       []ErrorKind{weighted(errLLMTimeout, 2), weighted(errRateLimit, 1), weighted(errToolError, 1)},
		TokensPerSec: 500, CreditsPer1K: 0.3},
	{ID: "sql-analyst", Workspace: "initech", Role: "answers data questions; degrades over the week",
		Triggers: []Choice{manual(0.5), api(0.5)}, Share: 0.25,
		Median: 8 * time.Second, Sigma: 0.5, Timeout: 3 * time.Minute,
		FailureRate: 0.02, CancelRate: 0.01,
		Errors:    []ErrorKind{weighted(errLLMTimeout, 3), weighted(errToolError, 3), weighted(errRateLimit, 2)},
		Degrading: true, DegradeMedian: 0.3, DegradeFailure: 0.02,
		TokensPerSec: 700, CreditsPer1K: 0.5},
	{ID: "ledger-sync", Workspace: "initech", Role: "syncs the ledger every 15 minutes",
		Every:  15 * time.Minute,
		Median: 30 * time.Second, Sigma: 0.25, Timeout: 5 * time.Minute,
		FailureRate:  0.03,
		Errors:       []ErrorKind{weighted(errToolError, 2), weighted(errRateLimit, 1)},
		TokensPerSec: 100, CreditsPer1K: 0.2},
}
