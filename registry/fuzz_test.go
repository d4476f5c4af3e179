package registry

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzParse: the one-pass scanner accepts exactly what encoding/json
// accepts as a registry, and whatever it accepts re-encodes to valid JSON
// holding the same entries.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"tasks":{}}`))
	f.Add([]byte(`{"tasks":{"a":{"status":"running","native":{"pid":1}}},"v":[1,2.5e-3,true,null,"x\u00e9"]}`))
	f.Add([]byte(`{"tasks":{"a":{},"a":{"x":1}}}`))
	f.Add([]byte(`{"tasks":null}`))
	f.Add([]byte(`{"tasks":[1]}`))
	f.Add([]byte(`{"tasks":{"\u0041":{"k":"\"\\\/\b\f\n\r\t"}}}`))
	f.Add([]byte(`[[[[[[[[]]]]]]]]`))
	f.Add([]byte(`{"tasks":{"x":-0.0e+1}} `))
	f.Add([]byte("{\"tasks\":{\"x\":\"\x01\"}}"))
	f.Add([]byte(`{"a":01}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Parse(data)
		var top map[string]json.RawMessage
		stdErr := json.Unmarshal(data, &top)
		var tasks map[string]json.RawMessage
		if stdErr == nil && top == nil {
			stdErr = errSyntax // null top level
		}
		if stdErr == nil {
			if raw, ok := top["tasks"]; ok && !bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
				stdErr = json.Unmarshal(raw, &tasks)
			}
		}
		if len(bytes.TrimSpace(data)) == 0 {
			stdErr = nil // empty is an empty registry
		}
		if (err == nil) != (stdErr == nil) {
			t.Fatalf("Parse err=%v, encoding/json err=%v for %q", err, stdErr, data)
		}
		if err != nil {
			return
		}
		if r.Len() != len(tasks) {
			t.Fatalf("%d entries, encoding/json sees %d", r.Len(), len(tasks))
		}
		out, err := r.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if !json.Valid(out) {
			t.Fatalf("re-encoded registry is not valid JSON: %q", out)
		}
		r2, err := Parse(out)
		if err != nil || r2.Len() != r.Len() {
			t.Fatalf("re-parse: %v, %d vs %d entries", err, r2.Len(), r.Len())
		}
	})
}
