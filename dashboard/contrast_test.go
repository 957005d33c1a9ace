package dashboard

import (
	"math"
	"regexp"
	"strconv"
	"testing"
)

// TestContrast: every text colour of the stylesheet against the background it is used on
// has a contrast ratio of at least 4.5:1 (WCAG 2 AA for normal text).
func TestContrast(t *testing.T) {
	css, err := staticFS.ReadFile("static/app.css")
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"white": "#ffffff", "top": "#24292f", "live": "#e6edf3"}
	for _, m := range regexp.MustCompile(`--([a-z]+): (#[0-9a-f]{6})`).FindAllStringSubmatch(string(css), -1) {
		vars[m[1]] = m[2]
	}
	for _, pair := range [][2]string{
		{"fg", "bg"}, {"muted", "bg"}, {"link", "bg"}, {"ok", "okbg"}, {"bad", "badbg"}, {"wait", "waitbg"},
		{"prog", "progbg"}, {"ok", "bg"}, {"bad", "bg"}, {"wait", "bg"}, {"prog", "bg"}, {"white", "top"}, {"live", "top"},
	} {
		fg, bg := vars[pair[0]], vars[pair[1]]
		if fg == "" || bg == "" {
			t.Fatalf("colour %v not in the stylesheet", pair)
		}
		if r := contrast(fg, bg); r < 4.5 {
			t.Errorf("%s (%s) on %s (%s): contrast %.2f, want at least 4.5", pair[0], fg, pair[1], bg, r)
		}
	}
}

func contrast(a, b string) float64 {
	la, lb := luminance(a), luminance(b)
	return (math.Max(la, lb) + 0.05) / (math.Min(la, lb) + 0.05)
}

func luminance(hex string) float64 {
	var l float64
	for i, w := range []float64{0.2126, 0.7152, 0.0722} {
		v, _ := strconv.ParseUint(hex[1+2*i:3+2*i], 16, 8)
		c := float64(v) / 255
		if c <= 0.03928 {
			c /= 12.92
		} else {
			c = math.Pow((c+0.055)/1.055, 2.4)
		}
		l += w * c
	}
	return l
}
