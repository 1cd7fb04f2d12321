package main

import "github.com/spf13/cobra"

func newEncryptCmd(a *app) *cobra.Command {
	return newTransformCmd(a, encrypting, "Encrypt JPEG files, keeping their size",
		`Encrypt a JPEG file (or a directory tree of them) with a key file. The
result is a valid JPEG of exactly the same size whose picture is scrambled.

Encryption and decryption are the same operation: encrypting an encrypted
file decrypts it. Keep track of which files are encrypted.`)
}
