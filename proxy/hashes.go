package proxy

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"hash/adler32"
	"hash/crc32"
	"io"
	"net/http"
	"strings"

	"jpegveil/config"
	"jpegveil/veil"
)

// Upload requests may carry a hash of what they send: the service checks it
// and often stores it. A hash of the plaintext must never reach the
// service (it would identify the photo), so every such header is checked
// against the plaintext it covers and replaced by the hash of the same span
// of the bytes actually sent, in the same encoding. A header jpegveil
// cannot recompute is refused.
//
// What each header covers:
//
//   - Content-MD5 (RFC 1864): the request body as sent, so for a multipart
//     form the whole form. Base64 (hex is accepted and kept).
//   - X-Goog-Hash: "crc32c=<b64>,md5=<b64>" of the object, which for a raw
//     upload is the body. On a resumable upload it may cover the chunk or,
//     on the finalizing request, the whole file.
//   - x-immich-checksum: SHA-1 of the file (Immich: the assetData part), hex
//     or base64.
//   - OC-Checksum (Nextcloud): "SHA1:<hex>", "MD5:<hex>", "ADLER32:<hex>" or
//     "SHA256:<hex>", several separated by spaces, of the PUT body (the
//     file, or the chunk on a chunk upload); on the MOVE that assembles a
//     chunked upload, of the whole file.
//
// Which span a hash covers is not guessed from the header name alone: the
// header is matched against the plaintext of each span the request could
// describe (in the order above) and recomputed over that span of the
// output. A hash that matches none is refused rather than passed.
//
// Digest, Content-Digest and Repr-Digest (RFC 3230, RFC 9530) are not
// recomputed; uploads that carry them are refused.

type hashAlg uint8

const (
	hashMD5 hashAlg = iota
	hashSHA1
	hashSHA256
	hashCRC32C
	hashAdler32
	numHashAlgs
)

var hashSizes = [numHashAlgs]int{hashMD5: 16, hashSHA1: 20, hashSHA256: 32, hashCRC32C: 4, hashAdler32: 4}

var crc32cTable = crc32.MakeTable(crc32.Castagnoli)

func newHash(a hashAlg) hash.Hash {
	switch a {
	case hashMD5:
		return md5.New()
	case hashSHA1:
		return sha1.New()
	case hashSHA256:
		return sha256.New()
	case hashCRC32C:
		return crc32.New(crc32cTable)
	case hashAdler32:
		return adler32.New()
	}
	panic("proxy: unknown hash")
}

// hashSet computes several hashes of the same bytes.
type hashSet struct{ h [numHashAlgs]hash.Hash }

func newHashSet(algs ...hashAlg) *hashSet {
	hs := &hashSet{}
	for _, a := range algs {
		hs.h[a] = newHash(a)
	}
	return hs
}

func (hs *hashSet) Write(p []byte) (int, error) {
	for _, h := range hs.h {
		if h != nil {
			h.Write(p)
		}
	}
	return len(p), nil
}

// sums returns the digests so far.
func (hs *hashSet) sums() digests {
	var d digests
	for a, h := range hs.h {
		if h != nil {
			d[a] = h.Sum(nil)
		}
	}
	return d
}

// digests holds one digest per algorithm, nil where not computed.
type digests [numHashAlgs][]byte

func digestsOf(b []byte, algs ...hashAlg) digests {
	hs := newHashSet(algs...)
	hs.Write(b)
	return hs.sums()
}

// digestEncoding is how a digest is written in a header.
type digestEncoding struct {
	b64   *base64.Encoding // nil: hex
	upper bool             // hex in upper case
	short bool             // hex without leading zeros (some ADLER32 writers)
}

func (e digestEncoding) encode(d []byte) string {
	if e.b64 != nil {
		return e.b64.EncodeToString(d)
	}
	s := hex.EncodeToString(d)
	if e.short {
		s = strings.TrimLeft(s, "0")
		if s == "" {
			s = "0"
		}
	}
	if e.upper {
		s = strings.ToUpper(s)
	}
	return s
}

// decodeDigest decodes a digest of size bytes written in hex (when allowHex)
// or base64 (when allowB64), and says how it was written.
func decodeDigest(s string, size int, allowHex, allowB64 bool) ([]byte, digestEncoding, error) {
	s = strings.TrimSpace(s)
	if allowHex && isHex(s) && (len(s) == 2*size || size == 4 && len(s) < 8 && len(s) > 0) {
		e := digestEncoding{upper: strings.ToUpper(s) == s && strings.ToLower(s) != s, short: len(s) < 2*size}
		padded := strings.Repeat("0", 2*size-len(s)) + s
		d, err := hex.DecodeString(padded)
		return d, e, err
	}
	if allowB64 {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			if d, err := enc.DecodeString(s); err == nil && len(d) == size {
				return d, digestEncoding{b64: enc}, nil
			}
		}
	}
	return nil, digestEncoding{}, fmt.Errorf("%q is not a %d-byte digest", s, size)
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return len(s) > 0
}

