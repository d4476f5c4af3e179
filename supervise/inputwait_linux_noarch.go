//go:build linux && !amd64 && !arm64

package supervise

// inputCalls is empty on the architectures without a table: InputWaits
// goes by /proc/PID/wchan alone there (inputwait_linux.go).
var inputCalls map[int]inputCall
