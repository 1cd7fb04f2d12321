package proxy

import (
	"bytes"
	"html/template"
	"net/http"
	"strings"
)

// onboardingHosts are names that reach the onboarding page through the
// proxy, like mitmproxy's mitm.it: with the proxy set, open http://jpegveil/.
func isOnboardingHost(host string) bool {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	return h == "jpegveil" || h == "jpegveil.proxy"
}

var onboardingPage = template.Must(template.New("onboarding").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>jpegveil: install the certificate</title>
<style>
body{font:16px/1.5 system-ui,sans-serif;max-width:44em;margin:2em auto;padding:0 1em;color:#222}
code,.fp{font-family:ui-monospace,monospace;font-size:.9em;word-break:break-all}
a.button{display:inline-block;margin:.3em .5em .3em 0;padding:.5em 1em;border-radius:.4em;background:#2b5797;color:#fff;text-decoration:none}
h2{margin-top:1.6em;font-size:1.15em} .box{background:#f4f4f4;padding:.8em 1em;border-radius:.4em}
</style></head><body>
<h1>jpegveil</h1>
<p>This proxy encrypts the JPEG photos your devices upload to the photo services in its rules, and decrypts them when they come back.
To let it do that, install its certificate authority on each device once.</p>
<div class="box">
<p>Certificate: <b>{{.Name}}</b><br>SHA-256 fingerprint: <span class="fp">{{.Fingerprint}}</span><br>
Valid until {{.NotAfter}}. It can only be used for: {{.Domains}}.</p>
<p>Key ID: <code>{{.KeyID}}</code> — every device and proxy that should see your photos needs the key with this ID.</p>
</div>
{{.Status}}
<p><a class="button" href="/jpegveil-ca.pem">Certificate (PEM)</a>
<a class="button" href="/jpegveil-ca.crt">Certificate (DER, Android/Windows)</a>
<a class="button" href="/jpegveil.mobileconfig">iPhone/iPad/Mac profile</a></p>
<h2>iPhone and iPad</h2>
<ol><li>Open this page in Safari and tap <i>iPhone/iPad/Mac profile</i>, then <i>Allow</i>.</li>
<li>Settings → General → VPN &amp; Device Management → the jpegveil profile → <i>Install</i>.</li>
<li>Settings → General → About → Certificate Trust Settings → turn on full trust for <b>{{.Name}}</b>.</li>
<li>Settings → Wi-Fi → (i) next to your network → Configure Proxy → Manual: this computer's address and port.</li></ol>
<h2>Android</h2>
<ol><li>Download the DER certificate, then Settings → Security → Encryption &amp; credentials → Install a certificate → CA certificate.</li>
<li>Wi-Fi network settings → Proxy → Manual. Apps built for Android 7 and later ignore user certificates unless they opt in (the Google Photos app does not); use a browser or an app that trusts user CAs.</li></ol>
<h2>macOS</h2>
<ol><li>Download the profile or the PEM file and open it; in Keychain Access set <i>When using this certificate: Always Trust</i>.</li>
<li>System Settings → Network → Details → Proxies → Secure web proxy (HTTPS).</li></ol>
<h2>Windows</h2>
<ol><li>Download the DER certificate, open it, <i>Install Certificate</i> → Current User → Place in <i>Trusted Root Certification Authorities</i>.</li>
<li>Settings → Network &amp; Internet → Proxy → Manual proxy setup.</li></ol>
<h2>Linux and command-line tools</h2>
<ol><li><code>curl -x http://PROXY:PORT --cacert jpegveil-ca.pem …</code>, or add the PEM to your system store (<code>update-ca-certificates</code>).</li>
<li>Firefox has its own store: Settings → Privacy &amp; Security → Certificates → View Certificates → Import.</li></ol>
<h2>Good to know</h2>
<ul><li>Browsers may use QUIC (HTTP/3), which bypasses the proxy: disable it (Chrome: <code>chrome://flags/#enable-quic</code>).</li>
<li>Apps that pin their certificates (Apple Photos, the Google Photos app) cannot be intercepted; their uploads are not encrypted.</li>
<li>Services that re-encode photos store their own versions; only originals round-trip, and the service's thumbnails show noise.</li></ul>
</body></html>
`))

func (s *Server) onboardingHandler() http.Handler {
	cert := s.ca.Certificate()
	domains := "any site"
	if len(cert.PermittedDNSDomains) > 0 {
		domains = strings.Join(cert.PermittedDNSDomains, ", ")
	}
	var page bytes.Buffer
	err := onboardingPage.Execute(&page, map[string]string{
		"Name":        cert.Subject.CommonName,
		"Fingerprint": s.ca.Fingerprint(),
		"NotAfter":    cert.NotAfter.UTC().Format("2 January 2006"),
		"Domains":     domains,
		"KeyID":       s.keyIDs(),
		"Status":      statusMark,
	})
	if err != nil {
		panic("proxy: onboarding template: " + err.Error()) // the template is fixed
	}
	profile, profileErr := s.ca.MobileConfig("")
	mux := http.NewServeMux()
	serve := func(contentType string, body []byte, download string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", contentType)
			if download != "" {
				w.Header().Set("Content-Disposition", `attachment; filename="`+download+`"`)
			}
			w.Header().Set("Cache-Control", "no-store")
			w.Write(body)
		}
	}
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		serve("text/html; charset=utf-8", bytes.Replace(page.Bytes(), []byte(statusMark), s.statusBlock(), 1), "")(w, r)
	})
	mux.HandleFunc("GET /jpegveil-ca.pem", serve("application/x-pem-file", s.ca.CertPEM(), "jpegveil-ca.pem"))
	mux.HandleFunc("GET /jpegveil-ca.crt", serve("application/x-x509-ca-cert", s.ca.CertDER(), "jpegveil-ca.crt"))
	mux.HandleFunc("GET /jpegveil.mobileconfig", func(w http.ResponseWriter, r *http.Request) {
		if profileErr != nil {
			http.Error(w, "profile unavailable: "+profileErr.Error(), http.StatusInternalServerError)
			return
		}
		serve("application/x-apple-aspen-config", profile, "jpegveil.mobileconfig")(w, r)
	})
	return mux
}
