package proxy

import (
	"bytes"
	_ "embed"
	"encoding/base64"
	"html/template"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/skip2/go-qrcode"

	"jpegveil/certs"
)

// onboardingHosts are names that reach the onboarding page through the
// proxy, like mitmproxy's mitm.it: with the proxy set, open http://jpegveil/.
// The page is also served to requests sent to the proxy's own address, so
// a phone can open it before it has any proxy setting or certificate.
func isOnboardingHost(host string) bool {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	return h == "jpegveil" || h == "jpegveil.proxy"
}

// qrModulePixels asks go-qrcode for 8 pixels per module (a negative size):
// a fixed image side scales modules by a fraction, which leaves uneven
// modules and can thin the quiet zone that scanners need.
const qrModulePixels = -8

//go:embed onboarding.html
var onboardingHTML string

var onboardingPage = template.Must(template.New("onboarding").Parse(onboardingHTML))

// hostPort is one address a device can enter as its proxy.
type hostPort struct{ Host, Port string }

// generationView is what the page shows of one CA generation.
type generationView struct {
	Number      int
	Fingerprint string
	NotAfter    string
	Domains     string
	Needed      bool   // some rule host's leaf comes from it
	Hosts       string // the rule hosts it issues for
	ProbeURL    string
}

// onboardingView is the page's data for one request.
type onboardingView struct {
	Addrs       []hostPort
	Host, Port  string // the address shown in the steps
	Listen      string
	NoNetwork   bool // a wildcard listener on a machine with loopback only
	ConfigFile  string
	PageURL     string // what the QR code holds: the page at a network address
	BaseURL     string // where this device fetched the page from
	FilesURL    string // where any device on the network can fetch the files
	PACURL      string
	QR          template.URL
	Auth        bool
	ViaProxy    bool
	Generations []generationView
	KeyID       string
	Status      template.HTML // key backups and photos the services did not keep (status.go)
}

func (s *Server) onboardingHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.servePage)
	mux.HandleFunc("GET /proxy.pac", s.servePAC)
	mux.HandleFunc("GET /wpad.dat", s.servePAC)
	mux.HandleFunc("GET /qr.png", func(w http.ResponseWriter, r *http.Request) {
		png, err := qrcode.Encode(s.view(r).PageURL, qrcode.Medium, qrModulePixels)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		writeFile(w, "image/png", png, "")
	})
	mux.HandleFunc("GET /{file}", s.serveCertificate)
	return mux
}

