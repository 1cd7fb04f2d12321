// Package certs is jpegveil's certificate authority.
//
// jpegveil intercepts TLS only for the photo-service hosts named in its
// rules. Users install the CA certificate from this package on their
// devices. Because that CA is trusted, a leaked key could be used to
// intercept a device's traffic. The package therefore narrows what the CA
// can do:
//
//   - The CA carries critical name constraints limiting it to the rule
//     domains (unless the user opts out explicitly), and excludes every IP
//     address.
//   - Leaf certificates live for a day, each with its own fresh key, and are
//     cached in memory only, with a bound on the cache size.
//   - The CA key is written once, with mode 0600. It is not loaded if group
//     or others can read it.
//   - Changing the rules never takes a CA away from a device: the CA is a
//     list of generations (see Authorities). A new generation is made only
//     when a rule names a domain no live generation permits, and each leaf
//     is issued by the oldest generation that permits its host.
//
// The package keeps no package-level state and does no logging. Every
// failure is returned as an error; the error types in errors.go are the ones
// a caller may want to handle.
package certs
