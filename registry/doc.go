// Package registry reads and writes the watchdog's JSON task registry.
//
// The file format is a superset of the earlier Rust task-watchdog's
// .claude/process_registry.json: a top-level object with a "tasks" map from
// task id to task. Fields this package does not know, at the top level and
// inside a task, are carried through every rewrite byte-for-byte, and a task
// entry that does not decode is kept exactly as it was found.
//
// Every change is one read-modify-write under an exclusive flock on the
// sidecar process_registry.lock: lock, re-read, change, write a temporary
// file, fsync, rename. A lock counts only while the lock file is still the
// one at its path, and the writer also flocks the registry file it re-read,
// so a lock file removed by a cleaner does not let two writers in at once.
// Readers never take a lock; rename makes every state they can see a whole
// one.
//
// The package does not start, watch or signal processes, and it never
// follows a symlink at the registry, lock or temporary path.
package registry
