package main

import (
	"bufio"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// errExists is returned when an output file exists and may not be
// replaced.
var errExists = errors.New("already exists (use --force to overwrite it)")

// atomicFile is an output file written under a temporary name in the target
// directory and moved into place only when complete, so that a reader never
// sees a partial file and a failure leaves nothing behind.
type atomicFile struct {
	f      *os.File
	w      *bufio.Writer
	target string
	perm   fs.FileMode
}

func createAtomic(target string, perm fs.FileMode) (*atomicFile, error) {
	f, err := os.CreateTemp(filepath.Dir(target), "."+filepath.Base(target)+".jpegveil-*")
	if err != nil {
		return nil, err
	}
	return &atomicFile{f: f, w: bufio.NewWriterSize(f, 256<<10), target: target, perm: perm}, nil
}

func (af *atomicFile) Write(p []byte) (int, error) { return af.w.Write(p) }

// abort removes the temporary file.
func (af *atomicFile) abort() {
	af.f.Close()
	os.Remove(af.f.Name())
}

// commit flushes the file to disk and moves it to its target. Unless
// replace is set, an existing target is never replaced, not even one that
// appeared while the file was being written: the error is then errExists.
func (af *atomicFile) commit(replace bool) error {
	tmp := af.f.Name()
	err := af.w.Flush()
	if err == nil {
		err = af.f.Chmod(af.perm)
	}
	if err == nil {
		err = af.f.Sync()
	}
	if cerr := af.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if replace {
		err = os.Rename(tmp, af.target)
	} else {
		err = linkNoReplace(tmp, af.target)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// linkNoReplace moves tmp to target unless target exists. A hard link fails
// atomically when the target exists; where hard links are not supported it
// falls back to checking first, which leaves a small race.
func linkNoReplace(tmp, target string) error {
	err := os.Link(tmp, target)
	if err == nil {
		return os.Remove(tmp)
	}
	if errors.Is(err, fs.ErrExist) {
		return errExists
	}
	if _, serr := os.Lstat(target); serr == nil {
		return errExists
	}
	return os.Rename(tmp, target)
}

// checkOutput reports whether the output path may be written: it must not
// be the input (whatever the flags) nor exist without --force, and it must
// not be a directory.
func checkOutput(out string, in fs.FileInfo, force bool) error {
	fi, err := os.Stat(out)
	if errors.Is(err, fs.ErrNotExist) {
		if _, lerr := os.Lstat(out); lerr == nil && !force {
			return errExists // a dangling symbolic link
		}
		return nil
	}
	if err != nil {
		return err
	}
	switch {
	case in != nil && os.SameFile(fi, in):
		return errors.New("is the input file; use --in-place to rewrite it")
	case fi.IsDir():
		return errors.New("is a directory")
	case !force:
		return errExists
	}
	return nil
}
