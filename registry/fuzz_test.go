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

// FuzzValidateID: never panics; an accepted id is 1-64 bytes of the
// allowed characters, starting with a letter or digit.
func FuzzValidateID(f *testing.F) {
	for _, s := range []string{"T001", "", "-x", "a/b", "..", "a b", "é", "a\x00", "build-1.2_x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		if ValidateID(id) != nil {
			return
		}
		if len(id) == 0 || len(id) > MaxIDLen {
			t.Fatalf("accepted %q of length %d", id, len(id))
		}
		for i, c := range []byte(id) {
			alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
			if !alnum && (i == 0 || (c != '-' && c != '_' && c != '.')) {
				t.Fatalf("accepted %q with %q at %d", id, c, i)
			}
		}
	})
}
