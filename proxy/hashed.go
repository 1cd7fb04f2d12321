package proxy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"jpegveil/config"
	"jpegveil/proxy/internal/budget"
	"jpegveil/proxy/internal/hashes"
	"jpegveil/proxy/services"
	"jpegveil/veil"
)

// hashedBody is an upload being encrypted into memory, with the digests of
// the request body and of the file alone, as the client sent them and as
// they go upstream. Its memory is taken from the proxy's budget as the
// buffer grows.
type hashedBody struct {
	buf                   []byte
	hold                  *budget.Hold
	limit                 int64
	plainBody, cipherBody *hashes.Set
	plainFile, cipherFile *hashes.Set
}

func newHashedBody(limit int64, hold *budget.Hold, algs []hashes.Alg) *hashedBody {
	return &hashedBody{
		limit: limit, hold: hold,
		plainBody: hashes.NewSet(algs...), cipherBody: hashes.NewSet(algs...),
		plainFile: hashes.NewSet(algs...), cipherFile: hashes.NewSet(algs...),
	}
}

// reserve takes the memory for a body of n bytes before any of it is read:
// all of it at once, so that uploads waiting for memory never each hold a
// part of what they need.
func (hb *hashedBody) reserve(ctx context.Context, n int64) error {
	if err := hb.hold.Resize(ctx, n+1); err != nil {
		return err
	}
	hb.buf = make([]byte, 0, n+1) // one byte more, to see the end
	return nil
}

// full reports whether the body went past the limit.
func (hb *hashedBody) full() bool { return int64(len(hb.buf)) > hb.limit }

// write appends b, which fits in the reservation.
func (hb *hashedBody) write(b []byte) { hb.buf = append(hb.buf, b...) }

// readFrom appends r to the buffer, reading at most one byte past the
// limit. Beyond the reservation the buffer grows as bytes arrive, each step
// taken from the budget first.
func (hb *hashedBody) readFrom(ctx context.Context, r io.Reader) error {
	for !hb.full() {
		if len(hb.buf) == cap(hb.buf) {
			want := min(int64(cap(hb.buf)+max(32<<10, min(cap(hb.buf), 4<<20))), hb.limit+1)
			if err := hb.hold.Resize(ctx, max(want, hb.hold.Size())); err != nil {
				return err
			}
			hb.buf = slices.Grow(hb.buf, int(want)-len(hb.buf))
		}
		n, err := r.Read(hb.buf[len(hb.buf):min(int64(cap(hb.buf)), hb.limit+1)])
		hb.buf = hb.buf[:len(hb.buf)+n]
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// sendHashed is sendEncrypted for a request that carries hash headers: the
// whole body is transformed into memory (at most limits.hash_buffer), the
// headers are recomputed over it, then it goes upstream with a known
// length.
func (ex *exchange) sendHashed(u uploadParts, found []hashes.Found) (*http.Response, error) {
	defer u.body.Close()
	req := ex.req
	hb := newHashedBody(ex.env.HashBuffer(), ex.env.Memory.NewHold(), hashes.Algs(found))
	defer hb.hold.Close()
	tooLarge := func() (*http.Response, error) {
		services.Drain(req.Body)
		names := make([]string, len(found))
		for i, f := range found {
			names[i] = f.Name()
		}
		return ex.refusal(fmt.Errorf("the upload carries a hash of its content (%s), which must be recomputed over the encrypted photo before anything is sent; the body is larger than limits.hash_buffer (%s)",
			strings.Join(names, ", "), config.Size(hb.limit))), nil
	}
	if req.ContentLength > hb.limit {
		return tooLarge()
	}
	if err := hb.reserve(req.Context(), max(req.ContentLength, int64(len(u.prefix)))); err != nil {
		return ex.busy(err)
	}
	hb.plainBody.Write(u.prefix)
	hb.cipherBody.Write(u.prefix)
	hb.write(u.prefix)
	vr := ex.transform(io.TeeReader(ex.capture.plainSide(u.photo), io.MultiWriter(hb.plainBody, hb.plainFile)))
	// The ciphertext is hashed as it is read, not in more passes over the
	// buffer afterwards.
	fileSum := sha256.New()
	err := hb.readFrom(req.Context(), io.TeeReader(ex.capture.cipherSide(vr), io.MultiWriter(hb.cipherBody, hb.cipherFile, fileSum)))
	ex.result = vr.Result()
	if err != nil {
		if services.IsBusy(err) {
			return ex.busy(err)
		}
		if veil.IsParseError(err) {
			return ex.refusal(err), nil
		}
		return ex.bodyFailed(err, u)
	}
	if hb.full() {
		return tooLarge()
	}
	if u.suffix != nil {
		fileEnd := len(hb.buf)
		if err := hb.readFrom(req.Context(), u.suffix); err != nil {
			if services.IsBusy(err) {
				return ex.busy(err)
			}
			var re *refuseError
			if errors.As(err, &re) {
				services.Drain(u.suffix)
				return ex.refusal(err), nil
			}
			ex.Record(services.ClientError, err)
			return nil, err
		}
		if hb.full() {
			return tooLarge()
		}
		hb.plainBody.Write(hb.buf[fileEnd:])
		hb.cipherBody.Write(hb.buf[fileEnd:])
	}
	err = hashes.Rewrite(req.Header, found,
		&hashes.Span{What: "request body", Plain: hb.plainBody.Sums(), Cipher: hb.cipherBody.Sums()},
		&hashes.Span{What: "file", Plain: hb.plainFile.Sums(), Cipher: hb.cipherFile.Sums()})
	if err != nil {
		return ex.refusal(err), nil
	}
	ex.SetFileHash([32]byte(fileSum.Sum(nil)))
	return ex.sendBuffered(hb.buf)
}

// busy answers an upload there is no memory for now: 503, Retry-After.
func (ex *exchange) busy(why error) (*http.Response, error) {
	return services.AnswerBusy(ex, why)
}

// sendBuffered sends the request upstream with body sent, whose length is
// known.
func (ex *exchange) sendBuffered(sent []byte) (*http.Response, error) {
	req := ex.req
	req.Body = io.NopCloser(bytes.NewReader(sent))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(sent)), nil }
	if req.ContentLength >= 0 {
		req.ContentLength = int64(len(sent))
	}
	ex.bytes = int64(len(sent))
	resp, err := ex.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	ex.outcome = services.Of(ex.result)
	return resp, nil
}
