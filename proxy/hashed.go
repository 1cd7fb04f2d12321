package proxy

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"jpegveil/config"
	"jpegveil/proxy/internal/hashes"
	"jpegveil/proxy/services"
	"jpegveil/veil"
)

// hashedBody is an upload being encrypted into memory, with the digests of
// the request body and of the file alone, as the client sent them and as
// they go upstream.
type hashedBody struct {
	buf                   bytes.Buffer
	limit                 int64
	plainBody, cipherBody *hashes.Set
	plainFile, cipherFile *hashes.Set
}

func newHashedBody(limit int64, algs []hashes.Alg) *hashedBody {
	return &hashedBody{
		limit:     limit,
		plainBody: hashes.NewSet(algs...), cipherBody: hashes.NewSet(algs...),
		plainFile: hashes.NewSet(algs...), cipherFile: hashes.NewSet(algs...),
	}
}

// full reports whether the body went past the limit.
func (hb *hashedBody) full() bool { return int64(hb.buf.Len()) > hb.limit }

// readFrom appends r to the buffer, reading at most one byte past the
// limit.
func (hb *hashedBody) readFrom(r io.Reader) error {
	_, err := hb.buf.ReadFrom(io.LimitReader(r, hb.limit+1-int64(hb.buf.Len())))
	return err
}

// sendHashed is sendEncrypted for a request that carries hash headers: the
// whole body is transformed into memory (at most limits.hash_buffer), the
// headers are recomputed over it, then it goes upstream with a known
// length.
func (ex *exchange) sendHashed(u uploadParts, found []hashes.Found) (*http.Response, error) {
	defer u.body.Close()
	req := ex.req
	hb := newHashedBody(ex.env.HashBuffer(), hashes.Algs(found))
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
	hb.plainBody.Write(u.prefix)
	hb.cipherBody.Write(u.prefix)
	hb.buf.Write(u.prefix)
	vr := ex.crypt.encrypting(req.Context(), *ex.decision, io.TeeReader(u.photo, io.MultiWriter(hb.plainBody, hb.plainFile)), ex.rule)
	err := hb.readFrom(vr)
	ex.result = vr.Result()
	if err != nil {
		if veil.IsParseError(err) {
			return ex.refusal(err), nil
		}
		ex.Record(services.ClientError, err)
		return nil, err
	}
	if hb.full() {
		return tooLarge()
	}
	photo := hb.buf.Bytes()[len(u.prefix):]
	hb.cipherBody.Write(photo)
	hb.cipherFile.Write(photo)
	if u.suffix != nil {
		fileEnd := hb.buf.Len()
		if err := hb.readFrom(u.suffix); err != nil {
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
		hb.plainBody.Write(hb.buf.Bytes()[fileEnd:])
		hb.cipherBody.Write(hb.buf.Bytes()[fileEnd:])
	}
	err = hashes.Rewrite(req.Header, found,
		&hashes.Span{What: "request body", Plain: hb.plainBody.Sums(), Cipher: hb.cipherBody.Sums()},
		&hashes.Span{What: "file", Plain: hb.plainFile.Sums(), Cipher: hb.cipherFile.Sums()})
	if err != nil {
		return ex.refusal(err), nil
	}
	ex.SetFileHash(sha256.Sum256(photo))
	return ex.sendBuffered(hb.buf.Bytes())
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
