package container

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"

	"github.com/docker/docker/errdefs"
)

// A signal that the engine refused is done with; one that never reached
// the engine stays due until it answers again.
func TestEngineAnswered(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{errdefs.NotFound(errors.New("No such container: x")), true},
		{errdefs.Conflict(errors.New("container x is not running")), true},
		{errdefs.System(errors.New("internal")), true},
		{io.ErrUnexpectedEOF, false},
		{fmt.Errorf("wait for container: %w", io.EOF), false},
		{context.DeadlineExceeded, false},
		{&net.OpError{Op: "dial", Net: "unix", Err: errors.New("connect: no such file or directory")}, false},
		{errdefs.Unavailable(errors.New("shutting down")), false},
	} {
		if got := engineAnswered(c.err); got != c.want {
			t.Errorf("engineAnswered(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
