// Package version owns what a Throughcare binary says about its own build:
// the module version, the version-control revision and whether the tree
// was modified, and the Go version, all read from the build information Go
// embeds in every binary (runtime/debug.ReadBuildInfo). Both commands print
// it for --version and the server exports it as a metric.
package version

import (
	"fmt"
	"runtime/debug"
)

// Info is a binary's build.
type Info struct {
	// Module is the main module's version ("(devel)" for a binary built
	// from a checkout rather than installed as module@version).
	Module string
	// Revision is the version-control commit the binary was built from,
	// and Modified says the tree had uncommitted changes; both are empty
	// when the build did not stamp them (-buildvcs=false, or no checkout).
	Revision string
	Modified bool
	// Time is the commit's time (RFC 3339), when stamped.
	Time string
	// Go is the Go toolchain that built the binary.
	Go string
}

// Read returns this binary's build. Without build information (a binary
// built without module support) every field but Go says "unknown".
func Read() Info {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return Info{Module: "unknown", Go: "unknown"}
	}
	return FromBuildInfo(bi)
}

// FromBuildInfo picks the fields of Info out of bi.
func FromBuildInfo(bi *debug.BuildInfo) Info {
	in := Info{Module: bi.Main.Version, Go: bi.GoVersion}
	if in.Module == "" {
		in.Module = "unknown"
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			in.Revision = s.Value
		case "vcs.modified":
			in.Modified = s.Value == "true"
		case "vcs.time":
			in.Time = s.Value
		}
	}
	return in
}

// RevisionOrUnknown is the revision, with "-modified" after it for a
// modified tree, or "unknown" when the build did not stamp one.
func (in Info) RevisionOrUnknown() string {
	switch {
	case in.Revision == "":
		return "unknown"
	case in.Modified:
		return in.Revision + "-modified"
	}
	return in.Revision
}

// String is the line --version prints after the command's name, such as
// "v1.2.0 (revision 0eec819…, 2026-12-06T23:10:00Z) go1.26.0".
func (in Info) String() string {
	s := fmt.Sprintf("%s (revision %s", in.Module, in.RevisionOrUnknown())
	if in.Time != "" {
		s += ", " + in.Time
	}
	return s + ") " + in.Go
}
