package main

import (
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
)

// version is the release name. A release build sets it with
// -ldflags "-X main.version=v1.2.3"; otherwise it is the main module's
// version from the build information (a tag or pseudo-version when built
// from a git checkout, "(devel)" when not).
var version = ""

// errVersion is returned when --version was asked for and printed.
var errVersion = errors.New("version requested")

// buildInfo is what an operator needs to check a deployed binary against
// advisories: which leadbook, from which commit, built with which Go.
type buildInfo struct {
	Version  string
	Commit   string // "unknown" when the build recorded none
	Modified bool   // the work tree had uncommitted changes
	Time     string // commit time, RFC 3339, or ""
	Go       string // like go1.26.11
	Platform string // like linux/amd64
}

// readBuildInfo reads the binary's own build information.
func readBuildInfo() buildInfo {
	bi, _ := debug.ReadBuildInfo()
	return buildInfoOf(bi, version)
}

// buildInfoOf extracts buildInfo from bi (which may be nil); release,
// when set, wins over the module version.
func buildInfoOf(bi *debug.BuildInfo, release string) buildInfo {
	info := buildInfo{Version: release, Commit: "unknown", Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi != nil {
		if info.Version == "" {
			info.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				info.Commit = s.Value
			case "vcs.modified":
				info.Modified = s.Value == "true"
			case "vcs.time":
				info.Time = s.Value
			}
		}
	}
	if info.Version == "" {
		info.Version = "(devel)"
	}
	return info
}

// String is the --version line: "leadbook v1.2.3 commit 0123abc
// (modified) 2026-11-27T10:00:00Z go1.26.11 linux/amd64".
func (b buildInfo) String() string {
	s := "leadbook " + b.Version + " commit " + b.Commit
	if b.Modified {
		s += " (modified)"
	}
	if b.Time != "" {
		s += " " + b.Time
	}
	return fmt.Sprintf("%s %s %s", s, b.Go, b.Platform)
}
