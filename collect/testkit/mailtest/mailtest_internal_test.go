package mailtest

import (
	"os"
	"path/filepath"
	"testing"
)

// Ensure a missing binary is reported with the install command, and bin/tools is searched.
func TestFindInRepo(t *testing.T) {
	repo := t.TempDir()
	sub := filepath.Join(repo, "report", "x")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(repo, "go.mod"), []byte("module x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := findInRepo(sub)
	want := "mailpit not found: run `make tools` (go install github.com/axllent/mailpit@v1.33.1)"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %q", err, want)
	}
	bin := filepath.Join(repo, "bin", "tools", "mailpit")
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got, err := findInRepo(sub); err != nil || got != bin {
		t.Fatalf("got %q, %v; want %s", got, err, bin)
	}
}
