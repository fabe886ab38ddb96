package rollup

import (
	"math/rand/v2"
	"testing"
)

func TestRangesCoverEveryKeyWithBoundedGaps(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var keys []Key
	for range 2000 {
		tier := Tiers[rng.IntN(len(Tiers))]
		keys = append(keys, Key{
			WorkspaceID: []string{"ws-a", "ws-b"}[rng.IntN(2)],
			Tier:        tier,
			AgentID:     []string{AllAgents, "a", "b"}[rng.IntN(3)],
			Bucket:      int64(rng.IntN(400)) * tier.Seconds(),
		})
	}
	ranges := Ranges(keys)
	covered := func(k Key) bool {
		for _, g := range ranges {
			if g.WorkspaceID == k.WorkspaceID && g.Tier == k.Tier && g.AgentID == k.AgentID && g.Lo <= k.Bucket && k.Bucket <= g.Hi {
				return true
			}
		}
		return false
	}
	for _, k := range keys {
		if !covered(k) {
			t.Fatalf("%+v is in no range", k)
		}
	}
	// Every range starts and ends at a key, and holds no gap wider than
	// RangeGap buckets without one.
	has := map[Key]bool{}
	for _, k := range keys {
		has[k] = true
	}
	for i, g := range ranges {
		step := g.Tier.Seconds()
		gap := int64(0)
		for b := g.Lo; b <= g.Hi; b += step {
			if has[Key{WorkspaceID: g.WorkspaceID, Tier: g.Tier, AgentID: g.AgentID, Bucket: b}] {
				gap = 0
				continue
			}
			if b == g.Lo || b == g.Hi {
				t.Fatalf("range %+v does not start and end at keys", g)
			}
			if gap++; gap >= RangeGap {
				t.Fatalf("range %+v holds %d buckets in a row without a key", g, gap)
			}
		}
		if i > 0 && !(compareRange(ranges[i-1], g) < 0) {
			t.Fatalf("ranges out of order: %+v before %+v", ranges[i-1], g)
		}
	}
	if len(ranges) >= len(keys)/2 {
		t.Errorf("%d keys in %d ranges: dense keys should share ranges", len(keys), len(ranges))
	}
}

func compareRange(a, b Range) int {
	return CompareKeys(Key{WorkspaceID: a.WorkspaceID, Tier: a.Tier, AgentID: a.AgentID, Bucket: a.Hi},
		Key{WorkspaceID: b.WorkspaceID, Tier: b.Tier, AgentID: b.AgentID, Bucket: b.Lo})
}
