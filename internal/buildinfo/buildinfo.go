// Package buildinfo says which build of syncer is running: the version
// `make build` stamps (else the module's), the VCS revision and its time,
// the build time and the Go version. `syncer version`, syncer_build_info
// and the status page's footer all read it, so they agree.
package buildinfo

import (
	"runtime/debug"
	"strings"
)

// Stamped by the linker (`make build`, the Dockerfile):
//
//	-X syncer/internal/buildinfo.version=v1.2.3 -X syncer/internal/buildinfo.buildTime=2026-12-04T20:00:00Z
//	-X syncer/internal/buildinfo.revision=<git commit>  (where .git is not there to embed it)
var version, buildTime, revision string

// Info is one build's identity. Empty fields were not known at build time.
type Info struct {
	Version   string `json:"version"`
	Revision  string `json:"revision"`
	Modified  bool   `json:"modified"`   // built from a tree with uncommitted changes
	VCSTime   string `json:"vcs_time"`   // the revision's commit time
	BuildTime string `json:"build_time"` // when `make build` ran
	GoVersion string `json:"go_version"`
}

// Read returns this binary's build info.
func Read() Info {
	i := Info{Version: version, Revision: revision, BuildTime: buildTime}
	bi, ok := debug.ReadBuildInfo()
	if ok {
		i.GoVersion = bi.GoVersion
		if i.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			i.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if i.Revision == "" {
					i.Revision = s.Value
				}
			case "vcs.time":
				i.VCSTime = s.Value
			case "vcs.modified":
				i.Modified = s.Value == "true"
			}
		}
	}
	if i.Version == "" {
		// Neither stamped nor a module version: say what it is built from.
		i.Version = "devel"
		if i.Revision != "" {
			i.Version += "-" + short(i.Revision)
		}
	}
	return i
}

// String is the one-line form: version, short revision, "+dirty" when modified.
func (i Info) String() string {
	s := i.Version
	if i.Revision != "" && !strings.Contains(s, short(i.Revision)) {
		s += " " + short(i.Revision)
	}
	if i.Modified {
		s += "+dirty"
	}
	return s
}

func short(rev string) string {
	if len(rev) > 12 {
		return rev[:12]
	}
	return rev
}
