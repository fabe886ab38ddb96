package execution

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// TestAppendJSONMatchesMarshal holds AppendJSON to encoding/json's bytes
// over random events: strings that need escaping, floats of every
// magnitude, and each optional field present or not.
func TestAppendJSONMatchesMarshal(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	pieces := []string{"a", "Z9._:@/-", "\"", "\\", "<", ">", "&", "\n\t\x01", "é", "日本", "\u2028\u2029", "\x7f", "\xff", " ", ""}
	str := func() string {
		var s string
		for range rng.IntN(4) {
			s += pieces[rng.IntN(len(pieces))]
		}
		return s
	}
	floats := []float64{0, math.Copysign(0, -1), 1, 100, 0.5, 1e-6, 9.99e-7, 1e-9, 1.5e-300, 1e20, 1e21, 1.234e22,
		123456789.125, 1.0 / 3, math.MaxFloat64, math.SmallestNonzeroFloat64}
	num := func() *float64 {
		if rng.IntN(3) == 0 {
			return nil
		}
		f := floats[rng.IntN(len(floats))]
		if rng.IntN(2) == 0 {
			f = rng.Float64() * math.Pow(10, float64(rng.IntN(60)-30))
		}
		return &f
	}
	zones := []*time.Location{time.UTC, time.FixedZone("", 5*3600+1800), time.FixedZone("", -7*3600)}
	for i := range 5000 {
		e := Event{EventID: str(), Type: Type(str()), ExecutionID: str(), WorkspaceID: str(), AgentID: str(),
			Timestamp: time.Unix(rng.Int64N(4e9), rng.Int64N(1e9)*int64(rng.IntN(2))).In(zones[rng.IntN(len(zones))]),
			WorkerID:  str(), Trigger: str(), Progress: num(), Credits: num(), Tokens: num()}
		if rng.IntN(2) == 0 {
			e.Error = &ErrorInfo{Type: str(), Message: str()}
		}
		want, err := json.Marshal(&e)
		if err != nil {
			t.Fatal(err)
		}
		if got := e.AppendJSON(nil); !bytes.Equal(got, want) {
			t.Fatalf("event %d:\n got %s\nwant %s", i, got, want)
		}
	}
}
