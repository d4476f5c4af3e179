package launch

// NotStarted is a Prepare failure of a Runner outside this package that
// ends the run before anything is recorded, as a bad option does (Run
// returns ee as it is): docker-run's log that cannot be made.
func NotStarted(ee *ExitError) error { return notStarted{ee} }
