package container

import (
	"context"
	"fmt"
	"time"

	"github.com/docker/docker/client"

	"github.com/watchdog-run/watchdog/supervise"
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
	Host    string
	Context string // the docker CLI context that named Host; "" for none
	TLSDir  string // the context's TLS files; "" for none
	Err     error
}

func (e *EngineError) Error() string {
	switch {
	case e.TLSDir != "":
		return fmt.Sprintf("no Docker engine reachable at %s (docker context %s, TLS files in %s): %v",
			e.Host, supervise.Quote(e.Context), supervise.Quote(e.TLSDir), e.Err)
	case e.Context != "":
		return fmt.Sprintf("no Docker engine reachable at %s (docker context %s): %v", e.Host, supervise.Quote(e.Context), e.Err)
	}
	return fmt.Sprintf("no Docker engine reachable at %s: %v", e.Host, e.Err)
}

// Connect makes a client as the docker CLI would (DOCKER_HOST with
// DOCKER_TLS_VERIFY and DOCKER_CERT_PATH, else the DOCKER_CONTEXT or
// current context with its TLS files, else the local engine) and checks
// that an engine answers within a few seconds.
func Connect(ctx context.Context) (*client.Client, error) {
	dc, err := currentDockerContext()
	if err != nil {
		return nil, err
	}
	opts := []client.Opt{client.FromEnv}
	var name, tlsDir string
	if dc != nil {
		opts = dc.clientOpts() // as the CLI: not DOCKER_CERT_PATH
		name, tlsDir = dc.Name, dc.TLSDir
	}
	cli, err := client.NewClientWithOpts(append(opts, client.WithAPIVersionNegotiation())...)
	if err != nil {
		if name != "" {
			return nil, fmt.Errorf("docker context %s: %w", supervise.Quote(name), err)
		}
		return nil, err
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := cli.Ping(pctx); err != nil {
		cli.Close()
		return nil, &EngineError{Host: cli.DaemonHost(), Context: name, TLSDir: tlsDir, Err: err}
	}
	cli.NegotiateAPIVersion(ctx)
	return cli, nil
}
