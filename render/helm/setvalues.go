package helm

import (
	"fmt"
	"strconv"
	"strings"

	"helm.sh/helm/v3/pkg/strvals"
)

// Bounds of --set values. Helm fills a list up to the highest index named (a[65536]=x
// makes 65,537 elements), so many such keys cost gigabytes before any template runs.
const (
	MaxSetIndex    = 10_000    // highest list index one key may name
	MaxSetElements = 100_000   // list elements all keys may create together
	MaxSetBytes    = 1_000_000 // bytes of all --set arguments
)

// ParseSetValues parses `--set` arguments (key=value[,key=value…]) as Helm does, after
// checking their list indexes and size against the bounds above.
func ParseSetValues(sets []string) (map[string]any, error) {
	total, elements := 0, 0
	for _, s := range sets {
		if total += len(s); total > MaxSetBytes {
			return nil, fmt.Errorf("--set values pass %d bytes (MaxSetBytes)", MaxSetBytes)
		}
		for _, key := range setKeys(s) {
			for _, idx := range listIndexes(key) {
				if idx > MaxSetIndex {
					return nil, fmt.Errorf("--set %s: list index %d is over the limit of %d (MaxSetIndex)", key, idx, MaxSetIndex)
				}
				if elements += idx + 1; elements > MaxSetElements {
					return nil, fmt.Errorf("--set: the list indexes create more than %d elements (MaxSetElements)", MaxSetElements)
				}
			}
		}
	}
	out := map[string]any{}
	for _, s := range sets {
		if err := strvals.ParseInto(s, out); err != nil {
			return nil, fmt.Errorf("--set %s: %w", s, err)
		}
	}
	return out, nil
}

// setKeys returns the keys of key=value pairs separated by unescaped commas.
func setKeys(s string) []string {
	var keys []string
	inKey, start := true, 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\':
			i++
		case s[i] == '=' && inKey:
			keys = append(keys, s[start:i])
			inKey = false
		case s[i] == ',':
			if inKey {
				keys = append(keys, s[start:i])
			}
			inKey, start = true, i+1
		}
	}
	if inKey {
		keys = append(keys, s[start:])
	}
	return keys
}

// listIndexes returns the numbers in brackets in a key (a[3].b[10] → 3, 10); an index too
// long to parse counts as over every limit.
func listIndexes(key string) []int {
	var out []int
	for rest := key; ; {
		i := strings.IndexByte(rest, '[')
		if i < 0 {
			return out
		}
		j := strings.IndexByte(rest[i:], ']')
		if j < 0 {
			return out
		}
		n, err := strconv.Atoi(strings.TrimSpace(rest[i+1 : i+j]))
		if err != nil {
			n = MaxSetIndex + 1
		}
		out = append(out, n)
		rest = rest[i+j+1:]
	}
}
