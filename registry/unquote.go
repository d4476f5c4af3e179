package registry

import "encoding/json"

// unquote decodes a JSON string literal with escapes (rare in keys).
func unquote(lit []byte) (string, error) {
	var s string
	err := json.Unmarshal(lit, &s)
	return s, err
}
