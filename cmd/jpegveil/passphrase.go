package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"golang.org/x/term"

	"jpegveil/keystream"
)

// maxPassphraseLine bounds a passphrase read from a pipe or a file.
const maxPassphraseLine = 4096

// terminalFd returns the file descriptor of r when r is a terminal.
func terminalFd(r any) (int, bool) {
	f, ok := r.(*os.File)
	if !ok {
		return 0, false
	}
	fd := int(f.Fd())
	return fd, term.IsTerminal(fd)
}

// readPassphrase reads a passphrase for a key file. From a terminal on
// stdin it prompts (twice when confirm is set); otherwise the passphrase is
// the first line of stdin, without its line ending ("\n" or "\r\n"), so
// that `echo secret | jpegveil …` and a passphrase file behave the same.
func (a *app) readPassphrase(confirm bool) ([]byte, error) {
	if fd, ok := terminalFd(a.stdin); ok {
		p, err := a.prompt(fd, "Passphrase: ")
		if err != nil {
			return nil, err
		}
		if len(p) == 0 {
			return nil, errors.New("empty passphrase")
		}
		if confirm {
			q, err := a.prompt(fd, "Repeat passphrase: ")
			if err != nil {
				return nil, err
			}
			if !bytes.Equal(p, q) {
				return nil, errors.New("the passphrases do not match")
			}
		}
		return p, nil
	}
	return firstLine(a.stdin, "stdin")
}

func (a *app) prompt(fd int, text string) ([]byte, error) {
	fmt.Fprint(a.stderr, text)
	p, err := term.ReadPassword(fd)
	fmt.Fprintln(a.stderr)
	if err != nil {
		return nil, fmt.Errorf("cannot read the passphrase: %w", err)
	}
	return p, nil
}

// readPassphraseFile returns the first line of a passphrase file.
func readPassphraseFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fileErr(path, fmt.Errorf("cannot read passphrase file: %w", err))
	}
	defer f.Close()
	p, err := firstLine(f, "passphrase file")
	return p, fileErr(path, err)
}

// firstLine reads the first line of r, without its "\n" or "\r\n". It
// reads byte by byte so that nothing after the line is consumed.
func firstLine(r io.Reader, what string) ([]byte, error) {
	var line []byte
	b := make([]byte, 1)
	for len(line) <= maxPassphraseLine+1 {
		_, err := io.ReadFull(r, b)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("cannot read the passphrase from %s: %w", what, err)
		}
		if b[0] == '\n' {
			break
		}
		line = append(line, b[0])
	}
	line = bytes.TrimSuffix(line, []byte("\r"))
	switch {
	case len(line) == 0:
		return nil, fmt.Errorf("empty passphrase on %s", what)
	case len(line) > maxPassphraseLine:
		return nil, fmt.Errorf("passphrase line on %s is longer than %d bytes", what, maxPassphraseLine)
	}
	return line, nil
}

// keyOptions say where a key's passphrase may come from.
type keyOptions struct {
	path           string // the key file
	passphraseFile string // --passphrase-file, or ""
	stdinIsPhoto   bool   // IN is "-": stdin cannot hold the passphrase
}

// loadKey reads a key file (or keyring, whose current key it returns)
// and, for a passphrase key file, the passphrase: from --passphrase-file,
// else a terminal prompt on stdin, else the first line of stdin (unless
// stdin carries the photo).
func (a *app) loadKey(o keyOptions) (*keystream.Key, error) {
	ring, err := a.loadKeyring(o)
	if err != nil {
		return nil, err
	}
	return ring.Current(), nil
}

// notKeyKind names what a file given as a key file is when its first bytes
// show it is a photo or another binary file, or returns "". A key file is
// short text; the permission check that comes first would otherwise tell
// the user to chmod a photo.
func notKeyKind(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	head := make([]byte, 16)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	switch {
	case bytes.HasPrefix(head, []byte{0xFF, 0xD8, 0xFF}):
		return "a JPEG photo"
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		return "a PNG image"
	case len(head) >= 12 && string(head[4:8]) == "ftyp":
		return "a HEIC photo or video"
	case bytes.IndexByte(head, 0) >= 0:
		return "a binary file"
	}
	return ""
}

// loadKeyring reads a keyring file (a single key file is a keyring of one
// key, FORMAT.md §13.4) and, if any of its keys needs one, the passphrase,
// as loadKey does; all passphrase keys of a keyring share it.
func (a *app) loadKeyring(o keyOptions) (*keystream.Keyring, error) {
	files, err := keystream.ReadKeyring(o.path)
	if err != nil {
		if kind := notKeyKind(o.path); kind != "" {
			return nil, fileErr(o.path, fmt.Errorf("this is %s, not a key file: -k takes the key file jpegveil keygen wrote", kind))
		}
		return nil, fileErr(o.path, err)
	}
	var pass []byte
	if slices.ContainsFunc(files, (*keystream.KeyFile).NeedsPassphrase) {
		switch {
		case o.passphraseFile != "":
			pass, err = readPassphraseFile(o.passphraseFile)
			if err != nil {
				return nil, err
			}
		case o.stdinIsPhoto:
			return nil, fileErr(o.path, errors.New("this key needs a passphrase and stdin carries the photo: give it with --passphrase-file FILE"))
		default:
			pass, err = a.readPassphrase(false)
			if err != nil {
				return nil, fileErr(o.path, err)
			}
		}
	}
	ring, err := keystream.KeyringFromFiles(files, pass)
	clear(pass)
	if err != nil {
		return nil, fileErr(o.path, err)
	}
	return ring, nil
}
