package setup

import (
	"net/http"
	"regexp"
	"strconv"

	"jpegveil/certs"
)

var certFile = regexp.MustCompile(`^jpegveil-ca-([0-9]+)\.(crt|cer|mobileconfig)$`)

// ServeCertificate serves the file named by r's {file} path value: a
// generation of gens as jpegveil-ca-N.crt (PEM, which
// update-ca-certificates, Android, Firefox and Windows accept under that
// name), .cer (DER) and .mobileconfig (Apple profile). jpegveil-ca.pem and
// jpegveil-ca.crt hold, in PEM, every generation a device needs, for
// curl --cacert and similar: the generations numbered in needed.
func ServeCertificate(w http.ResponseWriter, r *http.Request, gens []*certs.Generation, needed []int) {
	file := r.PathValue("file")
	if file == "jpegveil-ca.pem" || file == "jpegveil-ca.crt" {
		var bundle []byte
		for _, n := range needed {
			bundle = append(bundle, generation(gens, n).CA.CertPEM()...)
		}
		WriteFile(w, "application/x-pem-file", bundle, file)
		return
	}
	m := certFile.FindStringSubmatch(file)
	if m == nil {
		http.NotFound(w, r)
		return
	}
	n, _ := strconv.Atoi(m[1])
	g := generation(gens, n)
	if g == nil {
		http.NotFound(w, r)
		return
	}
	switch m[2] {
	case "crt":
		WriteFile(w, "application/x-x509-ca-cert", g.CA.CertPEM(), file)
	case "cer":
		WriteFile(w, "application/pkix-cert", g.CA.CertDER(), file)
	case "mobileconfig":
		profile, err := g.CA.MobileConfig("")
		if err != nil {
			http.Error(w, "profile unavailable: "+err.Error(), http.StatusInternalServerError)
			return
		}
		WriteFile(w, "application/x-apple-aspen-config", profile, file)
	}
}

func generation(gens []*certs.Generation, n int) *certs.Generation {
	for _, g := range gens {
		if g.Number == n {
			return g
		}
	}
	return nil
}

// WriteFile answers with body, not to be cached; download names the file
// a browser saves it as ("": shown, not saved).
func WriteFile(w http.ResponseWriter, contentType string, body []byte, download string) {
	w.Header().Set("Content-Type", contentType)
	if download != "" {
		w.Header().Set("Content-Disposition", `attachment; filename="`+download+`"`)
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Write(body)
}