// hashValue is one digest in a hash header.
type hashValue struct {
	alg    hashAlg
	label  string // as the client wrote it: "md5" of "md5=…", "SHA1" of "SHA1:…"
	enc    digestEncoding
	digest []byte
}

type hashHeaderKind uint8

const (
	hdrContentMD5 hashHeaderKind = iota
	hdrGoogHash
	hdrImmich
	hdrOCChecksum
)

// hashHeader is a request header that carries hashes of the upload.
type hashHeader struct {
	name   string
	kind   hashHeaderKind
	values []hashValue
}

// refusedDigestHeaders carry hashes jpegveil does not recompute.
var refusedDigestHeaders = []string{"Digest", "Content-Digest", "Repr-Digest"}

// parseHashHeaders finds the headers of h that carry a hash of the upload.
// An error means a header that cannot be handled: the upload is refused.
func parseHashHeaders(h http.Header) ([]hashHeader, error) {
	var out []hashHeader
	for _, name := range refusedDigestHeaders {
		if len(h.Values(name)) > 0 {
			return nil, fmt.Errorf("the upload carries a %s header, a hash of the plaintext that jpegveil does not recompute", name)
		}
	}
	if vs := h.Values("Content-MD5"); len(vs) > 0 {
		if len(vs) > 1 {
			return nil, errors.New("the upload carries several Content-MD5 headers")
		}
		d, enc, err := decodeDigest(vs[0], 16, true, true)
		if err != nil {
			return nil, fmt.Errorf("Content-MD5: %w", err)
		}
		out = append(out, hashHeader{name: "Content-MD5", kind: hdrContentMD5, values: []hashValue{{alg: hashMD5, enc: enc, digest: d}}})
	}
	if vs := h.Values("X-Goog-Hash"); len(vs) > 0 {
		hh := hashHeader{name: "X-Goog-Hash", kind: hdrGoogHash}
		for _, item := range strings.Split(strings.Join(vs, ","), ",") {
			item = strings.TrimSpace(item)
			if item == "" {
				continue
			}
			label, val, ok := strings.Cut(item, "=")
			var alg hashAlg
			switch strings.ToLower(strings.TrimSpace(label)) {
			case "md5":
				alg = hashMD5
			case "crc32c":
				alg = hashCRC32C
			default:
				return nil, fmt.Errorf("X-Goog-Hash: unsupported hash %q", label)
			}
			if !ok {
				return nil, fmt.Errorf("X-Goog-Hash: %q has no value", item)
			}
			d, enc, err := decodeDigest(val, hashSizes[alg], false, true)
			if err != nil {
				return nil, fmt.Errorf("X-Goog-Hash: %w", err)
			}
			hh.values = append(hh.values, hashValue{alg: alg, label: strings.TrimSpace(label), enc: enc, digest: d})
		}
		out = append(out, hh)
	}
	if vs := h.Values("X-Immich-Checksum"); len(vs) > 0 {
		if len(vs) > 1 {
			return nil, errors.New("the upload carries several x-immich-checksum headers")
		}
		d, enc, err := decodeDigest(vs[0], 20, true, true)
		if err != nil {
			return nil, fmt.Errorf("x-immich-checksum: %w", err)
		}
		out = append(out, hashHeader{name: "X-Immich-Checksum", kind: hdrImmich, values: []hashValue{{alg: hashSHA1, enc: enc, digest: d}}})
	}
	if vs := h.Values("OC-Checksum"); len(vs) > 0 {
		hh := hashHeader{name: "OC-Checksum", kind: hdrOCChecksum}
		for _, item := range strings.Fields(strings.Join(vs, " ")) {
			label, val, ok := strings.Cut(item, ":")
			var alg hashAlg
			switch strings.ToUpper(label) {
			case "SHA1":
				alg = hashSHA1
			case "MD5":
				alg = hashMD5
			case "ADLER32":
				alg = hashAdler32
			case "SHA256":
				alg = hashSHA256
			default:
				return nil, fmt.Errorf("OC-Checksum: unsupported checksum type %q", label)
			}
			if !ok {
				return nil, fmt.Errorf("OC-Checksum: %q has no value", item)
			}
			d, enc, err := decodeDigest(val, hashSizes[alg], true, false)
			if err != nil {
				return nil, fmt.Errorf("OC-Checksum: %w", err)
			}
			hh.values = append(hh.values, hashValue{alg: alg, label: label, enc: enc, digest: d})
		}
		out = append(out, hh)
	}
	return out, nil
}

// hashAlgsOf returns the algorithms the headers use.
func hashAlgsOf(hhs []hashHeader) []hashAlg {
	var seen [numHashAlgs]bool
	var algs []hashAlg
	for _, hh := range hhs {
		for _, v := range hh.values {
			if !seen[v.alg] {
				seen[v.alg] = true
				algs = append(algs, v.alg)
			}
		}
	}
	return algs
}

// hashSpan is a span of the upload a hash header may cover: its digests as
// the client sent it and as it goes upstream.
type hashSpan struct {
	what          string // for errors: "request body", "file", "chunk"
	plain, cipher digests
}

