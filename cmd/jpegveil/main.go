package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"

	"github.com/spf13/cobra"
)

func main() { os.Exit(Main()) }

// Main runs the command line with the process's arguments and standard
// streams and returns the exit status: 0 on success, 1 on an error, 2 on a
// usage error. It never exits itself, so tests can run it in-process.
func Main() int { return run(os.Args[1:], processApp()) }

// processApp is an app on the process's standard streams and environment.
func processApp() *app {
	return &app{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
}

// run executes one command line. Every error is printed once, as one line
// "jpegveil: <file>: <reason>" on a.stderr.
func run(args []string, a *app) int {
	root := newRootCmd(a)
	root.SetArgs(args)
	cmd, err := root.ExecuteC()
	if err == nil {
		return 0
	}
	var reported *reportedError
	if errors.As(err, &reported) {
		return 1
	}
	var ue *usageError
	if errors.As(err, &ue) || !a.started {
		// Flag parsing, argument counts, required flags and unknown
		// commands all fail before a command starts running.
		name := "jpegveil"
		if cmd != nil {
			name = cmd.CommandPath()
		}
		fmt.Fprintf(a.stderr, "jpegveil: %s (see '%s --help')\n", message(err), name)
		return 2
	}
	fmt.Fprintf(a.stderr, "jpegveil: %s\n", message(err))
	return 1
}

// newRootCmd builds the command tree. Commands are built afresh for every
// run so that no flag value survives from one run to the next.
func newRootCmd(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "jpegveil",
		Short: "Size-preserving encryption of JPEG photos",
		Long: `jpegveil encrypts JPEG photos so that they stay valid JPEG files of exactly
the same size: only the additional bits of the entropy-coded data are XORed
with a keystream derived from your key. Encrypting and decrypting are the
same operation; the key file decides the keystream and the masking mode.`,
		SilenceErrors: true,
		SilenceUsage:  true,
		Version:       version(),
	}
	root.SetVersionTemplate("jpegveil {{.Version}}\n")
	root.CompletionOptions.DisableDefaultCmd = true
	root.SetIn(a.stdin)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &usageError{err}
	})
	root.AddCommand(
		newKeygenCmd(a),
		newKeyCmd(a),
		newEncryptCmd(a),
		newDecryptCmd(a),
		newInspectCmd(a),
		newServeCmd(a),
		newAnalyzeCmd(a),
		newInitCmd(a),
		newCACmd(a),
		newLedgerCmd(a),
		newVerifyCmd(a),
		newRestoreCmd(a),
	)
	markStart(root, a)
	return root
}

// markStart wraps the RunE of c and its subcommands so that a.started is
// set once a command really runs: an error returned before that is a usage
// error.
func markStart(c *cobra.Command, a *app) {
	if run := c.RunE; run != nil {
		c.RunE = func(cmd *cobra.Command, args []string) error {
			a.started = true
			return run(cmd, args)
		}
	}
	for _, sub := range c.Commands() {
		markStart(sub, a)
	}
}

// app holds one run's streams and environment.
type app struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string

	// weakArgon2 makes keygen --passphrase use tiny Argon2id parameters
	// (t=1, 64 KiB, 1 thread) so that tests run in milliseconds. Only
	// tests set it: Main never does, so nothing outside the test binary
	// can make the shipped command write a key file that is cheap to
	// brute-force.
	weakArgon2 bool

	started bool // a command's RunE was entered
	// ctx, when set, ends long-running commands (serve) when done;
	// tests use it instead of signals.
	ctx context.Context
	// listen and interfaceAddrs, when set, replace net.Listen and
	// net.InterfaceAddrs for serve: tests use them to keep a wildcard
	// listen address on loopback, on a machine with network addresses of
	// their choosing.
	listen         func(network, address string) (net.Listener, error)
	interfaceAddrs func() ([]net.Addr, error)
}
