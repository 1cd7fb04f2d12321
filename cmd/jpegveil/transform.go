package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"jpegveil/jpegbits"
	"jpegveil/keystream"
	"jpegveil/veil"
)

// direction names what encrypt and decrypt do. Both are the same XOR; the
// name only changes the messages.
type direction string

const (
	encrypting direction = "encrypt"
	decrypting direction = "decrypt"
)

// past is "encrypted" or "decrypted".
func (d direction) past() string { return string(d) + "ed" }

// transformFlags are the flags of encrypt and decrypt.
type transformFlags struct {
	key            string
	out            string
	passphraseFile string
	inPlace        bool
	force          bool
	forceDirection bool
	allowPartial   bool
	keepThumbnail  bool
	keepGPS        bool
	keepMPF        bool

	// scratch lends the judging's buffers from one file of a directory
	// run to the next.
	scratch *veil.Scratch
}

// veilOptions are the metadata switches of the flags, and the scratch.
func (fl *transformFlags) veilOptions() veil.Options {
	return veil.Options{KeepThumbnail: fl.keepThumbnail, KeepGPS: fl.keepGPS, KeepMPF: fl.keepMPF, Scratch: fl.scratch}
}

func newTransformCmd(a *app, d direction, short, long string) *cobra.Command {
	var fl transformFlags
	cmd := &cobra.Command{
		Use:   string(d) + " -k KEYFILE IN -o OUT | --in-place IN",
		Short: short,
		Long:  long + transformHelp,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.transform(d, args[0], fl)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&fl.key, "key", "k", "", "key file (required)")
	f.StringVarP(&fl.out, "output", "o", "", "output file or directory; - for stdout")
	f.BoolVar(&fl.inPlace, "in-place", false, "rewrite IN itself (atomically); not with -o")
	f.BoolVar(&fl.force, "force", false, "replace existing output files")
	f.BoolVar(&fl.forceDirection, "force-direction", false, string(d)+" even a file the classifier says must not be")
	f.BoolVar(&fl.allowPartial, "allow-partial", false, "write files the parser cannot fully handle: "+d.past()+" up to the first error, unchanged after it")
	f.StringVar(&fl.passphraseFile, "passphrase-file", "", "read the passphrase of a passphrase key file from the first line of FILE")
	f.BoolVar(&fl.keepThumbnail, "keep-thumbnail", false, "leave the Exif thumbnail as it is (default: "+string(d)+" it)")
	f.BoolVar(&fl.keepGPS, "keep-gps", false, "leave the GPS position (Exif GPS and XMP location) as it is")
	f.BoolVar(&fl.keepMPF, "keep-mpf", false, "leave the secondary images of an MPF/MPO file as they are")
	_ = cmd.MarkFlagRequired("key")
	return cmd
}

const transformHelp = `

IN and OUT may be - for stdin and stdout. The output is written to a
temporary file next to OUT and renamed into place when complete, with the
input's permissions (0644 from stdin). An existing OUT is only replaced with
--force, and IN itself only with --in-place.

A file the parser cannot fully handle (not a JPEG, truncated, corrupt,
arithmetic coding, …) is an error and nothing is written, unless
--allow-partial is given: then the file is written with everything before
the first error transformed and everything after it unchanged (the same
rule applied again restores it), and a warning says so.

When IN is a directory, OUT is a directory (created if needed, not inside
IN nor containing it) that receives a mirror of the tree: JPEG files (found
by content, not by name: every file that starts with SOI) are transformed
under exactly the rules for a single file, other files are copied unchanged,
symbolic links are skipped. Every file is listed with what was done; after
processing everything else the command exits with status 1 if any failed.

The key file may be a keyring (see 'jpegveil key rotate'): encrypt uses its
current key, decrypt the key whose ciphertext the file is. Before writing
anything the file is classified (FORMAT.md §34): encrypt refuses a file
that is already a ciphertext of a key of the keyring (encrypting it again
would decrypt it), and decrypt refuses a plaintext and a file that is not
recognisably the ciphertext of one of its keys (another key's ciphertext,
or an image too small or flat to tell). Both exit with status 1 and name
the key IDs; --force-direction transforms anyway, decrypt with the current
key. --force only replaces existing output files.

For a passphrase key file the passphrase is read from --passphrase-file,
else from the terminal, else from the first line of stdin (not possible when
IN is -).

Metadata that shows the photo or where it was taken is encrypted too, in
place and keeping the file valid (FORMAT.md part IV): the Exif thumbnail,
the secondary images of an MPF (MPO) file, and the GPS position in Exif and
XMP (coordinates, altitude, GPS time and date, place names), which stay
well-formed values in range. --keep-thumbnail, --keep-gps and --keep-mpf
leave a part alone; decrypt with the same switches as encrypt. Metadata that
should be encrypted but cannot be (a value outside the encrypted range, a
truncated thumbnail, location text in an extended XMP chunk) is handled like
a parse error: nothing is written unless --allow-partial.`