// rewriteHashes replaces every hash header of h by the hash of the span of
// the output that its value covers in the input. body is the request body
// as the client sent it and as it goes upstream; file the photo alone (nil
// when the request does not complete it). Content-MD5 is matched against
// the body first; the other headers against the file first.
func rewriteHashes(h http.Header, hhs []hashHeader, body, file *hashSpan) error {
	for _, hh := range hhs {
		spans := []*hashSpan{file, body}
		if hh.kind == hdrContentMD5 {
			spans = []*hashSpan{body, file}
		}
		var parts []string
		for _, v := range hh.values {
			var span *hashSpan
			for _, sp := range spans {
				if sp != nil && bytes.Equal(sp.plain[v.alg], v.digest) {
					span = sp
					break
				}
			}
			if span == nil {
				var what []string
				for _, sp := range spans {
					if sp != nil {
						what = append(what, "the "+sp.what)
					}
				}
				return fmt.Errorf("the %s header does not match %s the client sent, so jpegveil cannot tell what it covers", hh.name, strings.Join(what, " or "))
			}
			v.digest = span.cipher[v.alg]
			switch hh.kind {
			case hdrGoogHash:
				parts = append(parts, v.label+"="+v.enc.encode(v.digest))
			case hdrOCChecksum:
				parts = append(parts, v.label+":"+v.enc.encode(v.digest))
			default:
				parts = append(parts, v.enc.encode(v.digest))
			}
		}
		sep := ","
		if hh.kind == hdrOCChecksum {
			sep = " "
		}
		h.Set(hh.name, strings.Join(parts, sep))
	}
	return nil
}

// sendHashed is sendEncrypted for a request that carries hash headers: the
// whole body is transformed into memory (at most limits.hash_buffer), the
// headers are recomputed over it, then it goes upstream with a known
// length.
func (s *Server) sendHashed(req *http.Request, prefix []byte, photo, suffix io.Reader, body io.Closer, hhs []hashHeader, ev *event) (*http.Response, error) {
	defer body.Close()
	limit := int64(s.cfg.Limits.HashBuffer)
	names := make([]string, len(hhs))
	for i, hh := range hhs {
		names[i] = hh.name
	}
	tooLarge := func() (*http.Response, error) {
		drain(req.Body)
		err := fmt.Errorf("the upload carries a hash of its content (%s), which must be recomputed over the encrypted photo before anything is sent; the body is larger than limits.hash_buffer (%s)",
			strings.Join(names, ", "), config.Size(limit))
		ev.outcome, ev.err = "refused", err
		return refusal(req, err.Error()), nil
	}
	if req.ContentLength > limit {
		return tooLarge()
	}
	algs := hashAlgsOf(hhs)
	plainBody, cipherBody := newHashSet(algs...), newHashSet(algs...)
	plainFile, cipherFile := newHashSet(algs...), newHashSet(algs...)
	plainBody.Write(prefix)
	cipherBody.Write(prefix)
	var buf bytes.Buffer
	buf.Write(prefix)
	vr := s.encryptingBody(req.Context(), io.TeeReader(photo, io.MultiWriter(plainBody, plainFile)), ev)
	if _, err := buf.ReadFrom(io.LimitReader(vr, limit+1-int64(len(prefix)))); err != nil {
		ev.result = vr.Result()
		if veil.IsParseError(err) {
			ev.outcome, ev.err = "refused", err
			return refusal(req, describe(err)), nil
		}
		ev.outcome, ev.err = "client-error", err
		return nil, err
	}
	ev.result = vr.Result()
	if int64(buf.Len()) > limit {
		return tooLarge()
	}
	cipherBody.Write(buf.Bytes()[len(prefix):])
	cipherFile.Write(buf.Bytes()[len(prefix):])
	fileEnd := buf.Len()
	if suffix != nil {
		if _, err := buf.ReadFrom(io.LimitReader(suffix, limit+1-int64(fileEnd))); err != nil {
			var re *refuseError
			if errors.As(err, &re) {
				ev.outcome, ev.err = "refused", err
				drain(suffix)
				return refusal(req, describe(err)), nil
			}
			ev.outcome, ev.err = "client-error", err
			return nil, err
		}
		if int64(buf.Len()) > limit {
			return tooLarge()
		}
		plainBody.Write(buf.Bytes()[fileEnd:])
		cipherBody.Write(buf.Bytes()[fileEnd:])
	}
	err := rewriteHashes(req.Header, hhs,
		&hashSpan{what: "request body", plain: plainBody.sums(), cipher: cipherBody.sums()},
		&hashSpan{what: "file", plain: plainFile.sums(), cipher: cipherFile.sums()})
	if err != nil {
		ev.outcome, ev.err = "refused", err
		return refusal(req, err.Error()), nil
	}
	sent := buf.Bytes()
	req.Body = io.NopCloser(bytes.NewReader(sent))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(sent)), nil }
	if req.ContentLength >= 0 {
		req.ContentLength = int64(len(sent))
	}
	resp, err := s.upstream.RoundTrip(req)
	ev.bytes = int64(len(sent))
	if err != nil {
		ev.outcome, ev.err = "upstream-error", err
		return nil, err
	}
	ev.outcome = outcomeOf(ev.result)
	return resp, nil
}
