package helm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"helm.sh/helm/v3/pkg/chart"

	"github.com/landfall-dev/landfall/render/manifest"
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
	if err := collect(&sb, ch, vals); err != nil {
		return fmt.Errorf("%s: %w", ch.Name(), err)
	}
	if sb.Len() > 0 {
		return fmt.Errorf("values do not match the chart schema:\n%s", sb.String())
	}
	return nil
}

// collect writes what values break to sb; a schema refused for itself (a bound, a
// reference out of the document) is returned instead, as it is.
func collect(sb *strings.Builder, ch *chart.Chart, vals map[string]any) error {
	if ch.Schema != nil {
		err := validateOne(ch.Schema, vals)
		if errors.Is(err, manifest.ErrLimit) || errors.Is(err, errNoRefs) {
			return err
		}
		if err != nil {
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
		if err := collect(sb, sub, m); err != nil {
			return fmt.Errorf("%s: %w", sub.Name(), err)
		}
	}
	return nil
}

func validateOne(schema []byte, vals map[string]any) error {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema))
	if err != nil {
		return fmt.Errorf("values.schema.json: %w", err)
	}
	if err := checkSchema(doc); err != nil {
		return err
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
	err = sch.Validate(v)
	var ve *jsonschema.ValidationError
	if errors.As(err, &ve) {
		var lines []string
		describe(ve, &lines)
		return errors.New(strings.Join(lines, "\n"))
	}
	return err
}

// describe lists each failed rule by the value's path and the rule, never the value: values
// may be passwords, and the message reaches the Ready condition, an Event and the log.
// jsonschema's own messages quote the value for pattern, format, const and the bounds.
func describe(ve *jsonschema.ValidationError, lines *[]string) {
	if len(ve.Causes) > 0 {
		for _, c := range ve.Causes {
			describe(c, lines)
		}
		return
	}
	at := "/" + strings.Join(ve.InstanceLocation, "/")
	*lines = append(*lines, fmt.Sprintf("- at '%s': %s", at, rule(ve.ErrorKind)))
}

func rule(k jsonschema.ErrorKind) string {
	switch k := k.(type) {
	case *kind.Pattern:
		return fmt.Sprintf("does not match pattern '%s'", k.Want)
	case *kind.Format:
		return fmt.Sprintf("is not a valid %s", k.Want)
	case *kind.Enum:
		return "is not one of the allowed values"
	case *kind.Const:
		return "is not the required constant"
	case *kind.Minimum:
		return "is below the minimum " + k.Want.RatString()
	case *kind.Maximum:
		return "is above the maximum " + k.Want.RatString()
	case *kind.ExclusiveMinimum:
		return "is not above the exclusive minimum " + k.Want.RatString()
	case *kind.ExclusiveMaximum:
		return "is not below the exclusive maximum " + k.Want.RatString()
	case *kind.MultipleOf:
		return "is not a multiple of " + k.Want.RatString()
	case *kind.ContentEncoding:
		return fmt.Sprintf("is not %s encoded", k.Want)
	case *kind.ContentMediaType:
		return fmt.Sprintf("is not of media type %s", k.Want)
	default:
		// The other kinds speak of types, lengths, counts and property names.
		return k.LocalizedString(printer)
	}
}

var printer = message.NewPrinter(language.English)
