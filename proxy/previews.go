package proxy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"io"
	"net/http"
	"path/filepath"
	"sort"
	"strconv"
	"sync"

	"go.uber.org/zap"

	"jpegveil/config"
	"jpegveil/keystream"
	"jpegveil/proxy/internal/direction"
	"jpegveil/proxy/internal/preview"
	"jpegveil/proxy/services"
)

// previews renders and caches the previews of the proxy's photos.
type previews struct {
	cache   *preview.Cache
	quality int
	sizes   []int // longest sides rendered at upload
	limit   int64 // most of an original read to render from

	// Renders at upload run after the answer went to the client, one at
	// a time (a phone photo takes a few hundred milliseconds); a request
	// for a preview of a photo still being rendered waits for it.
	mu      sync.Mutex
	pending map[string]chan struct{} // by photoKey
	work    chan struct{}            // one token: the render worker
	running sync.WaitGroup
}

func photoKey(svc, photo string) string { return svc + "\x00" + photo }

// renderLater renders the upload sizes of a photo just uploaded, in the
// background.
func (p *previews) renderLater(svc, photo string, plain []byte, failed func(error)) {
	done := make(chan struct{})
	p.mu.Lock()
	p.pending[photoKey(svc, photo)] = done
	p.mu.Unlock()
	p.running.Add(1)
	go func() {
		defer p.running.Done()
		p.work <- struct{}{}
		defer func() {
			<-p.work
			p.mu.Lock()
			delete(p.pending, photoKey(svc, photo))
			p.mu.Unlock()
			close(done)
		}()
		img, err := preview.Decode(plain)
		if err == nil {
			_, err = p.renderAll(svc, photo, img, nil)
		}
		if err != nil {
			failed(err)
		}
	}()
}

// drain waits for the renders under way: a proxy shutting down finishes
// them, so that what was rendered at upload is in the disk cache.
func (p *previews) drain() { p.running.Wait() }

// wait returns once no render of the photo is under way, or ctx is done.
func (p *previews) wait(ctx context.Context, svc, photo string) {
	p.mu.Lock()
	done := p.pending[photoKey(svc, photo)]
	p.mu.Unlock()
	if done != nil {
		select {
		case <-done:
		case <-ctx.Done():
		}
	}
}

func newPreviews(cfg *config.Config, key *keystream.Key) (*previews, error) {
	dir := ""
	if cfg.Previews.DiskCache > 0 {
		dir = filepath.Join(cfg.StateDir, "previews")
	}
	cache, err := preview.NewCache(int64(cfg.Previews.MemoryCache), dir, int64(cfg.Previews.DiskCache), key.PreviewCacheKey())
	if err != nil {
		return nil, err
	}
	return &previews{cache: cache, quality: cfg.Previews.Quality, sizes: cfg.Previews.UploadSizes, limit: int64(cfg.Limits.HashBuffer),
		pending: map[string]chan struct{}{}, work: make(chan struct{}, 1)}, nil
}

// Cache keys: service, the service's ID for the photo, what is cached.
func previewKey(svc, photo string, spec preview.Spec) string {
	return svc + "\x00" + photo + "\x00" + spec.String()
}
func placeholderKey(svc, photo string) string { return svc + "\x00" + photo + "\x00thumbhash" }
func strangerKey(svc, photo string) string    { return svc + "\x00" + photo + "\x00stranger" }

// renderAll renders the upload sizes and the placeholder of a photo of the
// proxy's and caches them, along with the one spec asked for (if any),
// which it returns.
func (p *previews) renderAll(svc, photo string, img image.Image, asked *preview.Spec) ([]byte, error) {
	specs := make([]preview.Spec, 0, len(p.sizes)+1)
	for _, n := range p.sizes {
		specs = append(specs, preview.Side(n))
	}
	if asked != nil {
		specs = append(specs, *asked)
	}
	// Largest first: a smaller size is scaled from a larger rendition
	// when that is at least twice its size (far cheaper than from a
	// phone's 12 megapixels, and as sharp), and the placeholder from the
	// smallest that covers 100×100, as Immich makes it from its preview.
	sort.SliceStable(specs, func(i, j int) bool { return specs[i].Width*specs[i].Height > specs[j].Width*specs[j].Height })
	var out []byte
	from := img
	for _, spec := range specs {
		src := img
		if b := from.Bounds(); spec.Width > 0 && spec.Height > 0 && b.Dx() >= 2*spec.Width && b.Dy() >= 2*spec.Height {
			src = from
		}
		scaled := preview.Scale(src, spec)
		b, err := preview.Encode(scaled, p.quality)
		if err != nil {
			return nil, err
		}
		p.cache.Put(previewKey(svc, photo, spec), b)
		if asked != nil && spec == *asked {
			out = b
		}
		// Only a rendition of the whole frame stands in for the photo.
		if sb := scaled.Bounds(); !spec.Crop && (sb.Dx() >= 100 || sb.Dy() >= 100) {
			from = scaled
		}
	}
	p.cache.Put(placeholderKey(svc, photo), preview.ThumbHash(from))
	return out, nil
}

