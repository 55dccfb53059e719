package pipeline

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Validator is implemented by option structs that check their values after
// decoding. The error should name the field and the bad value.
type Validator interface {
	Validate() error
}

// Spec describes a registered stage: its name, what it does, its options and
// how to build it.
type Spec struct {
	Name string
	Doc  string
	// Concurrent reports whether the stage's Process may run on several
	// batches at once. Order-dependent stages, such as deduplication, are
	// not concurrent.
	Concurrent bool
	// Options lists the stage's options with their defaults.
	Options []OptionSpec

	decode func(node *yaml.Node) (any, error)
	build  func(opts any, env Env) (Stage, error)
}

// OptionSpec documents one option of a stage.
type OptionSpec struct {
	Name    string // YAML key
	Type    string // Go type, such as "int" or "[]string"
	Default string // default value, formatted for YAML
	Doc     string
}

var registry = map[string]*Spec{}

// Register adds a stage called name. defaults holds the option values a
// config that names no option gets; its fields carry `yaml:"key"` and
// `doc:"..."` tags, which the `winnow stages` listing prints. build makes a
// stage from decoded and validated options. Register panics on a duplicate
// name, which is a programming error.
func Register[O any](name, doc string, concurrent bool, defaults O, build func(opts O, env Env) (Stage, error)) {
	if _, dup := registry[name]; dup {
		panic("pipeline: stage registered twice: " + name)
	}
	spec := &Spec{Name: name, Doc: doc, Concurrent: concurrent, Options: describeOptions(defaults)}
	spec.decode = func(node *yaml.Node) (any, error) {
		opts := defaults
		if err := decodeStrict(node, &opts); err != nil {
			return nil, fmt.Errorf("stage %s: %w", name, err)
		}
		if v, ok := any(&opts).(Validator); ok {
			if err := v.Validate(); err != nil {
				return nil, fmt.Errorf("stage %s: %w", name, err)
			}
		}
		return opts, nil
	}
	spec.build = func(opts any, env Env) (Stage, error) {
		o, ok := opts.(O)
		if !ok {
			return nil, fmt.Errorf("stage %s: options of type %T, want %T", name, opts, defaults)
		}
		return build(o, env)
	}
	registry[name] = spec
}

// Lookup returns the spec of the stage called name.
func Lookup(name string) (*Spec, bool) {
	s, ok := registry[name]
	return s, ok
}

// Specs returns every registered stage, sorted by name.
func Specs() []*Spec {
	out := make([]*Spec, 0, len(registry))
	for _, s := range registry {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Decode turns options given as a YAML mapping (nil for all defaults) into
// the stage's validated options struct. Unknown option names are errors.
func (s *Spec) Decode(options *yaml.Node) (any, error) {
	return s.decode(options)
}

// New makes a stage from options returned by Decode.
func (s *Spec) New(opts any, env Env) (Stage, error) {
	return s.build(opts, env)
}

// Build decodes options and makes the stage.
func (s *Spec) Build(options *yaml.Node, env Env) (Stage, error) {
	opts, err := s.decode(options)
	if err != nil {
		return nil, err
	}
	return s.build(opts, env)
}

// decodeStrict decodes a YAML mapping into dst, rejecting unknown keys and
// fractions given for integers.
func decodeStrict(node *yaml.Node, dst any) error {
	if node == nil || node.Kind == 0 {
		return nil
	}
	if node.Kind == yaml.ScalarNode && node.Tag == "!!null" {
		return nil
	}
	if err := checkKnownFields(node, reflect.TypeOf(dst), ""); err != nil {
		return fmt.Errorf("invalid options: %w", err)
	}
	if err := checkIntegers(node, reflect.TypeOf(dst), ""); err != nil {
		return fmt.Errorf("invalid options: %w", err)
	}
	// Decoding the node itself keeps its line numbers those of the file.
	if err := node.Decode(dst); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			return fmt.Errorf("invalid options: %s", strings.Join(te.Errors, "; "))
		}
		return fmt.Errorf("invalid options: %w", err)
	}
	return nil
}

// describeOptions lists the tagged fields of an options struct.
func describeOptions(defaults any) []OptionSpec {
	v := reflect.ValueOf(defaults)
	if v.Kind() != reflect.Struct {
		return nil
	}
	var out []OptionSpec
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		key, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if key == "" || key == "-" {
			continue
		}
		def := formatDefault(v.Field(i).Interface())
		out = append(out, OptionSpec{
			Name:    key,
			Type:    f.Type.String(),
			Default: def,
			Doc:     f.Tag.Get("doc"),
		})
	}
	return out
}

// formatDefault writes a default value as one line of YAML, lists and
// mappings in flow style ("[email, ipv4]").
func formatDefault(v any) string {
	var node yaml.Node
	if err := node.Encode(v); err != nil {
		return "?"
	}
	var flow func(n *yaml.Node)
	flow = func(n *yaml.Node) {
		n.Style |= yaml.FlowStyle
		for _, c := range n.Content {
			flow(c)
		}
	}
	flow(&node)
	raw, err := yaml.Marshal(&node)
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(raw))
}
