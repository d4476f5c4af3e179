package launch

// FaultHook is nil in the watchdog; tests set it to stop a supervisor at
// chosen points of its life, or to act at chosen points of a sweep.
var FaultHook func(point string)

// fault calls FaultHook at a named point.
func fault(point string) {
	if FaultHook != nil {
		FaultHook(point)
	}
}
