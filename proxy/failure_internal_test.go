package proxy

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"

	"jpegveil/ledger"
)

// TestFailureReasons: each failure the proxy can meet has its status and a
// one-line reason that says what to do, for the failures the end-to-end
// tests cannot make on loopback (DNS, an HTTP/2 connection lost mid-body).
func TestFailureReasons(t *testing.T) {
	for _, tc := range []struct {
		name   string
		err    error
		code   int
		reason string
	}{
		{"dns", &url.Error{Op: "Post", URL: "https://photos.example/upload", Err: &net.OpError{Op: "dial", Err: &net.DNSError{Err: "no such host", Name: "photos.example", IsNotFound: true}}}, 502, "could not be resolved (DNS)"},
		{"untrusted", &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}, 502, "upstream.ca_files"},
		{"refused", &net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, 502, "refused the connection"},
		{"unreachable", &net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ENETUNREACH)}, 502, "no network route"},
		{"deadline", fmt.Errorf("dial: %w", context.DeadlineExceeded), 504, "did not answer in time"},
		{"h2 rewind", errors.New("http2: Transport: cannot retry err [http2: client connection lost] after Request.Body was written; define Request.GetBody to avoid this error"), 502, "cannot be sent again"},
		{"h1 rewind", errors.New("net/http: cannot rewind body after connection loss"), 502, "cannot be sent again"},
		{"full disk", &ledgerError{fmt.Errorf("ledger add /s/ledger.db: write /s/ledger.db: %w", syscall.ENOSPC)}, 502, "no space left"},
		{"ledger fault", &ledger.FaultError{Path: "/s/ledger.db", Op: "lookup", Cause: "page 7 out of range\nsecond line"}, 502, "ledger check"},
		{"other", errors.New("something\nodd"), 502, "failed: something odd"},
	} {
		code, reason := failure("photos.example:443", tc.err)
		if code != tc.code || !strings.Contains(reason, tc.reason) || strings.Contains(reason, "\n") {
			t.Errorf("%s: %d %q, want %d with %q on one line", tc.name, code, reason, tc.code, tc.reason)
		}
	}
}
