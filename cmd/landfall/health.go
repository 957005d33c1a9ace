package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

func newHealthCmd() *cobra.Command {
	var file, rulesFile string
	cmd := &cobra.Command{
		Use:   "health -f FILE",
		Short: "Print the health of each object in a YAML stream",
		Long: "Print one line per object, Kind/name STATUS message, judged from the objects' status\n" +
			"as `kubectl get -o yaml` shows it. FILE may hold several documents and kind: List;\n" +
			"use - for standard input. The exit code is non-zero only for unreadable input.",
		Example: `  # The health of what a namespace runs
  kubectl get deploy,sts,pvc -n shop -o yaml | landfall health -f -

  # Of objects saved to a file
  landfall health -f objects.yaml

  # Judged by CEL health rules, as the controller would with --health-rules
  landfall health -f objects.yaml --rules health-rules.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rules, err := loadHealthRules(rulesFile)
			if err != nil {
				return err
			}
			in, closeIn, err := openInput(file, cmd.InOrStdin())
			if err != nil {
				return err
			}
			defer closeIn()
			objs, err := readObjects(in)
			if err != nil {
				return fmt.Errorf("reading %s: %w", file, err)
			}
			out := cmd.OutOrStdout()
			for _, obj := range objs {
				r := rules.Of(obj)
				line := fmt.Sprintf("%s/%s %s", obj.GetKind(), obj.GetName(), r.Status)
				if r.Message != "" {
					line += " " + r.Message
				}
				fmt.Fprintln(out, line)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "filename", "f", "", "YAML file to read, or - for standard input")
	cmd.Flags().StringVar(&rulesFile, "rules", "", "YAML file of CEL health rules, as the controller's --health-rules reads")
	_ = cmd.MarkFlagRequired("filename")
	return cmd
}

// openInput opens the file, or returns stdin for "-".
func openInput(file string, stdin io.Reader) (io.Reader, func(), error) {
	if file == "-" {
		return stdin, func() {}, nil
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, nil, err
	}
	return f, func() { _ = f.Close() }, nil
}

// readObjects decodes a multi-document YAML (or JSON) stream; List objects are expanded
// into their items and empty documents are skipped.
func readObjects(r io.Reader) ([]*unstructured.Unstructured, error) {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(r))
	var objs []*unstructured.Unstructured
	for doc := 1; ; doc++ {
		raw, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", doc, err)
		}
		js, err := yaml.YAMLToJSON(raw)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", doc, err)
		}
		if string(js) == "null" {
			continue
		}
		obj, _, err := unstructured.UnstructuredJSONScheme.Decode(js, nil, nil)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", doc, err)
		}
		objs, err = appendObjects(objs, obj)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", doc, err)
		}
	}
}

func appendObjects(objs []*unstructured.Unstructured, obj runtime.Object) ([]*unstructured.Unstructured, error) {
	switch o := obj.(type) {
	case *unstructured.Unstructured:
		return append(objs, o), nil
	case *unstructured.UnstructuredList:
		for i := range o.Items {
			objs = append(objs, &o.Items[i])
		}
		return objs, nil
	default:
		return nil, fmt.Errorf("unexpected object type %T", obj)
	}
}
