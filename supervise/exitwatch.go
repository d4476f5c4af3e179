package supervise

import "errors"

// ErrNotThatProcess: the pid is not (or no longer) the process meant.
var ErrNotThatProcess = errors.New("no such process: it has exited, or its pid now names another process")
