package helm

import (
	"fmt"
	"strings"
	"testing"

	"github.com/landfall-dev/landfall/test/memcap"
)

func TestSetValuesListIndexesAreBoundedBeforeParsing(t *testing.T) {
	if memcap.Run(t, memcap.Limits{AddressSpace: 3 << 30, PeakRSS: 128 << 20}) {
		return
	}
	many := make([]string, 0, 2000)
	for i := range 2000 {
		many = append(many, fmt.Sprintf("k%d[65536]=x", i)) // Helm's own index limit
	}
	repeated := make([]string, 0, 20)
	for i := range 20 {
		repeated = append(repeated, fmt.Sprintf("k%d[9999]=x", i))
	}
	cases := []struct {
		name  string
		sets  []string
		names string
	}{
		{"one large index", []string{"a[100000000]=x"}, "list index 100000000 is over the limit of 10000 (MaxSetIndex)"},
		{"repeated over many keys", many, "list index 65536 is over the limit"},
		{"many indexes under the limit", repeated, "more than 100000 elements (MaxSetElements)"},
		{"nested in one key", []string{"a[5000].b[5000].c[5000]=x,d[9000]=y,e[9000].f[9000]=z," + strings.Repeat("g[9999]=1,", 8)}, "MaxSetElements"},
		{"too long", []string{strings.Repeat("k=v,", 300_000)}, "MaxSetBytes"},
	}
	for _, tc := range cases {
		if _, err := ParseSetValues(tc.sets); err == nil || !strings.Contains(err.Error(), tc.names) {
			t.Errorf("%s: error = %v, want one naming %q", tc.name, err, tc.names)
		}
	}
	got, err := ParseSetValues([]string{`image.tag=v1,list[2]=c,esc=a\,b`, "list[0]=a"})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "map[esc:a,b image:map[tag:v1] list:[a <nil> c]]" {
		t.Errorf("parsed %v", got)
	}
}
