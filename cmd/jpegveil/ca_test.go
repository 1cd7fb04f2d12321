package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"jpegveil/certs"
	"jpegveil/internal/proxytest"
)

// installation is a state directory and configuration file that serve is
// started and stopped on, as a user would.
type installation struct {
	t        *testing.T
	cfgFile  string
	stateDir string
	// interfaceAddrs stands in for the machine's network addresses; nil:
	// net.InterfaceAddrs.
	interfaceAddrs func() ([]net.Addr, error)
}

func newInstallation(t *testing.T, rules string) *installation {
	dir := t.TempDir()
	in := &installation{t: t, cfgFile: filepath.Join(dir, "config.yaml"), stateDir: filepath.Join(dir, "state")}
	in.edit("", rules)
	return in
}

// edit rewrites the configuration, as a user editing the file between a
// stop and a start.
func (in *installation) edit(caSection, rules string) {
	conf := "listen: 127.0.0.1:0\nstate_dir: " + in.stateDir + "\n" + caSection + "rules:\n" + rules
	if err := os.WriteFile(in.cfgFile, []byte(conf), 0o600); err != nil {
		in.t.Fatal(err)
	}
}

// start runs serve until the returned function stops it; it returns the
// proxy's address and what serve printed.
func (in *installation) start() (addr, out string, stop func()) {
	t := in.t
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stderr := &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		// A wildcard listen address is kept on loopback: no test accepts
		// connections from beyond this machine.
		done <- run([]string{"serve", "--config", in.cfgFile}, &app{ctx: ctx, stdout: io.Discard, stderr: stderr, stdin: strings.NewReader(""), getenv: func(string) string { return "" },
			listen: proxytest.ListenLoopbackAs, interfaceAddrs: in.interfaceAddrs})
	}()
	addrRE := regexp.MustCompile(`jpegveil proxy on http://(\S+) `)
	for i := 0; i < 500; i++ {
		if m := addrRE.FindStringSubmatch(stderr.String()); m != nil {
			return m[1], stderr.String(), func() {
				cancel()
				if code := <-done; code != 0 {
					t.Errorf("serve exited with %d: %s", code, stderr.String())
				}
			}
		}
		select {
		case code := <-done:
			t.Fatalf("serve exited with %d: %s", code, stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	cancel()
	t.Fatalf("serve did not start: %s", stderr.String())
	return "", "", nil
}

// generationPEM reads generation n's certificate from the state directory.
func (in *installation) generationPEM(n int) []byte {
	p, _ := certs.GenerationPaths(in.stateDir, n)
	b, err := os.ReadFile(p)
	if err != nil {
		in.t.Fatalf("generation %d: %v", n, err)
	}
	return b
}

// device is a client that trusts the CA generations installed on it.
type device struct{ roots *x509.CertPool }

func newDevice(pems ...[]byte) *device {
	d := &device{roots: x509.NewCertPool()}
	for _, p := range pems {
		d.roots.AppendCertsFromPEM(p)
	}
	return d
}

// trusts reports whether a TLS handshake with host through the proxy
// verifies on d.
func (d *device) trusts(t *testing.T, proxyAddr, host string) error {
	t.Helper()
	c, err := net.Dial("tcp", proxyAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "CONNECT "+host+":443 HTTP/1.1\r\nHost: "+host+":443\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("CONNECT %s: %v %v", host, resp, err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return tls.Client(c, &tls.Config{ServerName: host, RootCAs: d.roots}).Handshake()
}

const googleRule = `  - name: google
    hosts: [photos.google.com]
    paths: ["/_/upload/uploadmedia/**"]
    body: resumable
    resumable: google
  - name: icloud
    hosts: ["*.icloud-content.com"]
    methods: [POST]
    body: raw
`

const immichRule = `  - name: immich
    hosts: [immich.example.org]
    paths: [/api/assets]
    body: multipart
    field: assetData
`

const ownRule = `  - name: own
    hosts: [photos.example.net]
    body: download
`

// TestChangingRulesKeepsDevicesWorking changes the rules of an
// installation (stop, edit, start): no device needs a new certificate for
// a domain its CA already covered; a new domain gets a new generation that
// serve, ca show and the set-up page name; going back needs nothing;
// name_constraints: false intercepts every rule host.
func TestChangingRulesKeepsDevicesWorking(t *testing.T) {
	in := newInstallation(t, googleRule)
	addr, out, stop := in.start()
	gen1 := in.generationPEM(1)
	phone := newDevice(gen1) // installed generation 1 on the first start
	for _, host := range []string{"photos.google.com", "p01-contentws.icloud-content.com"} {
		if err := phone.trusts(t, addr, host); err != nil {
			t.Fatalf("first start: %s: %v", host, err)
		}
	}
	if !strings.Contains(out, "Created CA generation 1") {
		t.Fatalf("first start did not say it created the CA:\n%s", out)
	}
	stop()

	// A new self-hosted service: a new generation, only for it.
	in.edit("", googleRule+immichRule)
	addr, out, stop = in.start()
	if got := in.generationPEM(1); string(got) != string(gen1) {
		t.Fatal("generation 1 changed")
	}
	for _, want := range []string{"No CA generation covered: immich.example.org", "Created CA generation 2", "install generation 2 only on devices that should use immich.example.org"} {
		if !strings.Contains(out, want) {
			t.Fatalf("second start does not say %q:\n%s", want, out)
		}
	}
	if err := phone.trusts(t, addr, "photos.google.com"); err != nil {
		t.Fatalf("a device with generation 1 lost photos.google.com: %v", err)
	}
	if err := phone.trusts(t, addr, "immich.example.org"); err == nil {
		t.Fatal("generation 1 alone verified the new host")
	}
	gen2 := in.generationPEM(2)
	phone = newDevice(gen1, gen2) // the README path: install generation 2 from the set-up page
	if err := phone.trusts(t, addr, "immich.example.org"); err != nil {
		t.Fatalf("with generation 2 installed: %v", err)
	}
	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !regexp.MustCompile(`Generation 2</b> — <b>install</b>: issues for immich.example.org`).Match(page) {
		t.Fatal("the set-up page does not say generation 2 is to be installed for immich.example.org")
	}
	stop()

	// Back to the first rules: nothing new, nothing lost.
	in.edit("", googleRule)
	addr, out, stop = in.start()
	if strings.Contains(out, "Created CA") {
		t.Fatalf("going back to the first rules created a CA:\n%s", out)
	}
	if err := newDevice(gen1).trusts(t, addr, "photos.google.com"); err != nil {
		t.Fatal(err)
	}
	stop()

	// name_constraints: false: an unconstrained generation; every rule host
	// is intercepted, each with the oldest generation that may issue it.
	in.edit("ca: {name_constraints: false}\n", googleRule+immichRule+ownRule)
	addr, out, stop = in.start()
	defer stop()
	if !strings.Contains(out, "created CA generation 3 without name constraints") {
		t.Fatalf("no unconstrained generation announced:\n%s", out)
	}
	phone = newDevice(gen1, gen2, in.generationPEM(3))
	for _, host := range []string{"photos.google.com", "p01-contentws.icloud-content.com", "immich.example.org", "photos.example.net"} {
		if err := phone.trusts(t, addr, host); err != nil {
			t.Errorf("name_constraints false: %s: %v", host, err)
		}
	}
	if err := newDevice(gen1).trusts(t, addr, "photos.google.com"); err != nil {
		t.Fatalf("name_constraints false took photos.google.com from generation 1: %v", err)
	}
}
