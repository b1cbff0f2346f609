// Package wfdbtest finds the shared real recordings for tests: the
// ../shared/data folder beside the project (or $VIGIL_DATA). A test that
// needs them skips when they are absent, and fails instead when
// VIGIL_REQUIRE_DATA=1, as CI sets it.
package wfdbtest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Dir returns the shared data folder, or ends the test.
func Dir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("VIGIL_DATA")
	if dir == "" {
		dir = find()
	}
	if dir != "" {
		if st, err := os.Stat(filepath.Join(dir, "README.md")); err == nil && !st.IsDir() {
			return dir
		}
	}
	if os.Getenv("VIGIL_REQUIRE_DATA") == "1" {
		t.Fatalf("the shared recordings are missing: want ../shared/data beside the project (or $VIGIL_DATA), and VIGIL_REQUIRE_DATA=1 requires them")
	}
	t.Skip("the shared recordings (../shared/data) are not here; VIGIL_REQUIRE_DATA=1 makes this a failure")
	return ""
}

// Path returns a file or folder under the shared data folder.
func Path(t testing.TB, elem ...string) string {
	t.Helper()
	return filepath.Join(append([]string{Dir(t)}, elem...)...)
}

// find walks up from the working directory to the module root (the folder
// with go.mod) and returns ../shared/data from there.
func find() string {
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(filepath.Dir(d), "shared", "data")
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}

// Records lists the record names of a data folder's RECORDS file, so that
// a test follows the data set as it grows rather than a count of its own.
func Records(t testing.TB, dir string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "RECORDS"))
	if err != nil {
		t.Fatalf("the data folder's record list: %v", err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}
