package certs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"time"
)

// A device trusts the CA certificates its user installed, and no proxy can
// learn which ones those are. Changing the rules must therefore never take
// away a certificate a device already relies on. The CA lives as a list of
// generations in one directory:
//
//   - Generation 1 is ca.pem / ca-key.pem, the files LoadOrCreateCA has always
//     used, so an existing state directory keeps its CA.
//   - Generation n > 1 is ca-n.pem / ca-n-key.pem. One is created only when
//     the rules name a domain no live generation permits (or ask for no
//     constraints, or the user rotates), and it permits the union of what the
//     live generations permit plus the new domains.
//   - A leaf for a host is issued by the oldest live generation that permits
//     the host. A device that installed only generation 1 keeps working for
//     every host generation 1 covers; it needs generation 2 only for the new
//     domains.
//   - Retiring a generation removes its key (the certificate is kept as
//     retired-ca-n.pem for the record). Hosts then move to the next
//     generation that permits them.

// Generation is one CA of a directory's generations.
type Generation struct {
	Number   int
	CA       *CA
	CertPath string
	KeyPath  string
}

// Domains returns the domains the generation's CA permits; nil means it
// has no name constraints.
func (g *Generation) Domains() []string {
	return slices.Clone(g.CA.cert.PermittedDNSDomains)
}

// Unconstrained reports whether the generation may issue for any host name.
func (g *Generation) Unconstrained() bool { return len(g.CA.cert.PermittedDNSDomains) == 0 }

// Authorities are the live CA generations of one directory, oldest first.
// The value is immutable and safe for concurrent use; methods that create or
// retire a generation return a new value.
type Authorities struct {
	dir  string
	opts CAOptions
	gens []*Generation
}

// Want says which hosts the CA generations must cover.
type Want struct {
	// Domains that some live generation must permit (each covers its
	// subdomains).
	Domains []string
	// Unconstrained asks for a generation without name constraints: the
	// user's explicit choice to let the CA issue for any host.
	Unconstrained bool
}

var generationFile = regexp.MustCompile(`^ca-([1-9][0-9]{0,5})\.pem$`)

// GenerationPaths returns the certificate and key file names of generation n.
func GenerationPaths(dir string, n int) (cert, key string) {
	if n == 1 {
		return filepath.Join(dir, CertFileName), filepath.Join(dir, KeyFileName)
	}
	return filepath.Join(dir, fmt.Sprintf("ca-%d.pem", n)), filepath.Join(dir, fmt.Sprintf("ca-%d-key.pem", n))
}

// RetiredPath is where Retire keeps the certificate of generation n.
func RetiredPath(dir string, n int) string {
	cert, _ := GenerationPaths(dir, n)
	return filepath.Join(dir, "retired-"+filepath.Base(cert))
}

// LoadAuthorities loads every generation stored in dir. An empty or missing
// directory gives an empty set. Each generation is checked as
// LoadOrCreateCA checks its CA (key mode, key match, PEM); an expired
// generation is kept in the set but never issues.
func LoadAuthorities(dir string, opts CAOptions) (*Authorities, error) {
	a := &Authorities{dir: dir, opts: opts}
	numbers, err := generationNumbers(dir)
	if err != nil {
		return nil, err
	}
	for _, n := range numbers {
		certPath, keyPath := GenerationPaths(dir, n)
		certExists, err := fileExists(certPath)
		if err != nil {
			return nil, err
		}
		keyExists, err := fileExists(keyPath)
		if err != nil {
			return nil, err
		}
		switch {
		case certExists && !keyExists:
			return nil, &IncompleteCAError{Present: certPath, Missing: keyPath}
		case keyExists && !certExists:
			return nil, &IncompleteCAError{Present: keyPath, Missing: certPath}
		}
		// Expiry is judged per issuance, so load with no domain demands and
		// a clock before any expiry.
		ca, err := loadCA(certPath, keyPath, CAOptions{Now: func() time.Time { return time.Time{} }})
		if err != nil {
			return nil, err
		}
		a.gens = append(a.gens, &Generation{Number: n, CA: ca, CertPath: certPath, KeyPath: keyPath})
	}
	return a, nil
}

// generationNumbers lists the generations present in dir, by either of
// their two files, in increasing order.
func generationNumbers(dir string) ([]int, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("certs: %w", err)
	}
	seen := map[int]bool{}
	for _, e := range entries {
		name := e.Name()
		switch name {
		case CertFileName, KeyFileName:
			seen[1] = true
			continue
		}
		if m := generationFile.FindStringSubmatch(stripKeySuffix(name)); m != nil {
			n, _ := strconv.Atoi(m[1])
			seen[n] = true
		}
	}
	var numbers []int
	for n := range seen {
		if n > 1 {
			numbers = append(numbers, n)
		}
	}
	sort.Ints(numbers)
	if seen[1] {
		numbers = append([]int{1}, numbers...)
	}
	return numbers, nil
}

// stripKeySuffix maps a key file name to its certificate's name.
func stripKeySuffix(name string) string {
	const suffix = "-key.pem"
	if len(name) > len(suffix) && name[len(name)-len(suffix):] == suffix {
		return name[:len(name)-len(suffix)] + ".pem"
	}
	return name
}

