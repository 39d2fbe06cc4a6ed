package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
)

// version, when set at link time (go build -ldflags "-X main.version=v1.2.0"), replaces the
// module version of the build info: a build from a clone has none ("(devel)").
var version string

// runVersion prints the module version, the VCS revision the binary was built from (when the
// build recorded one), and the Go version and platform. It takes no shared flags.
func runVersion(_ context.Context, a *app, args []string) error {
	fs := a.flagSet("")
	if err := a.parse(fs, args, quiet); err != nil {
		return err
	}
	fmt.Fprintln(a.stdout, versionText(debug.ReadBuildInfo()))
	return nil
}

// versionText is "hubsync v1.2.0 (revision 0123456789ab, 2026-03-02T09:00:00Z, modified) go1.26.1 linux/amd64".
func versionText(info *debug.BuildInfo, ok bool) string {
	v := version
	if v == "" && ok {
		v = info.Main.Version
	}
	if v == "" {
		v = "(unknown)"
	}
	var rev, at string
	modified := false
	goVersion := runtime.Version()
	if ok {
		goVersion = info.GoVersion
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				at = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	out := "hubsync " + v
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		out += " (revision " + rev
		if at != "" {
			out += ", " + at
		}
		if modified {
			out += ", modified"
		}
		out += ")"
	}
	return fmt.Sprintf("%s %s %s/%s", out, goVersion, runtime.GOOS, runtime.GOARCH)
}
