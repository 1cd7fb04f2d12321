package main

import "github.com/spf13/cobra"

func newDecryptCmd(a *app) *cobra.Command {
	return newTransformCmd(a, decrypting, "Decrypt JPEG files encrypted with jpegveil",
		`Decrypt a JPEG file (or a directory tree of them) encrypted with the same
key file, restoring the original byte for byte.

Decryption and encryption are the same operation: "decrypting" a photo that
was never encrypted scrambles it (decrypting that again restores it).`)
}
