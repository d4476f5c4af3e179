package launch

import (
	"os"

	"github.com/watchdog-run/watchdog/registry"
)

// EnvTimeout is the deadline of a run started without --timeout (exec,
// docker-run) and of a shimmed command, over the shim's own.
const EnvTimeout = "WATCHDOG_TIMEOUT"

// EnvIdleTimeout is the idle timeout of a run started without
// --idle-timeout (exec, docker-run) and of a shimmed command, over the
// shim's own.
const EnvIdleTimeout = "WATCHDOG_IDLE_TIMEOUT"

// DropEmptyEnv unsets the watchdog's variables that are set but empty: an
// empty variable means unset, as registry.Path and the shims read them,
// where urfave/cli would take it as a value.
func DropEmptyEnv() {
	for _, k := range []string{registry.EnvPath, EnvTimeout, EnvIdleTimeout} {
		if v, ok := os.LookupEnv(k); ok && v == "" {
			os.Unsetenv(k)
		}
	}
}

// TimeoutSource names where a --timeout value came from, for its error
// message: the option, or WATCHDOG_TIMEOUT standing in for it (a value the
// environment holds too is taken to be the environment's).
func TimeoutSource(value string) string { return source(EnvTimeout, "--timeout", value) }

// IdleTimeoutSource is TimeoutSource for --idle-timeout and
// WATCHDOG_IDLE_TIMEOUT.
func IdleTimeoutSource(value string) string {
	return source(EnvIdleTimeout, "--idle-timeout", value)
}

func source(env, option, value string) string {
	if v := os.Getenv(env); v != "" && v == value {
		return env + " (" + option + ")"
	}
	return option
}
