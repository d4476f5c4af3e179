// Package launch starts a native task: it resolves the command as a shell
// would, and starts it in a new session with the task's identity tags in
// its environment.
//
// It never runs a command through a shell: arguments reach the program
// verbatim. It does not wait for the process or signal it; package
// supervise does. Containers are started by launch/container, which the
// native path never imports.
package launch
