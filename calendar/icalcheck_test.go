package calendar

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it)\n got:\n%s\nwant:\n%s", name, got, want)
	}
}

// icalcheckDir locates the independent iCalendar checkers (shared/icalcheck):
// $LEADBOOK_ICALCHECK_DIR, else ../../shared/icalcheck from this package.
// When the tool or node is missing the test fails under CI and is skipped
// elsewhere.
func icalcheckDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("LEADBOOK_ICALCHECK_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", "shared", "icalcheck")
	}
	missing := func(why string) {
		t.Helper()
		if os.Getenv("CI") != "" {
			t.Fatalf("icalcheck: %s (set LEADBOOK_ICALCHECK_DIR and run its setup)", why)
		}
		t.Skipf("icalcheck: %s; skipping (CI fails here)", why)
	}
	if _, err := os.Stat(filepath.Join(dir, "check")); err != nil {
		missing(err.Error())
	}
	if _, err := exec.LookPath("node"); err != nil {
		missing("node is not installed")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// runIcalcheck runs dir/tool with args and returns its output and exit code.
func runIcalcheck(t *testing.T, dir, tool string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(filepath.Join(dir, tool), args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return out.String(), 0
	case errors.As(err, &ee):
		if ee.ExitCode() == 2 && strings.Contains(out.String(), "setup first") {
			if os.Getenv("CI") != "" {
				t.Fatalf("icalcheck is not set up: %s", out.String())
			}
			t.Skipf("icalcheck is not set up (%s); skipping", strings.TrimSpace(out.String()))
		}
		return out.String(), ee.ExitCode()
	default:
		t.Fatalf("%s: %v", tool, err)
		return "", -1
	}
}
