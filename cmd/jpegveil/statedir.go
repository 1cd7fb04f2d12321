package main

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"syscall"
)

// errSharedStateDir is wrapped by the error for a state directory that
// others may enter and that jpegveil may not make private.
var errSharedStateDir = errors.New("the state directory is accessible by group or others")

// privateStateDir makes sure only its owner can enter dir, which holds the
// key and the CA's private key. A directory of this user with group or
// other permissions is set to 0700, and the returned notice says so; one
// of another user is refused: changing it is that user's decision.
func privateStateDir(dir string) (notice string, err error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return "", fmt.Errorf("state directory: %w", err)
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("state directory %s is not a directory", dir)
	}
	perm := fi.Mode().Perm()
	if perm&0o077 == 0 || runtime.GOOS == "windows" {
		return "", nil
	}
	if sys, ok := fi.Sys().(*syscall.Stat_t); ok && int(sys.Uid) != os.Getuid() {
		return "", fmt.Errorf("state directory %s: %w (mode %04o) and belongs to another user (uid %d); its owner should run: chmod 700 %s",
			dir, errSharedStateDir, perm, sys.Uid, dir)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return "", fmt.Errorf("state directory %s: %w (mode %04o), and making it private failed: %v; run: chmod 700 %s", dir, errSharedStateDir, perm, err, dir)
	}
	return fmt.Sprintf("The state directory %s was accessible by group or others (mode %04o); it holds the key, so it is now private (mode 0700).", dir, perm), nil
}
