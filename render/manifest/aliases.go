package manifest

import (
	"bytes"
	"errors"
	"fmt"

	yaml "go.yaml.in/yaml/v3"
)

// ErrAliasBomb means a YAML document expands, through anchors and aliases, into more nodes
// than allowed ("billion laughs").
var ErrAliasBomb = errors.New("YAML alias expansion exceeds the limit")

// CheckAliases refuses YAML whose documents expand to more than maxNodes nodes once every
// alias is replaced by what it points to. It does no expansion itself: the count is computed
// over the shared node graph, so a bomb costs no more to check than its own size. Input that
// is not YAML is not this check's business and passes (the real parser reports it).
func CheckAliases(name string, data []byte, maxNodes int) error {
	if doc, line := firstBomb(data, maxNodes); doc > 0 {
		return fmt.Errorf("%s: document %d (line %d): expands to more than %d nodes: %w",
			name, doc, line, maxNodes, ErrAliasBomb)
	}
	return nil
}

// firstBomb returns the number and line of the first document that expands to more than
// maxNodes nodes, or 0.
func firstBomb(data []byte, maxNodes int) (doc, line int) {
	if maxNodes <= 0 || !bytes.Contains(data, []byte("*")) {
		return 0, 0 // no alias, nothing can expand
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for i := 1; ; i++ {
		var n yaml.Node
		if err := dec.Decode(&n); err != nil {
			// io.EOF, or a syntax error that whoever parses it for real will report.
			return 0, 0
		}
		c := counter{max: int64(maxNodes), memo: map[*yaml.Node]int64{}}
		if c.count(&n) > c.max {
			line := n.Line
			if len(n.Content) > 0 {
				line = n.Content[0].Line // where the content starts, past any "---"
			}
			return i, line
		}
	}
}

type counter struct {
	max  int64
	memo map[*yaml.Node]int64
}

// count returns the expanded size of n, saturating just above max.
func (c *counter) count(n *yaml.Node) int64 {
	if n == nil {
		return 0
	}
	if v, ok := c.memo[n]; ok {
		return v
	}
	c.memo[n] = c.max + 1 // an alias cycle counts as infinite
	var total int64 = 1
	if n.Kind == yaml.AliasNode {
		total = c.count(n.Alias)
	}
	for _, child := range n.Content {
		total += c.count(child)
		if total > c.max {
			total = c.max + 1
			break
		}
	}
	c.memo[n] = total
	return total
}
