package main

import "github.com/spf13/cobra"

// newKeyCmd groups the commands that look after keys.
func newKeyCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "key",
		Short: "Back up and restore keys",
	}
	cmd.AddCommand(newKeyBackupCmd(a), newKeyRestoreCmd(a))
	return cmd
}
