package proxy_test

import (
	"testing"

	"jpegveil/internal/phonefiles"
	"jpegveil/internal/proxytest"
)

// TestTwoProxiesSameKeyPhoneFiles: a phone file uploaded through one proxy
// (a gain map, a motion photo's video after the image) downloads decrypted
// through another proxy with the key that does not know it, which decides
// its direction with the classifier alone.
func TestTwoProxiesSameKeyPhoneFiles(t *testing.T) {
	t.Parallel()
	for _, l := range phonefiles.Layouts() {
		t.Run(l.Name, func(t *testing.T) {
			photo := l.Build(phonefiles.NewParts(640, 480, 20<<10, 3))
			h, key := newHousehold(t), newKey(t)
			a := h.proxy(t, proxytest.Options{}, key)
			b := h.proxy(t, proxytest.Options{}, key)
			id, cipher := h.uploadThrough(t, a, key, photo)
			h.checkOtherProxy(t, b, id, photo, cipher)
		})
	}
}
