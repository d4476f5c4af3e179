// Package shims holds the watchdog's argv[0] entry points: the GNU
// coreutils-compatible `timeout`, and PATH shims that supervise commands in
// scripts nobody edits.
//
// The timeout drop-in parses its arguments exactly as coreutils 9.1 does
// (getopt_long with "+k:s:v", abbreviated long options, the same error
// messages and statuses). It does not translate messages into other
// languages, and its --version names the watchdog.
package shims
