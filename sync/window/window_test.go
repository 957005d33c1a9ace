package window

import (
	"strings"
	"testing"
	"time"
)

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestEvaluate(t *testing.T) {
	fridayEvening := Window{Kind: Deny, Schedule: "0 18 * * 5", Duration: 62 * time.Hour, TimeZone: "Europe/Berlin"}
	officeHours := Window{Kind: Allow, Schedule: "0 9 * * 1-5", Duration: 8 * time.Hour}
	tests := []struct {
		name      string
		windows   []Window
		now       string
		allowed   bool
		manual    bool
		next      string
		reasonHas string
	}{
		{"no windows", nil, "2026-11-27T12:00:00Z", true, true, "", ""},
		// 2026-11-27 is a Friday; 18:00 in Berlin is 17:00 UTC.
		{"before the deny window", []Window{fridayEvening}, "2026-11-27T16:59:00Z", true, true, "", ""},
		{"inside the deny window", []Window{fridayEvening}, "2026-11-27T17:00:00Z", false, false, "2026-11-30T07:00:00Z", "deny window"},
		{"deny window over the weekend", []Window{fridayEvening}, "2026-11-29T12:00:00Z", false, false, "2026-11-30T07:00:00Z", "deny window"},
		{"deny window closed", []Window{fridayEvening}, "2026-11-30T07:00:00Z", true, true, "", ""},
		{"inside an allow window", []Window{officeHours}, "2026-11-25T10:00:00Z", true, true, "", ""},
		{"outside every allow window", []Window{officeHours}, "2026-11-25T18:00:00Z", false, false, "2026-11-26T09:00:00Z", "next opens"},
		{"deny beats allow", []Window{officeHours, {Kind: Deny, Schedule: "0 10 * * *", Duration: time.Hour}}, "2026-11-25T10:30:00Z", false, false, "2026-11-25T11:00:00Z", "deny window"},
		{"manual override allowed", []Window{{Kind: Deny, Schedule: "0 10 * * *", Duration: time.Hour, ManualSync: true}}, "2026-11-25T10:30:00Z", false, true, "2026-11-25T11:00:00Z", "deny"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := Evaluate(tc.windows, at(tc.now))
			if err != nil {
				t.Fatal(err)
			}
			if v.Allowed != tc.allowed || v.ManualAllowed != tc.manual {
				t.Fatalf("allowed=%v manual=%v, want %v %v (%s)", v.Allowed, v.ManualAllowed, tc.allowed, tc.manual, v.Reason)
			}
			if tc.next != "" && !v.Next.Equal(at(tc.next)) {
				t.Fatalf("next = %s, want %s", v.Next.UTC().Format(time.RFC3339), tc.next)
			}
			if !strings.Contains(v.Reason, tc.reasonHas) {
				t.Fatalf("reason %q lacks %q", v.Reason, tc.reasonHas)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	err := Validate([]Window{
		{Kind: Allow, Schedule: "0 9 * * 1-5", Duration: time.Hour},
		{Kind: Deny, Schedule: "not a schedule", Duration: time.Hour},
		{Kind: Deny, Schedule: "0 9 * * *", Duration: time.Hour, TimeZone: "Mars/Olympus"},
	})
	if err == nil || !strings.Contains(err.Error(), "syncWindows[1]: schedule") || !strings.Contains(err.Error(), "syncWindows[2]: time zone") {
		t.Fatalf("error %v does not name both bad windows", err)
	}
}
