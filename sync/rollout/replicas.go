package rollout

// SplitReplicas divides total replicas between the canary and the stable revision for a
// weight in percent. The canary gets the weight's share rounded up, and at least one
// replica whenever the weight is above zero, so every step really runs the new revision.
// While the weight is below 100 at least one stable replica stays if total allows it.
// canary+stable always equals total; weight 100 (promotion) puts every replica on the
// canary. Weights outside 0–100 are clamped.
func SplitReplicas(total, weight int32) (canary, stable int32) {
	switch {
	case total <= 0:
		return 0, 0
	case weight <= 0:
		return 0, total
	case weight >= 100:
		return total, 0
	}
	// Rounded-up share, in int64 so large totals cannot overflow.
	c := int32((int64(total)*int64(weight) + 99) / 100)
	c = max(c, 1)
	if c >= total && total > 1 {
		c = total - 1
	}
	return c, total - c
}
