// Package version says which watchdog this is: the version a release
// build was given with -ldflags "-X main.linkedVersion=...", else what the Go
// toolchain recorded in the binary (the module version of a `go install
// ...@v1.2.3`, or the commit of a build in a git checkout), else "dev".
package version

import (
	"runtime/debug"
	"sync"
)

// Of is the version of a binary whose linked-in version is linked ("dev"
// when the build set none). The build information is read only then.
func Of(linked string) string {
	if linked != "" && linked != "dev" {
		return linked
	}
	return fromBuildInfo()
}

var fromBuildInfo = sync.OnceValue(func() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	return FromInfo(info)
})

// FromInfo is the version build information names: the main module's
// version when it was built as a module (go install), else the VCS
// revision (12 hex digits, "-dirty" with uncommitted changes), else "dev".
func FromInfo(info *debug.BuildInfo) string {
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var revision, dirty string
	for _, s := range info.Settings {
		switch {
		case s.Key == "vcs.revision":
			revision = s.Value
		case s.Key == "vcs.modified" && s.Value == "true":
			dirty = "-dirty"
		}
	}
	if revision == "" {
		return "dev"
	}
	if len(revision) > 12 {
		revision = revision[:12]
	}
	return revision + dirty
}
