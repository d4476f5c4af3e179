package tasklog

import (
	"sync"
	"time"
)

// pollEvery is how often a log is looked at where no notification says
// it changed.
const pollEvery = 200 * time.Millisecond

// poll sends to c every pollEvery until stopped.
func poll(c chan struct{}) (<-chan struct{}, func()) {
	stop := make(chan struct{})
	go func() {
		t := time.NewTicker(pollEvery)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				wake(c)
			}
		}
	}()
	return c, sync.OnceFunc(func() { close(stop) })
}

// wake leaves one wake-up in c unless one is waiting already.
func wake(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}
