package proxy_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"image"
	"image/png"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"jpegveil/certs"
	"jpegveil/config"
	"jpegveil/internal/fakes"
	"jpegveil/internal/proxytest"
	"jpegveil/keystream"
	"jpegveil/ledger"
	"jpegveil/proxy"
)

// startWithCA runs a proxy for yaml whose leaves come from ca alone, on
// listen (kept on loopback: see proxytest.ListenLoopbackAs), and returns
// the address it reports and its log.
func startWithCA(t *testing.T, yaml string, ca *certs.CA, listen string) (string, *observer.ObservedLogs) {
	t.Helper()
	return startWithDeps(t, yaml, proxy.Deps{CA: ca}, listen)
}

// startWithDeps is startWithCA with the CA or CA generations of deps.
func startWithDeps(t *testing.T, yaml string, deps proxy.Deps, listen string) (string, *observer.ObservedLogs) {
	t.Helper()
	cfg, err := config.ParseConfig([]byte(yaml), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	key, err := keystream.GenerateKey(keystream.ModeExtended)
	if err != nil {
		t.Fatal(err)
	}
	led, err := ledger.OpenBolt(filepath.Join(t.TempDir(), "ledger.db"), ledger.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { led.Close() })
	core, logs := observer.New(zap.InfoLevel)
	deps.Key, deps.Ledger = key, led
	srv, err := proxy.New(cfg, zap.New(core), deps)
	if err != nil {
		t.Fatal(err)
	}
	l, err := proxytest.ListenLoopbackAs("tcp", listen)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.Serve(ctx, l); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return l.Addr().String(), logs
}

// connect opens a CONNECT tunnel to host through the proxy at addr.
func connect(t *testing.T, addr, host string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	io.WriteString(c, "CONNECT "+host+" HTTP/1.1\r\nHost: "+host+"\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 || br.Buffered() != 0 {
		t.Fatalf("CONNECT %s: %v %v", host, resp, err)
	}
	return c
}

// A rule host that no CA generation may issue for ends the handshake with
// a TLS alert and a log line naming the host and the fix; no HTTP bytes
// are written into the TLS stream.
func TestUnissuableHostGetsTLSAlert(t *testing.T) {
	ca, err := certs.NewCA(certs.CAOptions{PermittedDomains: []string{"other.test"}})
	if err != nil {
		t.Fatal(err)
	}
	svc := fakes.NewPhotos(t)
	addr, logs := startWithCA(t, proxytest.ConfigYAML(t.TempDir(), svc.Srv.Listener.Addr().String(), []string{svc.CAFile}, ""), ca, "127.0.0.1:0")
	c := connect(t, addr, "photos.test:443")
	err = tls.Client(c, &tls.Config{ServerName: "photos.test", InsecureSkipVerify: true}).Handshake()
	// crypto/tls reports an alert from the peer as a *net.OpError "remote
	// error"; HTTP bytes would be "first record does not look like a TLS
	// handshake".
	var op *net.OpError
	if !errors.As(err, &op) || op.Op != "remote error" {
		t.Fatalf("handshake ended with %v, want a TLS alert", err)
	}
	found := logs.FilterField(zap.String("host", "photos.test")).FilterMessageSnippet("TLS handshake refused").All()
	if len(found) != 1 {
		t.Fatalf("want one log line naming the host, got %d: %v", len(found), logs.All())
	}
	if fix := found[0].ContextMap()["fix"]; !strings.Contains(fix.(string), "jpegveil ca add photos.test") {
		t.Fatalf("the log line's fix does not say what to do: %q", fix)
	}
}

// The CA probe answers over TLS from the proxy itself.
func TestCAProbe(t *testing.T) {
	svc := fakes.NewPhotos(t)
	p := proxytest.Start(t, proxytest.ConfigYAML(t.TempDir(), svc.Srv.Listener.Addr().String(), []string{svc.CAFile}, ""), nil)
	resp, body := proxytest.MustDo(t, p.Client, proxytest.NewReq(t, "GET", "https://jpegveil-probe.photos.test/probe.png", nil))
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("probe: %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	if _, err := png.Decode(bytes.NewReader(body)); err != nil {
		t.Fatalf("probe image: %v", err)
	}
	if svc.Received != 0 {
		t.Fatal("the probe reached the service")
	}
	_, page := proxytest.MustDo(t, &http.Client{}, proxytest.NewReq(t, "GET", p.URL.String()+"/", nil))
	if !strings.Contains(string(page), `data-url="https://jpegveil-probe.photos.test/probe.png"`) {
		t.Fatal("the page does not test the probe")
	}
}

func TestPACSendsOnlyRuleHostsThroughTheProxy(t *testing.T) {
	svc := fakes.NewPhotos(t)
	p := proxytest.Start(t, proxytest.ConfigYAML(t.TempDir(), svc.Srv.Listener.Addr().String(), []string{svc.CAFile},
		"  - name: wild\n    hosts: [\"*.wild.test\"]\n    body: download\n"), nil)
	for _, path := range []string{"/proxy.pac", "/wpad.dat"} {
		resp, body := proxytest.MustDo(t, &http.Client{}, proxytest.NewReq(t, "GET", p.URL.String()+path, nil))
		pac := string(body)
		if resp.Header.Get("Content-Type") != "application/x-ns-proxy-autoconfig" {
			t.Errorf("%s: content type %q", path, resp.Header.Get("Content-Type"))
		}
		for _, want := range []string{`"PROXY ` + p.URL.Host + `"`, `"photos.test"`, `".wild.test"`, `"jpegveil"`, `"jpegveil-probe.photos.test"`, `return "DIRECT"`} {
			if !strings.Contains(pac, want) {
				t.Errorf("%s lacks %s:\n%s", path, want, pac)
			}
		}
	}
}

// docMachine stands in for a machine whose network addresses are
// 192.0.2.10 and 2001:db8::10 (documentation prefixes): a proxy with a
// wildcard listen address shows them while it listens on 127.0.0.1 only,
// so that no test sends anything beyond loopback.
var docMachine = proxytest.InterfaceAddrs("127.0.0.1/8", "::1/128", "192.0.2.10/24", "2001:db8::10/64")

// startWildcard runs a proxy for yaml that believes it listens on
// 0.0.0.0 of docMachine, and returns its port.
func startWildcard(t *testing.T, yaml string, deps proxy.Deps) string {
	t.Helper()
	yaml = strings.Replace(yaml, "listen: 127.0.0.1:0", "listen: 0.0.0.0:0\nclients: {allow: [127.0.0.0/8]}", 1)
	deps.InterfaceAddrs = docMachine
	addr, _ := startWithDeps(t, yaml, deps, "0.0.0.0:0")
	_, port, _ := net.SplitHostPort(addr)
	return port
}

// A wildcard listener shows the addresses devices can use, IPv4 first and
// never [::]; the address a device used comes first; the QR code holds
// the page's URL at the first address.
func TestOnboardingPageAddressesAndQR(t *testing.T) {
	ca, err := certs.NewCA(certs.CAOptions{PermittedDomains: []string{"photos.test"}})
	if err != nil {
		t.Fatal(err)
	}
	port := startWildcard(t, proxytest.ConfigYAML(t.TempDir(), "127.0.0.1:1", nil, ""), proxy.Deps{CA: ca})
	local := "http://127.0.0.1:" + port
	// page fetches the page over loopback as a device that entered host.
	page := func(host string) string {
		req := proxytest.NewReq(t, "GET", local+"/", nil)
		req.Host = host
		_, body := proxytest.MustDo(t, &http.Client{}, req)
		return string(body)
	}
	text := page("127.0.0.1:" + port)
	v4, v6 := `<span class="addr">192.0.2.10</span>`, `<span class="addr">2001:db8::10</span>`
	if i, j := strings.Index(text, v4), strings.Index(text, v6); i < 0 || j < i || strings.Contains(text, "[::]") {
		t.Fatalf("the page does not show 192.0.2.10, then 2001:db8::10, or shows [::]:\n%s", text)
	}
	if i, j := strings.Index(text, v4), strings.Index(text, "Steps for your device"); i > j {
		t.Fatal("the address is not shown before the steps")
	}
	if text := page(net.JoinHostPort("2001:db8::10", port)); strings.Index(text, v6) > strings.Index(text, v4) {
		t.Fatal("the address the device used is not shown first")
	}
	_, qr := proxytest.MustDo(t, &http.Client{}, proxytest.NewReq(t, "GET", local+"/qr.png", nil))
	if got, want := decodeQR(t, qr), "http://192.0.2.10:"+port+"/"; got != want {
		t.Fatalf("QR code holds %q, want %q", got, want)
	}
}

// A PAC file of a wildcard listener names the address the device fetched
// it from, or else the first network address.
func TestPACNamesANetworkAddress(t *testing.T) {
	ca, err := certs.NewCA(certs.CAOptions{PermittedDomains: []string{"photos.test"}})
	if err != nil {
		t.Fatal(err)
	}
	port := startWildcard(t, proxytest.ConfigYAML(t.TempDir(), "127.0.0.1:1", nil, ""), proxy.Deps{CA: ca})
	for host, want := range map[string]string{
		"127.0.0.1:" + port:      "192.0.2.10:" + port,
		"192.0.2.10:" + port:     "192.0.2.10:" + port,
		"[2001:db8::10]:" + port: "[2001:db8::10]:" + port,
		"jpegveil":               "192.0.2.10:" + port,
	} {
		req := proxytest.NewReq(t, "GET", "http://127.0.0.1:"+port+"/proxy.pac", nil)
		req.Host = host
		if _, pac := proxytest.MustDo(t, &http.Client{}, req); !strings.Contains(string(pac), `"PROXY `+want+`"`) {
			t.Errorf("fetched from %s, the PAC file does not name %s:\n%s", host, want, pac)
		}
	}
}

func decodeQR(t *testing.T, pngData []byte) string {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(pngData))
	if err != nil {
		t.Fatal(err)
	}
	return decodeQRImage(t, img)
}

func decodeQRImage(t *testing.T, img image.Image) string {
	t.Helper()
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	hints := map[gozxing.DecodeHintType]interface{}{gozxing.DecodeHintType_TRY_HARDER: true}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, hints)
	if err != nil {
		t.Fatalf("no QR code found: %v", err)
	}
	return res.GetText()
}