// transform runs encrypt or decrypt on one file or a directory.
func (a *app) transform(d direction, in string, fl transformFlags) error {
	switch {
	case fl.inPlace && fl.out != "":
		return usagef("--in-place and -o cannot be used together")
	case !fl.inPlace && fl.out == "":
		return usagef("missing -o OUT (or --in-place)")
	case fl.inPlace && in == "-":
		return usagef("--in-place needs a file, not stdin")
	}
	var inInfo fs.FileInfo
	if in == "-" {
		if _, ok := terminalFd(a.stdin); ok {
			return fileErr(inName(in), errors.New("refusing to read a photo from a terminal"))
		}
	} else {
		var err error
		if inInfo, err = os.Stat(in); err != nil {
			return fileErr(in, err)
		}
		if inInfo.IsDir() {
			return a.transformDir(d, in, fl)
		}
		if fl.inPlace && !inInfo.Mode().IsRegular() {
			return fileErr(in, errors.New("--in-place needs a regular file"))
		}
	}
	if fl.out == "-" {
		if _, ok := terminalFd(a.stdout); ok {
			return fileErr(outName(fl.out), errors.New("refusing to write a photo to a terminal"))
		}
	} else if !fl.inPlace {
		if err := checkOutput(fl.out, inInfo, fl.force); err != nil {
			return fileErr(fl.out, err)
		}
	}
	ring, err := a.loadKeyring(keyOptions{path: fl.key, passphraseFile: fl.passphraseFile, stdinIsPhoto: in == "-"})
	if err != nil {
		return err
	}
	return a.transformOne(d, ring, in, inInfo, fl)
}

// transformOne transforms the file in (inInfo is nil for stdin) into
// fl.out, or into itself with --in-place.
func (a *app) transformOne(d direction, ring *keystream.Keyring, in string, inInfo fs.FileInfo, fl transformFlags) error {
	var src io.Reader = a.stdin
	if in != "-" {
		f, err := os.Open(in)
		if err != nil {
			return fileErr(in, err)
		}
		defer f.Close()
		src = f
	}
	rt := &readTracker{r: src}
	r, key, err := openTransform(d, ring, rt, fl.veilOptions(), fl.forceDirection)
	if err != nil {
		return fileErr(inName(in), err)
	}
	if note := directionNote(d, ring, key); note != "" {
		fmt.Fprintf(a.stderr, "jpegveil: %s: %s\n", inName(in), note)
	}
	var (
		res  veil.Result
		perr error
	)
	out := outName(fl.out)
	if fl.out == "-" {
		res, perr, err = a.transformToStdout(r, rt, fl.allowPartial, false)
	} else {
		target, perm := fl.out, fs.FileMode(0o644)
		if inInfo != nil {
			perm = inInfo.Mode().Perm()
		}
		if fl.inPlace {
			// Rewrite the file a symbolic link points to, not the link.
			if target, err = filepath.EvalSymlinks(in); err != nil {
				return fileErr(in, err)
			}
			out = in
		}
		res, perr, err = transformFile(r, rt, target, perm, fl.inPlace || fl.force, fl.allowPartial, false)
	}
	switch {
	case errors.Is(err, errExists) || isWriteError(err):
		return fileErr(out, err)
	case err != nil:
		return fileErr(inName(in), err)
	case perr != nil && !res.Transformed && !isMetadataError(perr):
		// Writing the input unchanged under the output's name would leave a
		// plaintext where an encrypted file is expected.
		return fileErr(inName(in), fmt.Errorf("%s (nothing written: no part of it could be %s)", message(perr), d.past()))
	case perr != nil && !fl.allowPartial:
		return fileErr(inName(in), fmt.Errorf("%s (nothing written; see --allow-partial)", message(perr)))
	case perr != nil:
		fmt.Fprintf(a.stderr, "jpegveil: %s: warning: %s\n", inName(in), partialNote(d, res, perr))
	}
	return nil
}

