package proxy

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"syscall"

	"jpegveil/ledger"
	"jpegveil/proxy/services"
	"jpegveil/veil"
)

// ledgerError is a failure of the ledger met while transforming a body:
// the photo cannot be recorded or looked up, so it must not go upstream.
type ledgerError struct{ err error }

func (e *ledgerError) Error() string { return e.err.Error() }
func (e *ledgerError) Unwrap() error { return e.err }

func asLedgerError(err error) error {
	if err == nil {
		return nil
	}
	return &ledgerError{err}
}

// ledgerFaults marks the errors of o's per-item decisions and records,
// which are the ledger's, as *ledgerError, so that a transform they stop
// is told from a client that went away.
func ledgerFaults(o veil.Options) veil.Options {
	if decide := o.Decide; decide != nil {
		o.Decide = func(fp veil.Fingerprint) (bool, error) {
			ok, err := decide(fp)
			return ok, asLedgerError(err)
		}
	}
	if record := o.Record; record != nil {
		o.Record = func(fp veil.Fingerprint) error { return asLedgerError(record(fp)) }
	}
	return o
}

// bodyFailed records why the transform of a request body stopped and
// answers: a ledger failure is the proxy's (502 with the reason: the photo
// was not sent, or not completely), anything else is the client's, whose
// connection is gone. The transport must be done with u.
func (ex *exchange) bodyFailed(err error, u uploadParts) (*http.Response, error) {
	var le *ledgerError
	if errors.As(err, &le) {
		ex.Record(services.Failed, err)
		// Read what the client still sends, so that it gets the answer
		// rather than a reset.
		u.drain()
		return failed(ex.req, err), nil
	}
	ex.Record(services.ClientError, err)
	return nil, err
}

// failed answers a request the proxy could not complete: a status and a
// one-line reason in the body, rather than a closed connection (which a
// client reports as an empty reply). The caller has logged it.
func failed(req *http.Request, err error) *http.Response {
	code, reason := failure(req.URL.Host, err)
	h := make(http.Header)
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Jpegveil-Error", "true")
	resp := services.Respond(req, code, h, "jpegveil: "+reason+"\n")
	resp.Close = true
	return resp
}

// failure is the status and the one-line reason for err, which stopped a
// request to host.
func failure(host string, err error) (int, string) {
	var (
		le      *ledgerError
		unknown x509.UnknownAuthorityError
		badName x509.HostnameError
		invalid x509.CertificateInvalidError
		verify  *tls.CertificateVerificationError
		dnsErr  *net.DNSError
		netErr  net.Error
	)
	hostname := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		hostname = h
	}
	switch {
	case errors.Is(err, syscall.ENOSPC):
		return http.StatusBadGateway, "no space left on the disk of the state directory; the photo could not be recorded in the ledger, so it was not sent: " + oneLine(err)
	case errors.As(err, &le) || errors.Is(err, ledger.ErrCorrupt):
		return http.StatusBadGateway, "the ledger failed, so nothing was sent (stop jpegveil and run 'jpegveil ledger check'): " + oneLine(err)
	case errors.As(err, &unknown):
		return http.StatusBadGateway, fmt.Sprintf("the certificate of %s is not signed by a trusted CA; for a self-hosted server with its own CA, add that CA's PEM file to upstream.ca_files", hostname)
	case errors.As(err, &badName):
		return http.StatusBadGateway, fmt.Sprintf("the certificate of %s is not valid for that name: %s", hostname, oneLine(badName))
	case errors.As(err, &invalid):
		return http.StatusBadGateway, fmt.Sprintf("the certificate of %s is not valid: %s", hostname, oneLine(invalid))
	case errors.As(err, &verify):
		return http.StatusBadGateway, fmt.Sprintf("the certificate of %s could not be verified: %s (upstream.ca_files adds trusted CAs)", hostname, oneLine(verify.Err))
	case errors.As(err, &dnsErr):
		return http.StatusBadGateway, fmt.Sprintf("the name %s could not be resolved (DNS): %s", hostname, oneLine(dnsErr))
	case errors.Is(err, syscall.ECONNREFUSED):
		return http.StatusBadGateway, fmt.Sprintf("%s refused the connection", host)
	case errors.Is(err, syscall.ENETUNREACH) || errors.Is(err, syscall.EHOSTUNREACH):
		return http.StatusBadGateway, fmt.Sprintf("%s cannot be reached from here (no network route)", host)
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &netErr) && netErr.Timeout():
		return http.StatusGatewayTimeout, fmt.Sprintf("%s did not answer in time (upstream.dial_timeout, upstream.response_header_timeout): %s", host, oneLine(err))
	case strings.Contains(err.Error(), "cannot rewind body") || strings.Contains(err.Error(), "cannot retry"):
		return http.StatusBadGateway, fmt.Sprintf("the connection to %s was lost while the request was being sent, and its body cannot be sent again; try again", host)
	}
	return http.StatusBadGateway, fmt.Sprintf("the request to %s failed: %s", host, oneLine(err))
}

// oneLine keeps an error message to one line.
func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}
