//go:build !linux

package supervise

import (
	"errors"
	"fmt"
	"io"
	"syscall"
	"time"
)

// Cgroups are Linux's: elsewhere a task's containment is its tree.

var errNoCgroups = errors.New("cgroups are a Linux feature")

func cgroupParent() (string, error)                                  { return "", errNoCgroups }
func CgroupBase() (string, error)                                    { return "", errNoCgroups }
func underTasks(base, path string) bool                              { return false }
func NewCgroup(name string) (*Cgroup, error)                         { return nil, errNoCgroups }
func TaskCgroups() ([]string, error)                                 { return nil, nil }
func (c *Cgroup) closeFD()                                           {}
func (c *Cgroup) Populated() bool                                    { return false }
func (c *Cgroup) Members() ([]int, error)                            { return nil, nil }
func (c *Cgroup) Signal(sig syscall.Signal) (int, error)             { return 0, nil }
func (c *Cgroup) Kill() error                                        { return nil }
func (c *Cgroup) RemoveWhenEmpty(d time.Duration, each func()) error { return nil }
func (c *Cgroup) Remove() error                                      { return nil }

// Usage is what a task used; there is nothing to read without cgroups.
type Usage struct {
	OOMKills   int
	PeakMemory int64
	CPUSeconds float64
}

func (c *Cgroup) SetLimits(l Limits) error { return ErrNoLimits }
func (c *Cgroup) Usage() Usage             { return Usage{} }

// OrphanV1Cgroups: none without cgroups.
func OrphanV1Cgroups() []string { return nil }

func (c *Cgroup) enterSpec(spec Spec) Spec { return spec }

// EnterArg is the first argument of the v1 cgroup step (Linux only).
const EnterArg = "__enter-cgroups"

// EnterAndExec is Linux's; elsewhere it is never asked for.
func EnterAndExec(args []string, stderr io.Writer) int {
	fmt.Fprintf(stderr, "watchdog: %s is Linux's\n", EnterArg)
	return ExitInternal
}