// partialNote says what --allow-partial wrote for a file with a parse
// error.
func partialNote(d direction, res veil.Result, perr error) string {
	var me *veil.MetadataError
	if errors.As(perr, &me) {
		return message(perr) + "; written with that part not (fully) " + d.past()
	}
	off, _ := jpegbits.ErrorOffset(perr)
	if !res.Transformed {
		return message(perr) + "; written unchanged"
	}
	return fmt.Sprintf("%s; %s up to byte %d, the rest is unchanged", message(perr), d.past(), off)
}

// writesPartial reports whether an output with the parse error perr is
// written (see transformFile).
func writesPartial(res veil.Result, perr error, allowPartial, unchangedToo bool) bool {
	return allowPartial && (res.Transformed || isMetadataError(perr) || unchangedToo)
}

func isMetadataError(err error) bool {
	var me *veil.MetadataError
	return errors.As(err, &me)
}

// writeError marks an error of the output side.
type writeError struct{ err error }

func (e *writeError) Error() string { return "cannot write: " + e.err.Error() }
func (e *writeError) Unwrap() error { return e.err }

func isWriteError(err error) bool {
	var we *writeError
	return errors.As(err, &we)
}

// readTracker remembers a read error of the input, to tell it apart from
// a parse error.
type readTracker struct {
	r   io.Reader
	err error
}

func (t *readTracker) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err != nil && err != io.EOF {
		t.err = err
	}
	return n, err
}

// transformStream writes r's output to dst. It returns the parse error
// separately (the output is then complete, transformed up to it) from an
// I/O error (a *writeError for dst, "cannot read" for r's source, whose
// read tracker is rt).
func transformStream(dst io.Writer, r *veil.Reader, rt *readTracker) (veil.Result, error, error) {
	res, err := r.Finish(dst)
	switch {
	case err == nil:
		return res, nil, nil
	case veil.IsParseError(err):
		return res, err, nil
	case rt.err != nil:
		return res, nil, fmt.Errorf("cannot read: %w", rt.err)
	}
	return res, nil, &writeError{err}
}

// transformFile writes r's output to target through an atomic file. When
// the input has a parse error, nothing is written unless allowPartial is
// set and some of the input was transformed, or unchangedToo is set (a
// tree copies what it cannot transform under the same name).
func transformFile(r *veil.Reader, rt *readTracker, target string, perm fs.FileMode, replace, allowPartial, unchangedToo bool) (veil.Result, error, error) {
	af, err := createAtomic(target, perm)
	if err != nil {
		return veil.Result{}, nil, &writeError{err}
	}
	res, perr, err := transformStream(af, r, rt)
	if err != nil || perr != nil && !writesPartial(res, perr, allowPartial, unchangedToo) {
		af.abort()
		return res, perr, err
	}
	if err := af.commit(replace); err != nil {
		if !errors.Is(err, errExists) {
			err = &writeError{err}
		}
		return res, perr, err
	}
	return res, perr, nil
}

// transformToStdout buffers the output, so that nothing reaches stdout
// when the input turns out to be unusable.
func (a *app) transformToStdout(r *veil.Reader, rt *readTracker, allowPartial, unchangedToo bool) (veil.Result, error, error) {
	var buf bytes.Buffer
	res, perr, err := transformStream(&buf, r, rt)
	if err != nil || perr != nil && !writesPartial(res, perr, allowPartial, unchangedToo) {
		return res, perr, err
	}
	if _, err := buf.WriteTo(a.stdout); err != nil {
		return res, perr, &writeError{err}
	}
	return res, perr, nil
}
