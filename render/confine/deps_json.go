package confine

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// depJSON is one recorded input on the wire between a render sandbox and its parent.
type depJSON struct {
	Op   string `json:"op"`
	Path string `json:"path"`
	Sum  string `json:"sum"`
}

// MarshalJSON encodes the recorded inputs, so a render run in a child process can hand
// them to the parent's cache.
func (d Deps) MarshalJSON() ([]byte, error) {
	out := make([]depJSON, 0, len(d))
	for k, v := range d {
		out = append(out, depJSON{Op: string(k.op), Path: k.path, Sum: hex.EncodeToString(v[:])})
	}
	return json.Marshal(out)
}

// UnmarshalJSON decodes what MarshalJSON wrote.
func (d *Deps) UnmarshalJSON(data []byte) error {
	var in []depJSON
	if err := json.Unmarshal(data, &in); err != nil {
		return err
	}
	*d = make(Deps, len(in))
	for _, e := range in {
		sum, err := hex.DecodeString(e.Sum)
		if len(e.Op) != 1 || err != nil || len(sum) != len([32]byte{}) {
			return fmt.Errorf("malformed recorded input %q", e.Path)
		}
		(*d)[dep{op: op(e.Op[0]), path: e.Path}] = [32]byte(sum)
	}
	return nil
}
