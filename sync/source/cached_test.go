package source

import "testing"

func TestParseRevision(t *testing.T) {
	const sha = "4f2c9e0000000000000000000000000000000001"
	tests := []struct {
		in      string
		want    Revision
		wantErr bool
	}{
		{"main@sha1:" + sha, Revision{Ref: "main", Commit: sha}, false},
		{"feature/a@b@sha1:" + sha, Revision{Ref: "feature/a@b", Commit: sha}, false},
		{"sha1:" + sha, Revision{Commit: sha}, false},
		{"main@sha1:abc", Revision{}, true},
		{"", Revision{}, true},
	}
	for _, tc := range tests {
		got, err := ParseRevision(tc.in)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("ParseRevision(%q) = %+v, %v; want %+v, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
		if err == nil && got.String() != tc.in {
			t.Errorf("round trip of %q gave %q", tc.in, got.String())
		}
	}
}
