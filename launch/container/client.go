package container

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/docker/docker/client"
)

// Labels the watchdog puts on its containers. Sweep acts only on
// containers carrying LabelRunID.
const (
	LabelTaskID     = "watchdog.task-id"
	LabelRunID      = "watchdog.run-id"
	LabelSupervisor = "watchdog.supervisor" // "PID.STARTTICKS"
	LabelHost       = "watchdog.supervisor-host"
	LabelBootID     = "watchdog.supervisor-boot-id"
	LabelDeadline   = "watchdog.deadline"   // RFC 3339; absent: no deadline
	LabelKillAfter  = "watchdog.kill-after" // seconds
	LabelRegistry   = "watchdog.registry"   // absolute path of the registry
	LabelKeep       = "watchdog.keep"       // "true": not removed at the end
)

// EngineError means no Docker engine answered.
type EngineError struct {
	Host string
	Err  error
}

func (e *EngineError) Error() string {
	return fmt.Sprintf("no Docker engine reachable at %s: %v", e.Host, e.Err)
}

// Connect makes a client from the environment and checks that an engine
// answers within a few seconds.
func Connect(ctx context.Context) (*client.Client, error) {
	opts := []client.Opt{client.FromEnv, client.WithAPIVersionNegotiation()}
	if os.Getenv("DOCKER_HOST") == "" {
		if host, err := contextHost(); err != nil {
			return nil, err
		} else if host != "" {
			opts = append(opts, client.WithHost(host))
		}
	}
	cli, err := client.NewClientWithOpts(opts...)
	if err != nil {
		return nil, err
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := cli.Ping(pctx); err != nil {
		cli.Close()
		return nil, &EngineError{Host: cli.DaemonHost(), Err: err}
	}
	cli.NegotiateAPIVersion(ctx)
	return cli, nil
}

// contextHost resolves DOCKER_CONTEXT (or the CLI's current context) to
// its engine address, as the docker CLI stores it.
func contextHost() (string, error) {
	name := os.Getenv("DOCKER_CONTEXT")
	cfgDir := os.Getenv("DOCKER_CONFIG")
	if cfgDir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", nil
		}
		cfgDir = filepath.Join(home, ".docker")
	}
	if name == "" {
		var cfg struct {
			CurrentContext string `json:"currentContext"`
		}
		if b, err := os.ReadFile(filepath.Join(cfgDir, "config.json")); err == nil {
			_ = json.Unmarshal(b, &cfg)
		}
		name = cfg.CurrentContext
	}
	if name == "" || name == "default" {
		return "", nil
	}
	sum := sha256.Sum256([]byte(name))
	b, err := os.ReadFile(filepath.Join(cfgDir, "contexts", "meta", hex.EncodeToString(sum[:]), "meta.json"))
	if err != nil {
		return "", fmt.Errorf("docker context %q: %w", name, err)
	}
	var meta struct {
		Endpoints map[string]struct {
			Host string `json:"Host"`
		} `json:"Endpoints"`
	}
	if err := json.Unmarshal(b, &meta); err != nil {
		return "", fmt.Errorf("docker context %q: %w", name, err)
	}
	host := meta.Endpoints["docker"].Host
	if host == "" {
		return "", errors.New("docker context " + name + " has no docker endpoint")
	}
	return host, nil
}
