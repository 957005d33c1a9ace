package rollout

import "testing"

func TestSplitReplicas(t *testing.T) {
	tests := []struct {
		total, weight       int32
		wantCanary, wantOld int32
	}{
		{10, 25, 3, 7},                           // 2.5 rounds up
		{10, 50, 5, 5},                           // exact
		{4, 25, 1, 3},                            // exact
		{3, 1, 1, 2},                             // at least one canary
		{1, 10, 1, 0},                            // one replica cannot be split: the canary needs it
		{2, 99, 1, 1},                            // one stable replica stays below 100%
		{5, 90, 4, 1},                            // 4.5 rounds up to 5, but one stable stays
		{10, 100, 10, 0},                         // promotion
		{10, 0, 0, 10},                           // no canary
		{0, 50, 0, 0},                            // nothing to split
		{10, 150, 10, 0},                         // clamped
		{10, -5, 0, 10},                          // clamped
		{-3, 50, 0, 0},                           // nonsense total
		{2147483647, 50, 1073741824, 1073741823}, // no overflow
	}
	for _, tt := range tests {
		c, s := SplitReplicas(tt.total, tt.weight)
		if c != tt.wantCanary || s != tt.wantOld {
			t.Errorf("SplitReplicas(%d, %d) = %d, %d; want %d, %d", tt.total, tt.weight, c, s, tt.wantCanary, tt.wantOld)
		}
	}
}

// TestSplitReplicasInvariants checks the promises for every small total and weight.
func TestSplitReplicasInvariants(t *testing.T) {
	for total := int32(0); total <= 60; total++ {
		for weight := int32(0); weight <= 100; weight++ {
			c, s := SplitReplicas(total, weight)
			switch {
			case c+s != total:
				t.Fatalf("(%d, %d): %d+%d != total", total, weight, c, s)
			case c < 0 || s < 0:
				t.Fatalf("(%d, %d): negative split %d, %d", total, weight, c, s)
			case total > 0 && weight > 0 && c < 1:
				t.Fatalf("(%d, %d): no canary replica", total, weight)
			case weight == 100 && s != 0:
				t.Fatalf("(%d, %d): stable left at promotion", total, weight)
			case total > 1 && weight > 0 && weight < 100 && s < 1:
				t.Fatalf("(%d, %d): no stable replica below 100%%", total, weight)
			case total > 1 && weight < 100 && int64(c)*100 < int64(total)*int64(weight) && c != total-1:
				t.Fatalf("(%d, %d): canary %d below its share", total, weight, c)
			}
		}
	}
}
