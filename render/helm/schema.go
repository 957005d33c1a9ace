package helm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"helm.sh/helm/v3/pkg/chart"
)

// errNoRefs is what a schema gets for a $ref to another document: Helm's own validator
// would fetch it over HTTP or read it from any local path.
var errNoRefs = errors.New("references to other schema documents are not allowed")

type noLoader struct{}

func (noLoader) Load(url string) (any, error) { return nil, fmt.Errorf("%s: %w", url, errNoRefs) }

// validate checks values against values.schema.json of the chart and of each subchart that
// has values, offline.
func validate(ch *chart.Chart, vals map[string]any) error {
	var sb strings.Builder
	collect(&sb, ch, vals)
	if sb.Len() > 0 {
		return fmt.Errorf("values do not match the chart schema:\n%s", sb.String())
	}
	return nil
}

func collect(sb *strings.Builder, ch *chart.Chart, vals map[string]any) {
	if ch.Schema != nil {
		if err := validateOne(ch.Schema, vals); err != nil {
			fmt.Fprintf(sb, "%s/values.schema.json:\n%v\n", ch.Name(), err)
		}
	}
	for _, sub := range ch.Dependencies() {
		raw, ok := vals[sub.Name()]
		if !ok || raw == nil {
			continue
		}
		m, ok := raw.(map[string]any)
		if !ok {
			fmt.Fprintf(sb, "%s: values are a %T, not a map\n", sub.Name(), raw)
			continue
		}
		collect(sb, sub, m)
	}
}

func validateOne(schema []byte, vals map[string]any) error {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema))
	if err != nil {
		return fmt.Errorf("values.schema.json: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.UseLoader(noLoader{})
	const url = "file:///values.schema.json"
	if err := c.AddResource(url, doc); err != nil {
		return fmt.Errorf("values.schema.json: %w", err)
	}
	sch, err := c.Compile(url)
	if err != nil {
		return fmt.Errorf("values.schema.json: %w", err)
	}
	data, err := json.Marshal(vals)
	if err != nil {
		return err
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return err
	}
	if err := sch.Validate(v); err != nil {
		return errors.New(strings.TrimPrefix(err.Error(), "jsonschema validation failed with '"+url+"#'\n"))
	}
	return nil
}