// placeholders is the services.Placeholders of svc for a request with
// context ctx: a photo still being rendered is waited for.
func (p *previews) placeholders(ctx context.Context, svc string) services.Placeholders {
	return func(photo string) ([]byte, bool) {
		p.wait(ctx, svc, photo)
		return p.cache.Get(placeholderKey(svc, photo))
	}
}

// servePreview answers a request for a rendition: from the cache, or
// rendered from the original when the photo is the proxy's; the service's
// own rendition passes for a photo of someone else's, and when the
// original cannot be had (logged with the reason).
func (s *Server) servePreview(ex *exchange, svc string, r services.Rendition) (*http.Response, error) {
	p := s.previews
	p.wait(ex.req.Context(), svc, r.Photo)
	if b, ok := p.cache.Get(previewKey(svc, r.Photo, r.Spec)); ok {
		// The cache answers only a client the service still lets see
		// the photo: a HEAD of the original with the request's
		// credentials costs a round trip and no body.
		head := r.Original.Clone(r.Original.Context())
		head.Method = http.MethodHead
		resp, err := s.upstream.RoundTrip(head)
		if err == nil {
			resp.Body.Close()
		}
		if err != nil || resp.StatusCode != http.StatusOK {
			return ex.Pass(services.Passed)
		}
		ex.outcome = services.PreviewCached
		return previewResponse(ex.req, b), nil
	}
	if _, ok := p.cache.Get(strangerKey(svc, r.Photo)); ok {
		return ex.Pass(services.Passed)
	}
	plain, ours, err := s.fetchOriginal(ex, r.Original)
	if err != nil {
		ex.Record(services.PreviewFallback, fmt.Errorf("fetching the original to render a preview: %w", err))
		return ex.RoundTrip(ex.req)
	}
	if !ours {
		p.cache.Put(strangerKey(svc, r.Photo), []byte{1})
		return ex.Pass(services.Passed)
	}
	img, err := preview.Decode(plain)
	var b []byte
	if err == nil {
		b, err = p.renderAll(svc, r.Photo, img, &r.Spec)
	}
	if err != nil {
		ex.Record(services.PreviewFallback, err)
		return ex.RoundTrip(ex.req)
	}
	ex.outcome = services.PreviewRendered
	return previewResponse(ex.req, b), nil
}

// fetchOriginal fetches and decrypts a photo; ours says whether the
// ledger knew it (it was decrypted).
func (s *Server) fetchOriginal(ex *exchange, req *http.Request) (plain []byte, ours bool, err error) {
	resp, err := s.upstream.RoundTrip(req)
	if err != nil {
		return nil, false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || services.Compressed(resp.Header) != "" {
		return nil, false, fmt.Errorf("%s answered %s", req.URL.Path, resp.Status)
	}
	limit := s.previews.limit
	cr := &countingReader{r: io.LimitReader(resp.Body, limit+1)}
	// Ours: the ledger knows the photo, or the classifier recognises a
	// ciphertext under a key of the ring (direction.Decider).
	dec, whole, prefix, readErr, err := s.crypt.decide(req.Context(), direction.Download, cr, ex.rule)
	if readErr != nil || err != nil {
		return nil, false, errors.Join(readErr, err)
	}
	if !dec.Transform {
		ex.Sent(cr.n)
		return nil, false, nil
	}
	vr := s.crypt.transform(req.Context(), dec, whole, ex.rule, prefix)
	plain, err = io.ReadAll(vr)
	ex.Sent(cr.n)
	if err != nil {
		return nil, false, err
	}
	if int64(len(plain)) > limit {
		return nil, false, errors.New("the original is larger than limits.hash_buffer")
	}
	return plain, vr.Result().Transformed, nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// previewResponse is a rendered preview. Renditions of one photo do not
// change (clients add a cache buster of their own when the photo does),
// so the client may keep it for a day.
func previewResponse(req *http.Request, b []byte) *http.Response {
	sum := sha256.Sum256(b)
	etag := `"jv-` + hex.EncodeToString(sum[:8]) + `"`
	h := make(http.Header)
	h.Set("Cache-Control", "private, max-age=86400")
	h.Set("ETag", etag)
	h.Set("X-Jpegveil-Preview", "rendered")
	if req.Header.Get("If-None-Match") == etag {
		return services.Respond(req, http.StatusNotModified, h, "")
	}
	h.Set("Content-Type", "image/jpeg")
	resp := services.Respond(req, http.StatusOK, h, "")
	resp.Body = io.NopCloser(bytes.NewReader(b))
	resp.ContentLength = int64(len(b))
	resp.Header.Set("Content-Length", strconv.Itoa(len(b)))
	return resp
}

// logPreviewError logs a preview the proxy could not render at upload.
func (s *Server) logPreviewError(svc string, err error) {
	s.log.Warn("rendering previews at upload failed", zap.String("service", svc), zap.Error(err))
}
