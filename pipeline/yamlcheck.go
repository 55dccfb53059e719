package pipeline

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// checkIntegers reports a YAML float given for an integer field, such as
// `zstd_level: 0.5`. yaml.v3 (v3.0.6) decodes it to 0 without an error, so
// a typo would silently become the default. path names the field in the
// error, as in "output.zstd_level".
func checkIntegers(node *yaml.Node, t reflect.Type, path string) error {
	if node == nil {
		return nil
	}
	if node.Kind == yaml.DocumentNode {
		for _, c := range node.Content {
			if err := checkIntegers(c, t, path); err != nil {
				return err
			}
		}
		return nil
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if node.Kind == yaml.ScalarNode && node.ShortTag() == "!!float" {
			f, err := strconv.ParseFloat(node.Value, 64)
			if err != nil || f != math.Trunc(f) {
				return fmt.Errorf("line %d: %s: invalid value %s: must be a whole number", node.Line, path, node.Value)
			}
		}
	case reflect.Slice, reflect.Array:
		if node.Kind == yaml.SequenceNode {
			for i, c := range node.Content {
				if err := checkIntegers(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
					return err
				}
			}
		}
	case reflect.Map:
		if node.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(node.Content); i += 2 {
				if err := checkIntegers(node.Content[i+1], t.Elem(), joinPath(path, node.Content[i].Value)); err != nil {
					return err
				}
			}
		}
	case reflect.Struct:
		if node.Kind != yaml.MappingNode {
			return nil
		}
		fields := map[string]reflect.Type{}
		for i := 0; i < t.NumField(); i++ {
			key, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
			if key != "" && key != "-" {
				fields[key] = t.Field(i).Type
			}
		}
		for i := 0; i+1 < len(node.Content); i += 2 {
			key := node.Content[i].Value
			if ft, ok := fields[key]; ok {
				if err := checkIntegers(node.Content[i+1], ft, joinPath(path, key)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// checkKnownFields reports the first mapping key that names no field of
// the struct type t, with its line in the file and the valid keys. Types
// that decode themselves (yaml.Unmarshaler) are not looked into.
func checkKnownFields(node *yaml.Node, t reflect.Type, path string) error {
	if node == nil {
		return nil
	}
	if node.Kind == yaml.DocumentNode {
		for _, c := range node.Content {
			if err := checkKnownFields(c, t, path); err != nil {
				return err
			}
		}
		return nil
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		return nil
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		if node.Kind == yaml.SequenceNode {
			for i, c := range node.Content {
				if err := checkKnownFields(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
					return err
				}
			}
		}
	case reflect.Struct:
		if node.Kind != yaml.MappingNode {
			return nil
		}
		fields := map[string]reflect.Type{}
		var names []string
		for i := 0; i < t.NumField(); i++ {
			key, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
			if key != "" && key != "-" {
				fields[key] = t.Field(i).Type
				names = append(names, key)
			}
		}
		for i := 0; i+1 < len(node.Content); i += 2 {
			k := node.Content[i]
			ft, ok := fields[k.Value]
			if !ok {
				return fmt.Errorf("line %d: unknown field %q; valid fields: %s", k.Line, joinPath(path, k.Value), strings.Join(names, ", "))
			}
			if err := checkKnownFields(node.Content[i+1], ft, joinPath(path, k.Value)); err != nil {
				return err
			}
		}
	}
	return nil
}

var unmarshalerType = reflect.TypeOf((*yaml.Unmarshaler)(nil)).Elem()
