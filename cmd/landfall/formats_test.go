package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/types"
	"sigs.k8s.io/yaml"
)

// testOutputFormats runs every command that shows objects in every output format, against
// the fixture's Application shop (one environment, staging, a ConfigMap and a Secret).
func testOutputFormats(t *testing.T, lf cli) {
	type list struct {
		Kind  string           `json:"kind"`
		Items []map[string]any `json:"items"`
	}
	// parses is a matcher for yaml and json: the document decodes and holds an object of
	// kind, or a List of them.
	parses := func(kind string, asYAML bool) types.GomegaMatcher {
		return WithTransform(func(out string) (string, error) {
			var l list
			var err error
			if asYAML {
				err = yaml.Unmarshal([]byte(out), &l)
			} else {
				err = json.Unmarshal([]byte(out), &l)
			}
			if err != nil || l.Kind != "List" {
				return l.Kind, err
			}
			kinds := []string{}
			for _, item := range l.Items {
				if k, _ := item["kind"].(string); k != "" && !slices.Contains(kinds, k) {
					kinds = append(kinds, k)
				}
			}
			return "List of " + strings.Join(kinds, ","), nil
		}, Equal(kind))
	}
	for _, tc := range []struct {
		args []string
		want map[string]types.GomegaMatcher // by output format
	}{
		{[]string{"get", "applications"}, map[string]types.GomegaMatcher{
			"yaml": parses("List of Application", true), "json": parses("List of Application", false),
			"jsonpath={.items[0].metadata.name}": Equal("shop"),
			"wide":                               MatchRegexp(`^NAME\s+READY\s+REVISION\s+SYNC\s+HEALTH\s+MESSAGE\s+AGE\nshop\s+True`),
			"name":                               Equal("application.landfall.dev/shop\n")}},
		{[]string{"get", "repository", "shop"}, map[string]types.GomegaMatcher{
			"yaml": parses("Repository", true), "json": parses("Repository", false),
			"jsonpath={.spec.ref.branch}": Equal("main"),
			"wide":                        MatchRegexp(`^NAME\s+READY\s+REVISION\s+URL\s+`),
			"name":                        Equal("repository.landfall.dev/shop\n")}},
		{[]string{"status", "shop"}, map[string]types.GomegaMatcher{
			"yaml": parses("Application", true), "json": parses("Application", false),
			"jsonpath={.spec.environments[0].name}": Equal("staging"),
			"wide":                                  MatchRegexp(`\ntools\s+shop\s+staging\s+main@sha1:\w{40}\s+Synced\s+Healthy\s+True\s+`),
			"name":                                  Equal("application.landfall.dev/shop\n")}},
		{[]string{"reconcile", "repository", "shop"}, map[string]types.GomegaMatcher{
			"yaml": parses("Repository", true), "json": parses("Repository", false),
			"jsonpath={.status.conditions[?(@.type==\"Ready\")].status}": Equal("True"),
			"wide": MatchRegexp(`^Repository tools/shop ready at main@sha1:\w{40}\n$`),
			"name": Equal("repository.landfall.dev/shop\n")}},
		{[]string{"events", "shop"}, map[string]types.GomegaMatcher{
			"yaml": parses("List of Event", true), "json": parses("List of Event", false),
			"jsonpath={.items[0].reason}": Equal("Touched"),
			"wide":                        MatchRegexp(`^LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE\n(.*\n)*.*Normal\s+Synced\s+Application/shop\s+environment staging at main@sha1:\w{40}: `),
			"name":                        MatchRegexp(`^event/settings\.1\n(event/\S+\n)+$`)}},
		{[]string{"history", "shop"}, map[string]types.GomegaMatcher{
			// History entries are not objects: a List of them, and no -o name (below).
			"yaml":                             And(parses("List of ", true), MatchRegexp(`\n- commit:\n    author: Landfall Test\n    subject: change on main\n  environment: staging\n(  .*\n)*  revision: main@sha1:\w{40}\n`)),
			"json":                             And(parses("List of ", false), MatchRegexp(`"revision": "main@sha1:\w{40}"`)),
			"jsonpath={.items[0].environment}": Equal("staging"),
			"wide":                             MatchRegexp(`COMMIT\n(.*\n)*staging\s+main@sha1:\w{40}\s+Succeeded\s+.*change on main \(Landfall Test\)\n`)}},
		{[]string{"tree", "shop", "--env", "staging"}, map[string]types.GomegaMatcher{
			"yaml": parses("List of ConfigMap,Secret", true), "json": parses("List of ConfigMap,Secret", false),
			"jsonpath={.items[*].metadata.name}": Equal("settings creds"),
			"wide":                               MatchRegexp(`^Application tools/shop, environment staging at main@sha1:\w{40}: Synced, Healthy\n├── ConfigMap tools-staging/settings  Healthy`),
			"name":                               Equal("configmap/settings\nsecret/creds\n")}},
	} {
		for format, want := range tc.want {
			t.Run(strings.Join(tc.args, " ")+" -o "+format, func(t *testing.T) {
				g := NewWithT(t)
				out, stderr, code := lf.run(append(tc.args, "-o", format)...)
				g.Expect(code).To(Equal(exitOK), stderr)
				g.Expect(out).To(want)
			})
		}
	}
	_, stderr, code := lf.run("history", "shop", "-o", "name")
	if code != exitError || !strings.Contains(stderr, "history entries are not objects") {
		t.Errorf("history -o name: exit %d, %q; want 2 and why", code, stderr)
	}
}
