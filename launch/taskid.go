package launch

// DefaultID is the task id of a run started without --id: prefix, "-" and
// the last eight hex digits of the run id. Those are random; a UUIDv7
// begins with its start time, which runs started within a minute share.
func DefaultID(prefix, runID string) string { return prefix + "-" + runID[len(runID)-8:] }
