package certs

import (
	"crypto/tls"
	"slices"
	"sync"
	"time"
)

// Leaf defaults and limits for IssuerOptions.
const (
	// DefaultLeafValidity is the leaf lifetime when IssuerOptions.Validity is
	// zero. It is short, so a stolen leaf key soon becomes useless. The cost
	// is one ECDSA key generation per host per day.
	DefaultLeafValidity = 24 * time.Hour
	// MaxLeafValidity caps IssuerOptions.Validity. Apple rejects TLS leaves
	// valid for more than 825 days even under user-installed roots, and for
	// more than 398 days under public roots. Staying one day under 398 is
	// accepted everywhere.
	MaxLeafValidity = 397 * 24 * time.Hour
	// DefaultCacheSize is the number of cached leaves when
	// IssuerOptions.CacheSize is zero.
	DefaultCacheSize = 256
)

// IssuerOptions configures CA.NewIssuer.
type IssuerOptions struct {
	// Validity is the leaf lifetime, counted from issuance. NotBefore is also
	// backdated by an hour to allow for clock skew. Zero or negative means
	// DefaultLeafValidity; values above MaxLeafValidity are capped. Leaves
	// never outlive the CA.
	Validity time.Duration
	// CacheSize bounds the number of cached leaves, with least-recently-used
	// eviction. Zero or negative means DefaultCacheSize. A cached leaf is
	// issued again once less than 10% of its lifetime remains.
	CacheSize int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Issuer mints short-lived leaf certificates per host and caches them.
// Concurrent requests for a host that is not cached share one issuance.
// An Issuer is safe for concurrent use.
type Issuer struct {
	cas      []*CA // oldest generation first: see Authorities
	validity time.Duration
	now      func() time.Time

	mu       sync.Mutex
	cache    *leafCache
	inflight map[string]*issuance
}

// issuance is a leaf being minted. Waiters block on done, then read cert
// and err, which are written once, before done is closed.
type issuance struct {
	done chan struct{}
	cert *tls.Certificate
	err  error
}

// NewIssuer returns an Issuer that signs with ca.
func (ca *CA) NewIssuer(opts IssuerOptions) *Issuer {
	return newIssuer([]*CA{ca}, opts)
}

// NewIssuer returns an Issuer that signs each leaf with the oldest live
// generation that permits its host, so that a device keeps working with the
// generations it already trusts.
func (a *Authorities) NewIssuer(opts IssuerOptions) *Issuer {
	cas := make([]*CA, len(a.gens))
	for i, g := range a.gens {
		cas[i] = g.CA
	}
	return newIssuer(cas, opts)
}

func newIssuer(cas []*CA, opts IssuerOptions) *Issuer {
	validity := opts.Validity
	switch {
	case validity <= 0:
		validity = DefaultLeafValidity
	case validity > MaxLeafValidity:
		validity = MaxLeafValidity
	}
	size := opts.CacheSize
	if size <= 0 {
		size = DefaultCacheSize
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return &Issuer{
		cas:      cas,
		validity: validity,
		now:      now,
		cache:    newLeafCache(size),
		inflight: make(map[string]*issuance),
	}
}

// Certificate returns a leaf certificate for host. The host may be a DNS
// name or an IP literal (the leaf then carries an IP SAN), with or without a
// :port or IPv6 brackets. It is lowercased before use.
//
// It fails with *InvalidHostError for a malformed host and with
// *NotPermittedError for a host outside the CA's name constraints. A
// constrained CA permits no IP addresses.
//
// The returned certificate is shared with the cache and other callers. It
// must not be modified.
func (i *Issuer) Certificate(host string) (*tls.Certificate, error) {
	h, err := parseHost(host)
	if err != nil {
		return nil, err
	}
	now := i.now()
	ca := i.issuerFor(h, now)
	if ca == nil {
		for _, expired := range i.cas {
			if expired.permits(h) {
				return nil, &CAExpiredError{NotAfter: expired.cert.NotAfter}
			}
		}
		return nil, &NotPermittedError{Host: h.String(), Permitted: i.permitted(now)}
	}
	key := h.String()

	i.mu.Lock()
	if e, ok := i.cache.get(key); ok && !now.Before(e.cert.Leaf.NotBefore) && now.Before(e.renewAt) {
		i.mu.Unlock()
		return e.cert, nil
	}
	if call, ok := i.inflight[key]; ok {
		i.mu.Unlock()
		<-call.done
		return call.cert, call.err
	}
	call := &issuance{done: make(chan struct{})}
	i.inflight[key] = call
	i.mu.Unlock()

	i.issue(ca, call, h, key, now)
	return call.cert, call.err
}

// issuerFor returns the oldest CA that is live at now and permits h.
func (i *Issuer) issuerFor(h hostName, now time.Time) *CA {
	for _, ca := range i.cas {
		if now.Before(ca.cert.NotAfter) && ca.permits(h) {
			return ca
		}
	}
	return nil
}

// permitted is the union of the live CAs' permitted domains.
func (i *Issuer) permitted(now time.Time) []string {
	var all []string
	for _, ca := range i.cas {
		if now.Before(ca.cert.NotAfter) {
			all = append(all, ca.cert.PermittedDNSDomains...)
		}
	}
	slices.Sort(all)
	return slices.Compact(all)
}

// issue mints the leaf for call outside the lock. It always releases the
// waiters, even if minting panics.
func (i *Issuer) issue(ca *CA, call *issuance, h hostName, key string, now time.Time) {
	defer func() {
		i.mu.Lock()
		delete(i.inflight, key)
		if call.err == nil && call.cert != nil {
			// Renew when 10% of the lifetime is left. A leaf that expires
			// mid-handshake or mid-session causes hard-to-diagnose failures.
			life := call.cert.Leaf.NotAfter.Sub(now)
			i.cache.put(&cacheEntry{key: key, cert: call.cert, renewAt: now.Add(life - life/10)})
		}
		i.mu.Unlock()
		close(call.done)
	}()
	// If issueLeaf panics, the waiters see this error rather than a nil
	// certificate with a nil error.
	call.err = &issuePanicError{host: key}
	call.cert, call.err = ca.issueLeaf(h, now, i.validity)
}

// GetCertificate is for tls.Config.GetCertificate. It issues for the
// client's SNI server name. It fails with *InvalidHostError when the client
// sent no SNI: clients omit SNI when connecting to an IP address. In that
// case the caller should use Certificate with the CONNECT host.
func (i *Issuer) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	if hello == nil || hello.ServerName == "" {
		return nil, &InvalidHostError{Host: "", Reason: "the TLS client sent no server name (SNI)"}
	}
	return i.Certificate(hello.ServerName)
}

// issuePanicError is what waiters receive if issuance panicked in the
// goroutine that was minting the leaf. The panic itself propagates there.
type issuePanicError struct{ host string }

func (e *issuePanicError) Error() string {
	return "certs: issuing a certificate for " + e.host + " panicked"
}
