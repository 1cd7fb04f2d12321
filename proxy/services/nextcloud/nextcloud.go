// Package nextcloud is jpegveil's knowledge of Nextcloud: its chunked
// upload over WebDAV and the OC-Checksum header.
//
// Nextcloud's chunked upload (WebDAV, v1 and v2):
//
//	MKCOL /remote.php/dav/uploads/{user}/{dir}        (v2: with Destination)
//	PUT   /remote.php/dav/uploads/{user}/{dir}/{name}  one per chunk
//	MOVE  /remote.php/dav/uploads/{user}/{dir}/.file   Destination, OC-Total-Length
//	DELETE /remote.php/dav/uploads/{user}/{dir}        to abort
//
// The server assembles the chunks in the natural order of their names. The
// proxy keeps a session per upload folder (opened when the MKCOL succeeds).
// Each chunk is received completely and committed to the session's stream;
// the output that is ready goes upstream as that chunk, so upstream chunks
// differ in length from the client's (the transformer holds back the last
// few KiB of input), but keep their order. At the MOVE the proxy ends the
// stream and PUTs the held-back tail as one more chunk, then forwards the
// MOVE. Sizes are unchanged overall, so OC-Total-Length stays right. (When
// the last chunk holds the end of the image, the EOI marker, nothing is
// held back and there is no tail chunk.) What a phone appends after the
// image (a motion photo's video, Samsung blocks) is held back whole until
// the file ends; from the chunk where it starts, nothing goes up before
// the tail, which then carries it (within limits.hash_buffer).
//
// Chunk names: numbers ("1", "00042": v2 allows 1 to 10000) keep their
// name, and the tail gets the next number in the same width; byte ranges
// ("000000000000000-000000010485759", as in the v1 documentation and
// rclone) must start at the client's offset and are renamed to the range
// the upstream chunk covers. Other names are refused.
//
// Limits: chunks must come one at a time, in order (an exact repeat of the
// last chunk is forwarded again or answered from the session); a chunk
// must fit in limits.hash_buffer; with v2 the last client chunk must be
// numbered below 10000, to leave room for the tail; every request of an
// upload must go through the same proxy process within
// limits.session_ttl; a client cannot resume from the server's listing of
// the upload folder (a PROPFIND of it is refused while the proxy holds the
// upload, since the server's chunk sizes are not the client's). With
// object storage as primary storage, Nextcloud needs v2 chunks of at least
// 5 MB: an upstream chunk can be shorter than the client's by what the
// transformer holds back (typically under 8 KiB; up to about 72 KiB when
// the chunk ends inside a metadata segment, which is passed on whole), so
// clients should use chunks well above the minimum.
package nextcloud

import (
	"errors"
	"net/http"

	"jpegveil/config"
	"jpegveil/proxy/internal/hashes"
	"jpegveil/proxy/internal/session"
	"jpegveil/proxy/services"
)

// Service is Nextcloud.
type Service struct{}

// Name is "nextcloud", the value of a rule's resumable key.
func (Service) Name() string { return string(config.ResumableNextcloud) }

// HashHeaders is OC-Checksum: "SHA1:<hex>", "MD5:<hex>", "ADLER32:<hex>" or
// "SHA256:<hex>", several separated by spaces, of the PUT body (the file,
// or the chunk on a chunk upload); on the MOVE that assembles a chunked
// upload, of the whole file.
func (Service) HashHeaders() []hashes.Header {
	return []hashes.Header{{
		Name:    "OC-Checksum",
		Labels:  map[string]hashes.Alg{"SHA1": hashes.SHA1, "MD5": hashes.MD5, "ADLER32": hashes.Adler32, "SHA256": hashes.SHA256},
		ItemSep: " ", LabelSep: ":", Unknown: "checksum type",
		Hex: true,
	}}
}

const sessionTag = "nextcloud|"

// upload is what the proxy keeps of one chunked upload between its
// requests.
type upload struct {
	st *session.Stream
	v2 bool // the MKCOL named a Destination: chunk names are 1 to 10000
	// last is the last committed chunk; lastNm its parsed name, lastUp its
	// name upstream ("" when nothing went up for it); acked whether the
	// service has it.
	last   session.ChunkID
	lastNm chunkName
	lastUp string
	acked  bool
	// tail is the name of the chunk that carries the held-back end of the
	// file, once the MOVE started.
	tail string
}

func sessionKey(host, dir string) string {
	return sessionTag + config.CanonicalHost(host) + dir
}

// Upload handles a request in Nextcloud's chunked-upload space.
func (Service) Upload(ex services.Exchange) (*http.Response, error) {
	req := ex.Request()
	dir, name, ok := uploadPath(req.URL.Path)
	if !ok {
		if req.Method == http.MethodPut || req.Method == http.MethodPost {
			return ex.Refuse(errors.New("an upload to a path that is no chunk of a Nextcloud chunked upload (/remote.php/dav/uploads/{user}/{folder}/{chunk})"))
		}
		return ex.Pass(services.Passed)
	}
	tbl := ex.Env().Sessions
	key := sessionKey(req.URL.Host, dir)
	switch {
	case req.Method == "MKCOL" && name == "":
		return mkcol(ex, key)
	case req.Method == http.MethodDelete && name == "":
		tbl.Remove(key, nil)
		return ex.Pass(services.Cancelled)
	case req.Method == "PROPFIND" && name == "" && req.Header.Get("Depth") != "0":
		if sess := tbl.Acquire(key); sess != nil {
			tbl.Release(sess)
			return ex.Refuse(errors.New("jpegveil holds this chunked upload, and the server's chunk sizes differ from the client's, so it cannot be resumed from a listing of the upload folder: delete the folder and upload again"))
		}
		return ex.Pass(services.Passed)
	case req.Method == http.MethodPut && name != "":
	case req.Method == "MOVE" && name == ".file":
	case req.Method == http.MethodPut || req.Method == http.MethodPost:
		return ex.Refuse(errors.New("an upload to a path that is no chunk of a Nextcloud chunked upload"))
	default:
		return ex.Pass(services.Passed)
	}
	sess := tbl.Acquire(key)
	if sess == nil {
		return ex.Refuse(errors.New("this chunked upload is not known to jpegveil (it expired, the proxy restarted, or the folder was created without the proxy): delete the upload folder and upload again"))
	}
	defer tbl.Release(sess)
	nc, ok := sess.State.(*upload)
	if !ok {
		return ex.Refuse(errors.New("this upload folder belongs to an upload of another protocol"))
	}
	if nc.st.Err != nil {
		return ex.Refuse(nc.st.Err)
	}
	found, err := ex.Env().Hashes.Parse(req.Header)
	if err != nil {
		return ex.Refuse(err)
	}
	if req.Method == "MOVE" {
		return assemble(ex, sess, nc, found)
	}
	return putChunk(ex, nc, name, found)
}

// mkcol forwards the MKCOL that creates an upload folder and, when the
// service made it, opens the upload's session.
func mkcol(ex services.Exchange, key string) (*http.Response, error) {
	req, env := ex.Request(), ex.Env()
	resp, err := ex.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		ex.Record(services.PassedStatus(resp.StatusCode), nil)
		return resp, nil
	}
	st := env.NewStream(ex.Rule(), hashes.SHA1, hashes.MD5, hashes.Adler32, hashes.SHA256)
	env.Sessions.Add(key, &upload{st: st, v2: req.Header.Get("Destination") != ""})
	ex.Record(services.SessionStarted, nil)
	return resp, nil
}
