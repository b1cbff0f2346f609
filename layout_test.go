package main

import (
	"os/exec"
	"strings"
	"testing"
)

// Every package says what it is for in a doc comment: the first thing a
// newcomer reads of it (go doc, the package list).
func TestEveryPackageHasADocComment(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}}\t{{.Doc}}", "./...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, doc, _ := strings.Cut(line, "\t")
		n++
		if strings.TrimSpace(doc) == "" {
			t.Errorf("package %s has no doc comment", pkg)
		}
	}
	if n < 20 {
		t.Fatalf("go list saw %d packages: %s", n, out)
	}
}
