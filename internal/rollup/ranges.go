package rollup

import (
	"cmp"
	"slices"
	"strings"
)

// Range is the buckets [Lo, Hi] of one agent's rows (or the workspace
// total's) in one tier.
type Range struct {
	WorkspaceID string
	Tier        Tier
	AgentID     string
	Lo, Hi      int64
}

// RangeGap is the most buckets between two keys of an agent read by one
// range: reading a few rows not asked for costs less than another descent
// of an index, and bounds the rows a range reads to RangeGap per key.
const RangeGap = 8

// Ranges covers keys with bucket ranges in CompareKeys order: one per run
// of an agent's buckets with gaps of at most RangeGap buckets. A commit's
// keys of one agent are mostly consecutive buckets (events close in time),
// so a store reads them with a few range scans instead of a lookup each.
func Ranges(keys []Key) []Range {
	sorted := slices.Clone(keys)
	slices.SortFunc(sorted, CompareKeys)
	var out []Range
	for i, k := range sorted {
		if i > 0 {
			last := &out[len(out)-1]
			if last.Tier == k.Tier && last.WorkspaceID == k.WorkspaceID && last.AgentID == k.AgentID &&
				k.Bucket-last.Hi <= RangeGap*k.Tier.Seconds() {
				last.Hi = k.Bucket
				continue
			}
		}
		out = append(out, Range{WorkspaceID: k.WorkspaceID, Tier: k.Tier, AgentID: k.AgentID, Lo: k.Bucket, Hi: k.Bucket})
	}
	return out
}

// CompareKeys orders keys by tier, workspace, agent and bucket: the order
// of the stores' primary keys within a tier, and of every writer's writes
// (row locks never cross).
func CompareKeys(a, b Key) int {
	if a.Tier != b.Tier {
		return cmp.Compare(a.Tier, b.Tier)
	}
	if c := strings.Compare(a.WorkspaceID, b.WorkspaceID); c != 0 {
		return c
	}
	if c := strings.Compare(a.AgentID, b.AgentID); c != 0 {
		return c
	}
	return cmp.Compare(a.Bucket, b.Bucket)
}
