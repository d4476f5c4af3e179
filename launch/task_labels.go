package launch

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/watchdog-run/watchdog/supervise"
)

// Label limits: labels land in the registry, in listings and in container
// labels, so they stay short and printable.
const (
	MaxLabelKey   = 128
	MaxLabelValue = 1024
)

// ContainerLabelPrefix is the namespace of the labels docker-run puts on a
// container (task id, run id, supervisor, deadline): sweep trusts them, so
// a user's label may not be in it.
const ContainerLabelPrefix = "watchdog."

// ParseLabels reads KEY=VALUE labels, the one rule of every command that
// records them. Keys are letters, digits, '.', '_', '-' and '/'; values
// are valid UTF-8 without control characters.
func ParseLabels(kvs []string) (map[string]string, error) {
	if len(kvs) == 0 {
		return nil, nil
	}
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("invalid label %s: want KEY=VALUE", supervise.Quote(kv))
		}
		if err := checkLabel(k, v); err != nil {
			return nil, err
		}
		m[k] = v
	}
	return m, nil
}

// ParseContainerLabels is ParseLabels for a container: the watchdog's own
// namespace is refused too.
func ParseContainerLabels(kvs []string) (map[string]string, error) {
	m, err := ParseLabels(kvs)
	if err != nil {
		return nil, err
	}
	for k := range m {
		if strings.HasPrefix(k, ContainerLabelPrefix) {
			return nil, fmt.Errorf("invalid label %s: the %s namespace is the watchdog's own", supervise.Quote(k), ContainerLabelPrefix)
		}
	}
	return m, nil
}

func checkLabel(k, v string) error {
	for _, r := range k {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-/", r)) {
			return fmt.Errorf("invalid label key %s: use letters, digits, '.', '_', '-' and '/'", supervise.Quote(k))
		}
	}
	if len(k) > MaxLabelKey || len(v) > MaxLabelValue {
		return fmt.Errorf("invalid label %s: too long (keys up to %d bytes, values up to %d)", supervise.Quote(k), MaxLabelKey, MaxLabelValue)
	}
	if !utf8.ValidString(v) {
		return fmt.Errorf("invalid label %s: its value is not valid UTF-8", supervise.Quote(k))
	}
	if strings.IndexFunc(v, unicode.IsControl) >= 0 {
		return fmt.Errorf("invalid label %s: its value has control characters", supervise.Quote(k))
	}
	return nil
}
