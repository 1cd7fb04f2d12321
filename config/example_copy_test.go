package config

import (
	"bytes"
	"os"
	"testing"
)

func TestExampleCopyMatchesRoot(t *testing.T) {
	root, err := os.ReadFile("../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(root, exampleConfig) {
		t.Fatal("config/config.example.yaml differs from ../config.example.yaml: copy the root file over it")
	}
}

func TestWithStateDir(t *testing.T) {
	dir := t.TempDir()
	cfg, err := ParseConfig(WithStateDir(ExampleConfig(), dir), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if cfg.StateDir != dir {
		t.Fatalf("state_dir %q, want %q", cfg.StateDir, dir)
	}
}
