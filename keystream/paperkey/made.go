package paperkey

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// MadeFileName is the file in the state directory that lists the keys of
// which a backup was made, one "KEYID TIME" line each, so that onboarding
// and the first start can say plainly that no backup exists yet.
const MadeFileName = "key-backups"

// Made reports whether a backup of the key keyID was recorded in stateDir.
func Made(stateDir, keyID string) (bool, error) {
	f, err := os.Open(filepath.Join(stateDir, MadeFileName))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if id, _, _ := strings.Cut(sc.Text(), " "); id == keyID {
			return true, nil
		}
	}
	return false, sc.Err()
}

// RecordMade records in stateDir that a backup of keyID was made at t.
func RecordMade(stateDir, keyID string, t time.Time) error {
	if keyID == "" || strings.ContainsAny(keyID, " \n") {
		return fmt.Errorf("paperkey: bad key ID %q", keyID)
	}
	if ok, err := Made(stateDir, keyID); ok || err != nil {
		return err
	}
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(stateDir, MadeFileName), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(f, "%s %s\n", keyID, t.UTC().Format(time.RFC3339))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
