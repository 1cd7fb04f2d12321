package proxy_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"jpegveil/internal/fakes"
	"jpegveil/internal/proxytest"
	"jpegveil/ledger"
	"jpegveil/proxy"
)

// failingLedger is a ledger whose lookups or adds fail on demand, as a
// ledger file with a bad page or on a full disk does.
type failingLedger struct {
	ledger.Ledger
	lookup, add atomic.Pointer[error]
}

func (l *failingLedger) Lookup(ctx context.Context, fp ledger.Fingerprint) (ledger.Entry, bool, error) {
	if err := l.lookup.Load(); err != nil {
		return ledger.Entry{}, false, *err
	}
	return l.Ledger.Lookup(ctx, fp)
}

func (l *failingLedger) Add(ctx context.Context, fp ledger.Fingerprint, e ledger.Entry) error {
	if err := l.add.Load(); err != nil {
		return *err
	}
	return l.Ledger.Add(ctx, fp, e)
}

// TestLedgerFaultsFailClosed: a ledger that faults at run time (a bad page:
// ledger.FaultError) or cannot write (a full disk) fails the request that
// met it with 502 and the reason, logged, without a byte of the photo
// reaching the service, and the proxy keeps serving. Before, the client saw
// its connection close (after 100 Continue, for a client that asked).
func TestLedgerFaultsFailClosed(t *testing.T) {
	small := fakes.CorpusFile(t, "photos/coffee-q80-420.jpg")
	large := fakes.CorpusFile(t, "photos/phone-12mp-q92.jpg") // beyond the proxy's pre-read
	svc := fakes.NewPhotos(t)
	core, logs := observer.New(zapcore.InfoLevel)
	var led *failingLedger
	p := proxytest.StartWith(t, proxytest.ConfigYAML(t.TempDir(), svc.Srv.Listener.Addr().String(), []string{svc.CAFile}, ""), proxytest.Options{
		Log:      zap.New(core),
		EditDeps: func(d *proxy.Deps) { led = &failingLedger{Ledger: d.Ledger}; d.Ledger = led },
	})
	upload := func(photo []byte) (*http.Response, string) {
		req := proxytest.NewReq(t, "POST", "https://photos.test/upload", bytes.NewReader(photo))
		req.Header.Set("Expect", "100-continue")
		resp, err := p.Client.Do(req)
		if err != nil {
			t.Fatalf("upload: no answer: %v", err)
		}
		buf := new(bytes.Buffer)
		buf.ReadFrom(resp.Body)
		resp.Body.Close()
		return resp, buf.String()
	}
	resp, id := upload(small)
	if resp.StatusCode != 200 {
		t.Fatalf("upload with a working ledger: %s", resp.Status)
	}
	fault := error(&ledger.FaultError{Path: "ledger.db", Op: "lookup", Cause: "page 3 already freed"})
	full := error(fmt.Errorf("ledger add ledger.db: write ledger.db: %w", syscall.ENOSPC))
	for _, tc := range []struct {
		name        string
		lookup, add *error
		reason      string
	}{
		{"fault", &fault, &fault, "ledger check"},
		{"full disk", nil, &full, "no space left"},
	} {
		led.lookup.Store(tc.lookup)
		led.add.Store(tc.add)
		for _, photo := range [][]byte{small, large} {
			before := len(svc.Objects)
			resp, msg := upload(photo)
			if resp.StatusCode != http.StatusBadGateway || !strings.Contains(msg, tc.reason) {
				t.Fatalf("%s, %d-byte upload: %s %q, want 502 with %q", tc.name, len(photo), resp.Status, msg, tc.reason)
			}
			svc.Mu.Lock()
			for _, stored := range svc.Objects {
				if bytes.Equal(stored, photo) {
					t.Fatalf("%s: the service stored the plaintext", tc.name)
				}
			}
			if len(svc.Objects) != before {
				t.Fatalf("%s: the service stored the upload", tc.name)
			}
			svc.Mu.Unlock()
		}
		if tc.lookup != nil {
			resp, _ := proxytest.MustDo(t, p.Client, proxytest.NewReq(t, "GET", "https://photos.test/objects/"+id, nil))
			if resp.StatusCode != http.StatusBadGateway {
				t.Fatalf("%s: download: %s, want 502", tc.name, resp.Status)
			}
		}
	}
	if n := logs.FilterField(zap.String("outcome", "error")).FilterLevelExact(zapcore.WarnLevel).Len(); n < 4 {
		t.Fatalf("%d warnings with outcome error, want one per failed request: %v", n, logs.All())
	}
	// Still serving: with the ledger back, uploads work again.
	led.lookup.Store(nil)
	led.add.Store(nil)
	if resp, _ := upload(small); resp.StatusCode != 200 {
		t.Fatalf("after the faults: %s", resp.Status)
	}
}
