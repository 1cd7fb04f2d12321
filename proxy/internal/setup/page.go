// Package setup renders what a device needs to start using the proxy: the
// onboarding page, its QR code, the proxy auto-config script, and the
// addresses a device can reach the proxy on. The server fills the data;
// this package only lays it out.
package setup

import (
	"bytes"
	_ "embed"
	"encoding/base64"
	"html/template"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/skip2/go-qrcode"
)

// qrModulePixels asks go-qrcode for 8 pixels per module (a negative size):
// a fixed image side scales modules by a fraction, which leaves uneven
// modules and can thin the quiet zone that scanners need.
const qrModulePixels = -8

//go:embed onboarding.html
var onboardingHTML string

var onboardingPage = template.Must(template.New("onboarding").Parse(onboardingHTML))

// HostPort is one address a device can enter as its proxy.
type HostPort struct{ Host, Port string }

// Generation is what the page shows of one CA generation.
type Generation struct {
	Number      int
	Fingerprint string
	NotAfter    string
	Domains     string
	Needed      bool   // some rule host's leaf comes from it
	Hosts       string // the rule hosts it issues for
	ProbeURL    string
}

// Input is what the server knows that the page shows.
type Input struct {
	Listen         string // listen as configured
	Addr           *net.TCPAddr
	InterfaceAddrs func() ([]net.Addr, error) // nil: net.InterfaceAddrs
	ConfigFile     string
	Auth           bool
	KeyID          string
	Status         Status
	Generations    []Generation
}

// View is the page's data for one request.
type View struct {
	Addrs       []HostPort
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
	Generations []Generation
	KeyID       string
	Status      template.HTML // key backups and photos the services did not keep (Status)
}

// NewView gathers what the page shows to the device that sent r.
func NewView(r *http.Request, in Input) *View {
	v := &View{
		Listen:      in.Listen,
		ConfigFile:  in.ConfigFile,
		Auth:        in.Auth,
		ViaProxy:    r.URL.IsAbs(),
		KeyID:       in.KeyID,
		Status:      in.Status.HTML(),
		Generations: in.Generations,
	}
	if v.ConfigFile == "" {
		v.ConfigFile = "the configuration file"
	}
	addr := in.Addr
	if addr != nil {
		v.Port = strconv.Itoa(addr.Port)
	}
	addrs, loopbackOnly := ReachableAddrs(addr, in.InterfaceAddrs)
	v.NoNetwork = loopbackOnly && addr != nil && addr.IP.IsUnspecified()
	// The address the device used comes first: it is known to work.
	if i := slices.Index(addrs, r.Host); i > 0 {
		addrs = append([]string{addrs[i]}, slices.Delete(slices.Clone(addrs), i, i+1)...)
	}
	for _, a := range addrs {
		h, p, _ := net.SplitHostPort(a)
		v.Addrs = append(v.Addrs, HostPort{Host: h, Port: p})
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
	return v
}

// QR returns the PNG of a QR code holding url.
func QR(url string) ([]byte, error) {
	return qrcode.Encode(url, qrcode.Medium, qrModulePixels)
}

// Page renders the onboarding page of v, with a QR code of its PageURL.
func Page(v *View) ([]byte, error) {
	if v.PageURL != "" {
		png, err := QR(v.PageURL)
		if err == nil {
			v.QR = template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png))
		}
	}
	var page bytes.Buffer
	if err := onboardingPage.Execute(&page, v); err != nil {
		return nil, err
	}
	return page.Bytes(), nil
}
