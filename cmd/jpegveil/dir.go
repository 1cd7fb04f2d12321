package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"jpegveil/keystream"
	"jpegveil/veil"
)

// entryKind classifies what the walk of the input tree found.
type entryKind uint8

const (
	kindDir entryKind = iota
	kindFile
	kindSymlink
	kindOther // device, FIFO, socket
	kindError // could not be read
)

type treeEntry struct {
	rel  string // path relative to the input directory
	kind entryKind
	perm fs.FileMode
	size int64
	err  error
}

// dirCounts are the outcomes of a directory run.
type dirCounts struct {
	transformed, partial, copied, failed, skipped int
}

// transformDir mirrors the tree in into fl.out, transforming the JPEG
// files and copying the others.
func (a *app) transformDir(d direction, in string, fl transformFlags) error {
	switch {
	case fl.inPlace:
		return usagef("--in-place is not supported for directories; give -o DIR")
	case fl.out == "-":
		return usagef("cannot write a directory to stdout; give -o DIR")
	}
	out := fl.out
	if fi, err := os.Stat(out); err == nil && !fi.IsDir() {
		return fileErr(out, errors.New("is not a directory (IN is a directory)"))
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fileErr(out, err)
	}
	if err := checkNesting(in, out); err != nil {
		return fileErr(out, err)
	}
	entries, err := walkTree(in)
	if err != nil {
		return fileErr(in, err)
	}
	ring, err := a.loadKeyring(keyOptions{path: fl.key, passphraseFile: fl.passphraseFile})
	if err != nil {
		return err
	}

	var files int
	var total int64
	for _, e := range entries {
		if e.kind == kindFile {
			files++
			total += e.size
		}
	}
	fl.scratch = new(veil.Scratch)
	_, isTerm := terminalFd(a.stderr)
	p := newProgress(a.stderr, isTerm, files, total)
	var c dirCounts
	for _, e := range entries {
		src, dst := filepath.Join(in, e.rel), filepath.Join(out, e.rel)
		switch e.kind {
		case kindError:
			c.failed++
			p.logf("jpegveil: %s: %s", src, message(e.err))
		case kindDir:
			if err := mkdirMirror(dst, e.perm); err != nil {
				c.failed++
				p.logf("jpegveil: %s: %s", dst, message(err))
			}
		case kindSymlink:
			c.skipped++
			p.logf("skipped (symbolic link): %s", src)
		case kindOther:
			c.skipped++
			p.logf("skipped (not a regular file): %s", src)
		case kindFile:
			a.dirFile(d, ring, src, dst, fl, p, &c)
			p.add(e.size)
		}
	}
	p.finish()
	summary := fmt.Sprintf("%d %s", c.transformed, d.past())
	if c.partial > 0 {
		summary += fmt.Sprintf(" (%d partially)", c.partial)
	}
	summary += fmt.Sprintf(", %d copied, %d failed", c.copied, c.failed)
	if c.skipped > 0 {
		summary += fmt.Sprintf(", %d skipped", c.skipped)
	}
	fmt.Fprintln(a.stderr, summary)
	if c.failed > 0 {
		return &reportedError{c.failed}
	}
	return nil
}

// dirFile handles one regular file of a directory run.
func (a *app) dirFile(d direction, ring *keystream.Keyring, src, dst string, fl transformFlags, p *progress, c *dirCounts) {
	fail := func(name string, err error) {
		c.failed++
		p.logf("jpegveil: %s: %s", name, message(err))
	}
	f, err := os.Open(src)
	if err != nil {
		fail(src, err)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		fail(src, err)
		return
	}
	if err := checkOutput(dst, fi, fl.force); err != nil {
		fail(dst, err)
		return
	}
	br := bufio.NewReaderSize(f, 64<<10)
	head, _ := br.Peek(2)
	if !isJPEG(head) {
		if err := copyFile(br, dst, fi.Mode().Perm(), fl.force); err != nil {
			fail(dst, err)
			return
		}
		c.copied++
		p.logf("copied unchanged (not a JPEG): %s", src)
		return
	}
	rt := &readTracker{r: br}
	r, key, err := openTransform(d, ring, rt, fl.veilOptions(), fl.forceDirection)
	if err != nil {
		fail(src, err)
		return
	}
	if note := directionNote(d, ring, key); note != "" {
		p.logf("jpegveil: %s: %s", src, note)
	}
	res, perr, err := transformFile(r, rt, dst, fi.Mode().Perm(), fl.force, fl.allowPartial, true)
	switch {
	case errors.Is(err, errExists) || isWriteError(err):
		fail(dst, err)
	case err != nil:
		fail(src, err)
	case perr != nil && !fl.allowPartial:
		fail(src, fmt.Errorf("%s (not written)", message(perr)))
	case perr != nil && !res.Transformed:
		c.copied++
		p.logf("jpegveil: %s: warning: %s", src, partialNote(d, res, perr))
	case perr != nil:
		c.transformed++
		c.partial++
		p.logf("jpegveil: %s: warning: %s", src, partialNote(d, res, perr))
	default:
		c.transformed++
		p.logf("%s: %s", d.past(), src)
	}
}

