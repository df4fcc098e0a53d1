package version

import (
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestFromBuildInfo(t *testing.T) {
	for _, tc := range []struct {
		name string
		bi   debug.BuildInfo
		want string
	}{
		{"installed at a version", debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v1.2.0"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0eec819"}, {Key: "vcs.modified", Value: "false"}, {Key: "vcs.time", Value: "2026-12-06T23:10:00Z"}}},
			"v1.2.0 (revision 0eec819, 2026-12-06T23:10:00Z) go1.26.0"},
		{"a modified checkout", debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "(devel)"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0eec819"}, {Key: "vcs.modified", Value: "true"}}},
			"(devel) (revision 0eec819-modified) go1.26.0"},
		{"built without vcs stamping", debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "(devel)"},
			Settings: []debug.BuildSetting{{Key: "-buildvcs", Value: "false"}}},
			"(devel) (revision unknown) go1.26.0"},
		{"no main module version", debug.BuildInfo{GoVersion: "go1.26.0"}, "unknown (revision unknown) go1.26.0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := FromBuildInfo(&tc.bi).String(); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

// TestRead reads the test binary's own build: it names the Go that built it.
func TestRead(t *testing.T) {
	in := Read()
	if in.Go != runtime.Version() {
		t.Errorf("Go = %q, want %q", in.Go, runtime.Version())
	}
	if !strings.HasSuffix(in.String(), " "+runtime.Version()) {
		t.Errorf("String() = %q, want it to end with the Go version", in.String())
	}
}