func (s *Server) servePage(w http.ResponseWriter, r *http.Request) {
	v := s.view(r)
	if v.PageURL != "" {
		png, err := qrcode.Encode(v.PageURL, qrcode.Medium, qrModulePixels)
		if err == nil {
			v.QR = template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png))
		}
	}
	var page bytes.Buffer
	if err := onboardingPage.Execute(&page, v); err != nil {
		http.Error(w, "onboarding page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	writeFile(w, "text/html; charset=utf-8", page.Bytes(), "")
}

// view gathers what the page shows to the device that sent r.
func (s *Server) view(r *http.Request) *onboardingView {
	v := &onboardingView{
		Listen:     s.cfg.Listen,
		ConfigFile: s.cfg.Source,
		Auth:       s.cfg.Clients.Auth != nil,
		ViaProxy:   r.URL.IsAbs(),
		KeyID:      s.keyIDs(),
		Status:     template.HTML(s.statusBlock()), // built by a template of its own
	}
	if v.ConfigFile == "" {
		v.ConfigFile = "the configuration file"
	}
	addr := s.listenAddr.Load()
	if addr != nil {
		v.Port = strconv.Itoa(addr.Port)
	}
	addrs, loopbackOnly := ReachableAddrs(addr, s.interfaceAddrs)
	v.NoNetwork = loopbackOnly && addr != nil && addr.IP.IsUnspecified()
	// The address the device used comes first: it is known to work.
	if i := slices.Index(addrs, r.Host); i > 0 {
		addrs = append([]string{addrs[i]}, slices.Delete(slices.Clone(addrs), i, i+1)...)
	}
	for _, a := range addrs {
		h, p, _ := net.SplitHostPort(a)
		v.Addrs = append(v.Addrs, hostPort{Host: h, Port: p})
	}
	v.Host = "PROXY-ADDRESS"
	if len(addrs) > 0 {
		v.Host = v.Addrs[0].Host
		v.PageURL = "http://" + addrs[0] + "/"
		v.PACURL = v.PageURL + "proxy.pac"
	}
	v.BaseURL = "http://" + r.Host
	if v.ViaProxy {
		v.BaseURL = "http://jpegveil"
	}
	v.FilesURL = strings.TrimSuffix(v.PageURL, "/")
	if v.PACURL == "" {
		v.PACURL = v.BaseURL + "/proxy.pac"
		v.FilesURL = v.BaseURL
	}
	v.Generations = s.generationViews()
	return v
}

func (s *Server) generationViews() []generationView {
	now := time.Now()
	issuing := map[*certs.Generation][]string{}
	for _, h := range s.ruleHosts() {
		if g := s.generationFor(strings.TrimPrefix(h, "*."), now); g != nil && !slices.Contains(issuing[g], h) {
			issuing[g] = append(issuing[g], h)
		}
	}
	var out []generationView
	for _, g := range s.generations {
		cert := g.CA.Certificate()
		if !now.Before(cert.NotAfter) {
			continue
		}
		domains := "any site (no name constraints)"
		if !g.Unconstrained() {
			domains = strings.Join(g.Domains(), ", ")
		}
		gv := generationView{
			Number:      g.Number,
			Fingerprint: g.CA.Fingerprint(),
			NotAfter:    cert.NotAfter.UTC().Format("2 January 2006"),
			Domains:     domains,
			Needed:      len(issuing[g]) > 0,
			Hosts:       strings.Join(issuing[g], ", "),
		}
		if h := s.probeHost(g); h != "" {
			gv.ProbeURL = "https://" + h + "/probe.png"
		}
		out = append(out, gv)
	}
	return out
}

// ruleHosts are the host patterns of every rule, in order, once each.
func (s *Server) ruleHosts() []string {
	var hosts []string
	for _, r := range s.cfg.Rules {
		for _, h := range r.Hosts {
			if !slices.Contains(hosts, h) {
				hosts = append(hosts, h)
			}
		}
	}
	return hosts
}

var certFile = regexp.MustCompile(`^jpegveil-ca-([0-9]+)\.(crt|cer|mobileconfig)$`)

// serveCertificate serves a generation as jpegveil-ca-N.crt (PEM, which
// update-ca-certificates, Android, Firefox and Windows accept under that
// name), .cer (DER) and .mobileconfig (Apple profile). jpegveil-ca.pem and
// jpegveil-ca.crt hold, in PEM, every generation a device needs, for
// curl --cacert and similar.
func (s *Server) serveCertificate(w http.ResponseWriter, r *http.Request) {
	file := r.PathValue("file")
	if file == "jpegveil-ca.pem" || file == "jpegveil-ca.crt" {
		var bundle []byte
		for _, gv := range s.generationViews() {
			if gv.Needed {
				bundle = append(bundle, s.generation(gv.Number).CA.CertPEM()...)
			}
		}
		writeFile(w, "application/x-pem-file", bundle, file)
		return
	}
	m := certFile.FindStringSubmatch(file)
	if m == nil {
		http.NotFound(w, r)
		return
	}
	n, _ := strconv.Atoi(m[1])
	g := s.generation(n)
	if g == nil {
		http.NotFound(w, r)
		return
	}
	switch m[2] {
	case "crt":
		writeFile(w, "application/x-x509-ca-cert", g.CA.CertPEM(), file)
	case "cer":
		writeFile(w, "application/pkix-cert", g.CA.CertDER(), file)
	case "mobileconfig":
		profile, err := g.CA.MobileConfig("")
		if err != nil {
			http.Error(w, "profile unavailable: "+err.Error(), http.StatusInternalServerError)
			return
		}
		writeFile(w, "application/x-apple-aspen-config", profile, file)
	}
}

func (s *Server) generation(n int) *certs.Generation {
	for _, g := range s.generations {
		if g.Number == n {
			return g
		}
	}
	return nil
}

func writeFile(w http.ResponseWriter, contentType string, body []byte, download string) {
	w.Header().Set("Content-Type", contentType)
	if download != "" {
		w.Header().Set("Content-Disposition", `attachment; filename="`+download+`"`)
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Write(body)
}