// isJPEG reports whether a file starts with SOI. Decoders skip junk between
// SOI and the next marker, so such a file is a photo: it goes through the
// transform and its single-file policy (refused unless --allow-partial),
// never copied unchanged.
func isJPEG(head []byte) bool {
	return len(head) >= 2 && head[0] == 0xFF && head[1] == 0xD8
}

// copyFile copies src to dst atomically.
func copyFile(src io.Reader, dst string, perm fs.FileMode, replace bool) error {
	af, err := createAtomic(dst, perm)
	if err != nil {
		return &writeError{err}
	}
	rt := &readTracker{r: src}
	if _, err := io.Copy(af, rt); err != nil {
		af.abort()
		if rt.err != nil {
			return fmt.Errorf("cannot read: %w", rt.err)
		}
		return &writeError{err}
	}
	if err := af.commit(replace); err != nil {
		if errors.Is(err, errExists) {
			return err
		}
		return &writeError{err}
	}
	return nil
}

// mkdirMirror creates an output directory with the input's permissions,
// plus owner rwx so that its contents can be written.
func mkdirMirror(dir string, perm fs.FileMode) error {
	if err := os.MkdirAll(dir, perm|0o700); err != nil {
		return fmt.Errorf("cannot create directory: %w", err)
	}
	return nil
}

// walkTree lists the input tree in lexical order without following
// symbolic links. Entries that cannot be read are listed as kindError.
func walkTree(root string) ([]treeEntry, error) {
	var entries []treeEntry
	err := filepath.WalkDir(root, func(path string, de fs.DirEntry, err error) error {
		rel, rerr := filepath.Rel(root, path)
		if rerr != nil {
			return rerr
		}
		if err != nil {
			if path == root {
				return err
			}
			entries = append(entries, treeEntry{rel: rel, kind: kindError, err: err})
			return nil // for a directory, WalkDir skips its contents
		}
		info, err := de.Info()
		if err != nil {
			entries = append(entries, treeEntry{rel: rel, kind: kindError, err: err})
			return nil
		}
		e := treeEntry{rel: rel, perm: info.Mode().Perm(), size: info.Size()}
		switch {
		case de.IsDir():
			e.kind = kindDir
		case de.Type()&fs.ModeSymlink != 0:
			e.kind = kindSymlink
		case de.Type().IsRegular():
			e.kind = kindFile
		default:
			e.kind = kindOther
		}
		entries = append(entries, e)
		return nil
	})
	return entries, err
}

// checkNesting refuses an output directory that is the input directory,
// lies inside it (the run would read its own output) or contains it (the
// mirror could land on input files).
func checkNesting(in, out string) error {
	inAbs, err := filepath.Abs(in)
	if err != nil {
		return err
	}
	if r, err := filepath.EvalSymlinks(inAbs); err == nil {
		inAbs = r
	}
	outAbs, err := resolveExisting(out)
	if err != nil {
		return err
	}
	switch {
	case inAbs == outAbs:
		return errors.New("is the input directory")
	case within(outAbs, inAbs):
		return fmt.Errorf("is inside the input directory %s", in)
	case within(inAbs, outAbs):
		return fmt.Errorf("contains the input directory %s", in)
	}
	return nil
}

// resolveExisting returns the absolute path of p with symbolic links
// resolved in the part of it that exists.
func resolveExisting(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	cur, rest := abs, ""
	for {
		if r, err := filepath.EvalSymlinks(cur); err == nil {
			return filepath.Join(r, rest), nil
		}
		parent := filepath.Dir(cur)
		if parent == cur {
			return abs, nil
		}
		rest = filepath.Join(filepath.Base(cur), rest)
		cur = parent
	}
}

// within reports whether p is strictly inside dir.
func within(p, dir string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != "." && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}
