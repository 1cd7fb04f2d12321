package proxy_test

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"jpegveil/internal/fakes"
	"jpegveil/internal/proxytest"
)

// TestWrongProxyPasswordsAreSlowedAndLogged: a client that keeps sending
// wrong proxy credentials gets its few checks, then 429 with Retry-After
// until the backoff has passed, while another address is unaffected; each
// failure is logged with the client's address and never the password.
func TestWrongProxyPasswordsAreSlowedAndLogged(t *testing.T) {
	svc := fakes.NewPhotos(t)
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	yaml := proxytest.ConfigYAML(t.TempDir(), svc.Srv.Listener.Addr().String(), []string{svc.CAFile},
		"clients:\n  auth: {user: alice, password_file: "+pw+"}\n")
	core, logs := observer.New(zap.InfoLevel)
	p := proxytest.Start(t, yaml, zap.New(core))
	try := func(client, password string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "http://photos.test/objects/none", nil)
		req.RemoteAddr = client
		req.Header.Set("Proxy-Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("alice:"+password)))
		rec := httptest.NewRecorder()
		p.Server.ServeHTTP(rec, req)
		return rec
	}

	checked, limited := 0, 0
	start := time.Now()
	for i := range 1000 {
		switch rec := try("127.0.0.1:50000", "guess-"+string(rune('a'+i%26))+"-wrong"); rec.Code {
		case http.StatusProxyAuthRequired:
			checked++
		case http.StatusTooManyRequests:
			limited++
			if rec.Header().Get("Retry-After") == "" {
				t.Fatal("429 without Retry-After")
			}
		default:
			t.Fatalf("wrong password %d: %d", i, rec.Code)
		}
	}
	t.Logf("1000 wrong passwords in %v: %d checked, %d answered 429", time.Since(start), checked, limited)
	if checked > 10 {
		t.Fatalf("%d of 1000 wrong passwords were checked without delay", checked)
	}
	// The right password from the same address waits too; another address
	// is not held up.
	if rec := try("127.0.0.1:50001", "s3cret"); rec.Code != http.StatusTooManyRequests {
		t.Fatalf("the locked-out address got %d for the right password", rec.Code)
	}
	if rec := try("127.0.0.2:50000", "s3cret"); rec.Code == http.StatusTooManyRequests || rec.Code == http.StatusProxyAuthRequired {
		t.Fatalf("another address got %d", rec.Code)
	}
	// After the backoff, the address may try again.
	p.Clock.Advance(time.Hour)
	if rec := try("127.0.0.1:50002", "s3cret"); rec.Code == http.StatusTooManyRequests || rec.Code == http.StatusProxyAuthRequired {
		t.Fatalf("after the backoff the right password got %d", rec.Code)
	}

	failures := logs.FilterMessageSnippet("proxy authentication failed").All()
	if len(failures) != checked {
		t.Fatalf("%d failures logged, %d checked", len(failures), checked)
	}
	if len(logs.FilterMessageSnippet("slowed down").All()) == 0 {
		t.Fatal("the backoff is not logged")
	}
	for _, e := range logs.All() {
		line := e.Message
		for k, v := range e.ContextMap() {
			line += " " + k + "=" + fmt.Sprint(v)
		}
		if strings.Contains(line, "wrong") && strings.Contains(line, "guess-") || strings.Contains(line, "s3cret") {
			t.Fatalf("a password reached the log: %s", line)
		}
		if strings.Contains(e.Message, "authentication failed") && e.ContextMap()["client"] != "127.0.0.1:50000" {
			t.Fatalf("failure logged without the client address: %v", e.ContextMap())
		}
	}
}
