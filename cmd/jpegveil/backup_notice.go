package main

import (
	"fmt"
	"io"
	"strings"

	"jpegveil/config"
	"jpegveil/keystream"
	"jpegveil/keystream/paperkey"
)

// backupMissing returns a function that lists the keys of cfg's key file
// (every key of a keyring) of which no backup was recorded in the state
// directory: what serve and the onboarding page say until it is done. A
// key file or record that cannot be read counts as no backup.
func backupMissing(cfg *config.Config) func() []string {
	return func() []string {
		files, err := keystream.ReadKeyring(cfg.KeyFile)
		if err != nil {
			return nil // serve has read the key already: nothing to say here
		}
		var missing []string
		for _, f := range files {
			if ok, err := paperkey.Made(cfg.StateDir, f.ID); !ok || err != nil {
				missing = append(missing, f.ID)
			}
		}
		return missing
	}
}

// printBackupNotice says, once, that no backup of the keys was made.
func printBackupNotice(w io.Writer, missing []string) {
	if len(missing) == 0 {
		return
	}
	fmt.Fprintf(w, "No backup of your key has been made yet (key ID %s). Without it, every photo this proxy encrypts is lost if this computer is: run 'jpegveil key backup' and keep the page somewhere safe.\n",
		strings.Join(missing, ", "))
}
