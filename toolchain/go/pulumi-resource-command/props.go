package main

import (
	"sort"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"google.golang.org/protobuf/types/known/structpb"
)

var unmarshalOpts = plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true, SkipNulls: true}

func unmarshal(s *structpb.Struct) (resource.PropertyMap, error) {
	if s == nil {
		return resource.PropertyMap{}, nil
	}
	return plugin.UnmarshalProperties(s, unmarshalOpts)
}

func marshal(m resource.PropertyMap) (*structpb.Struct, error) {
	return plugin.MarshalProperties(m, plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true})
}

// unwrap strips secret and output wrappers; known is false when the value (or
// something inside it) is not known yet.
func unwrap(v resource.PropertyValue) (resource.PropertyValue, bool) {
	for {
		switch {
		case v.IsSecret():
			v = v.SecretValue().Element
		case v.IsComputed():
			return v, false
		case v.IsOutput():
			o := v.OutputValue()
			if !o.Known {
				return v, false
			}
			v = o.Element
		default:
			return v, true
		}
	}
}

// known reports whether v contains no unknowns at any depth.
func known(v resource.PropertyValue) bool {
	v, ok := unwrap(v)
	if !ok {
		return false
	}
	switch {
	case v.IsArray():
		for _, e := range v.ArrayValue() {
			if !known(e) {
				return false
			}
		}
	case v.IsObject():
		for _, e := range v.ObjectValue() {
			if !known(e) {
				return false
			}
		}
	}
	return true
}

// plain turns a (known) property value into a plain Go value.
func plain(v resource.PropertyValue) any {
	v, ok := unwrap(v)
	if !ok {
		return nil
	}
	switch {
	case v.IsNull():
		return nil
	case v.IsString():
		return v.StringValue()
	case v.IsNumber():
		return v.NumberValue()
	case v.IsBool():
		return v.BoolValue()
	case v.IsArray():
		out := make([]any, 0, len(v.ArrayValue()))
		for _, e := range v.ArrayValue() {
			out = append(out, plain(e))
		}
		return out
	case v.IsObject():
		out := map[string]any{}
		for k, e := range v.ObjectValue() {
			out[string(k)] = plain(e)
		}
		return out
	}
	return nil
}

func getString(m resource.PropertyMap, key string) (string, bool) {
	v, ok := m[resource.PropertyKey(key)]
	if !ok {
		return "", false
	}
	s, isStr := plain(v).(string)
	return s, isStr
}

func getBool(m resource.PropertyMap, key string, def bool) bool {
	v, ok := m[resource.PropertyKey(key)]
	if !ok {
		return def
	}
	b, isBool := plain(v).(bool)
	if !isBool {
		return def
	}
	return b
}

func getNumber(m resource.PropertyMap, key string) (float64, bool) {
	v, ok := m[resource.PropertyKey(key)]
	if !ok {
		return 0, false
	}
	n, isNum := plain(v).(float64)
	return n, isNum
}

func getStringList(m resource.PropertyMap, key string) []string {
	v, ok := m[resource.PropertyKey(key)]
	if !ok {
		return nil
	}
	arr, isArr := plain(v).([]any)
	if !isArr {
		return nil
	}
	out := make([]string, 0, len(arr))
	for _, e := range arr {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func getStringMap(m resource.PropertyMap, key string) map[string]string {
	v, ok := m[resource.PropertyKey(key)]
	if !ok {
		return nil
	}
	obj, isObj := plain(v).(map[string]any)
	if !isObj {
		return nil
	}
	out := map[string]string{}
	for k, e := range obj {
		if s, ok := e.(string); ok {
			out[k] = s
		}
	}
	return out
}

func getObject(m resource.PropertyMap, key string) (resource.PropertyMap, bool) {
	v, ok := m[resource.PropertyKey(key)]
	if !ok {
		return nil, false
	}
	v, isKnown := unwrap(v)
	if !isKnown || !v.IsObject() {
		return nil, false
	}
	return v.ObjectValue(), true
}

// equalInputs compares two inputs ignoring secret wrappers. Assets and
// archives (a CopyToRemote source, or inside triggers) are equal when their
// hashes are, wherever they are: upstream's diff (pulumi-go-provider's infer)
// compares them with DeepEquals, which compares only hashes.
func equalInputs(a, b resource.PropertyValue) bool {
	if !known(a) || !known(b) {
		return false
	}
	return withoutSecrets(a).DeepEquals(withoutSecrets(b))
}

// withoutSecrets strips secret and output wrappers at any depth (for a known value).
func withoutSecrets(v resource.PropertyValue) resource.PropertyValue {
	v, _ = unwrap(v)
	switch {
	case v.IsArray():
		arr := make([]resource.PropertyValue, len(v.ArrayValue()))
		for i, e := range v.ArrayValue() {
			arr[i] = withoutSecrets(e)
		}
		return resource.NewArrayProperty(arr)
	case v.IsObject():
		obj := resource.PropertyMap{}
		for k, e := range v.ObjectValue() {
			obj[k] = withoutSecrets(e)
		}
		return resource.NewObjectProperty(obj)
	}
	return v
}

func sortedKeys(keys map[string]bool) []string {
	out := make([]string, 0, len(keys))
	for k := range keys {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