// EnsureAuthorities loads the generations in dir and makes sure that the
// live ones cover want, creating one new generation when they do not.
// created is that generation, or nil when nothing had to change.
func EnsureAuthorities(dir string, want Want, opts CAOptions) (a *Authorities, created *Generation, err error) {
	a, err = LoadAuthorities(dir, opts)
	if err != nil {
		return nil, nil, err
	}
	return a.Ensure(want)
}

// Ensure makes sure the live generations of a cover want, creating one
// new generation when they do not; created is nil when nothing changed.
func (a *Authorities) Ensure(want Want) (next *Authorities, created *Generation, err error) {
	missing, err := a.Missing(want)
	if err != nil {
		return nil, nil, err
	}
	if len(missing) == 0 && (!want.Unconstrained || a.hasUnconstrained()) && len(a.live()) > 0 {
		return a, nil, nil
	}
	return a.grow(want)
}

// Missing returns the wanted domains that no live generation permits.
func (a *Authorities) Missing(want Want) ([]string, error) {
	domains, err := normalizeDomains(want.Domains)
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, d := range domains {
		if a.forHost(hostName{dns: d}) == nil {
			missing = append(missing, d)
		}
	}
	return missing, nil
}

// Add makes sure the domains are covered, creating a generation if needed.
func (a *Authorities) Add(domains ...string) (*Authorities, *Generation, error) {
	missing, err := a.Missing(Want{Domains: domains})
	if err != nil {
		return nil, nil, err
	}
	if len(missing) == 0 && len(a.live()) > 0 {
		return a, nil, nil
	}
	return a.grow(Want{Domains: domains})
}

// Rotate creates a new generation with a fresh key that permits everything
// the live generations permit. Devices must install it before the older
// generations are retired.
func (a *Authorities) Rotate() (*Authorities, *Generation, error) {
	return a.grow(Want{Unconstrained: a.hasUnconstrained()})
}

// grow creates the next generation, permitting the union of the live
// constrained generations' domains and want.
func (a *Authorities) grow(want Want) (*Authorities, *Generation, error) {
	opts := a.opts
	opts.PermittedDomains = nil
	if !want.Unconstrained {
		domains := slices.Clone(want.Domains)
		for _, g := range a.live() {
			domains = append(domains, g.Domains()...)
		}
		normalized, err := normalizeDomains(domains)
		if err != nil {
			return nil, nil, err
		}
		if len(normalized) == 0 {
			return nil, nil, &InvalidDomainError{Domain: "", Reason: "a constrained CA needs at least one domain"}
		}
		opts.PermittedDomains = normalized
	}
	n := 1
	if len(a.gens) > 0 {
		n = a.gens[len(a.gens)-1].Number + 1
	}
	for {
		exists, err := fileExists(RetiredPath(a.dir, n))
		if err != nil {
			return nil, nil, err
		}
		if !exists {
			break
		}
		n++ // never reuse a retired generation's number
	}
	certPath, keyPath := GenerationPaths(a.dir, n)
	ca, err := createCA(a.dir, certPath, keyPath, opts)
	if err != nil {
		return nil, nil, err
	}
	g := &Generation{Number: n, CA: ca, CertPath: certPath, KeyPath: keyPath}
	next := &Authorities{dir: a.dir, opts: a.opts, gens: append(slices.Clone(a.gens), g)}
	return next, g, nil
}

// Retire removes generation n's key and keeps its certificate as
// retired-<name>. The last live generation cannot be retired.
func (a *Authorities) Retire(n int) (*Authorities, error) {
	i := slices.IndexFunc(a.gens, func(g *Generation) bool { return g.Number == n })
	if i < 0 {
		return nil, &NoSuchGenerationError{Number: n}
	}
	if live := a.live(); len(live) == 1 && live[0].Number == n {
		return nil, &LastGenerationError{Number: n}
	}
	g := a.gens[i]
	retired := RetiredPath(a.dir, g.Number)
	if err := os.Rename(g.CertPath, retired); err != nil {
		return nil, fmt.Errorf("certs: %w", err)
	}
	if err := os.Remove(g.KeyPath); err != nil {
		return nil, fmt.Errorf("certs: %w", err)
	}
	next := &Authorities{dir: a.dir, opts: a.opts, gens: slices.Delete(slices.Clone(a.gens), i, i+1)}
	return next, nil
}

// Generations returns every loaded generation, oldest first, including
// expired ones.
func (a *Authorities) Generations() []*Generation { return slices.Clone(a.gens) }

// Newest returns the most recent generation, or nil for an empty set.
// It is the one new devices should install.
func (a *Authorities) Newest() *Generation {
	if len(a.gens) == 0 {
		return nil
	}
	return a.gens[len(a.gens)-1]
}

// For returns the generation that issues for host: the oldest live one
// that permits it, or nil.
func (a *Authorities) For(host string) *Generation {
	h, err := parseHost(host)
	if err != nil {
		return nil
	}
	return a.forHost(h)
}

func (a *Authorities) forHost(h hostName) *Generation {
	for _, g := range a.live() {
		if g.CA.permits(h) {
			return g
		}
	}
	return nil
}

// live returns the generations that have not expired.
func (a *Authorities) live() []*Generation {
	now := a.opts.now()
	var out []*Generation
	for _, g := range a.gens {
		if now.Before(g.CA.cert.NotAfter) {
			out = append(out, g)
		}
	}
	return out
}

func (a *Authorities) hasUnconstrained() bool {
	for _, g := range a.live() {
		if g.Unconstrained() {
			return true
		}
	}
	return false
}
