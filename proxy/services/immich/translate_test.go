package immich

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"net/http/httptest"
	"strings"
	"testing"

	"jpegveil/proxy/services"
)

// mapSums maps one ciphertext checksum to one plaintext checksum.
type mapSums struct{ plain, cipher []byte }

func (m mapSums) Cipher(_ context.Context, p []byte) ([]byte, bool) {
	return m.cipher, bytes.Equal(p, m.plain)
}
func (m mapSums) Plain(_ context.Context, c []byte) ([]byte, bool) {
	return m.plain, bytes.Equal(c, m.cipher)
}
func (m mapSums) StandIn(p []byte) []byte                      { return bytes.Repeat([]byte{0xAA}, len(p)) }
func (m mapSums) Record(context.Context, []byte, []byte) error { return nil }

func TestTranslateSyncStream(t *testing.T) {
	m := mapSums{plain: bytes.Repeat([]byte{1}, 20), cipher: bytes.Repeat([]byte{2}, 20)}
	b64 := base64.StdEncoding.EncodeToString
	other := b64(bytes.Repeat([]byte{3}, 20))
	// The mobile app's POST /api/sync/stream: one JSON object per line.
	body := `{"type":"AssetV1","data":{"id":"a1","checksum":"` + b64(m.cipher) + `","thumbhash":"c2VydmVy"},"ack":"1"}
{"type":"AssetV1","data":{"id":"a2","checksum":"` + other + `","thumbhash":"c2VydmVy"},"ack":"2"}
{"type":"SyncAckV1","data":{},"ack":"3"}
`
	ph := func(id string) ([]byte, bool) { return []byte("mine"), id == "a1" }
	out, changed, err := Service{}.TranslateResponse(httptest.NewRequest("POST", "/api/sync/stream", nil), []byte(body), services.Translation{Checksums: m, Placeholders: ph})
	if err != nil || !changed {
		t.Fatalf("changed=%v err=%v", changed, err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines, want 3:\n%s", len(lines), out)
	}
	if !strings.Contains(lines[0], b64(m.plain)) || !strings.Contains(lines[0], `"thumbhash":"`+b64([]byte("mine"))+`"`) {
		t.Errorf("our asset: %s", lines[0])
	}
	if !strings.Contains(lines[1], other) || !strings.Contains(lines[1], "c2VydmVy") {
		t.Errorf("another's asset changed: %s", lines[1])
	}

	// bulk-upload-check: a known photo's checksum becomes its
	// ciphertext's, any other a stand-in, in the encoding it came in.
	req := `{"assets":[{"id":"x","checksum":"` + hex.EncodeToString(m.plain) + `"},{"id":"y","checksum":"` + other + `"}]}`
	out, changed, err = Service{}.TranslateRequest(httptest.NewRequest("POST", "/api/assets/bulk-upload-check", nil), []byte(req), m)
	if err != nil || !changed || !strings.Contains(string(out), hex.EncodeToString(m.cipher)) || !strings.Contains(string(out), b64(bytes.Repeat([]byte{0xAA}, 20))) || strings.Contains(string(out), other) {
		t.Fatalf("bulk-upload-check: %s", out)
	}
	// Not JSON: unchanged.
	if out, changed, err := (Service{}).TranslateRequest(httptest.NewRequest("POST", "/", nil), []byte("--boundary"), m); changed || err != nil || string(out) != "--boundary" {
		t.Fatalf("a non-JSON body: %q %v %v", out, changed, err)
	}
}
