package proxy

import (
	"bytes"
	"io"
	"net/http"

	"jpegveil/proxy/services"
)

// maxUploadAnswer bounds the answer to an upload read for the photo's ID.
const maxUploadAnswer = 1 << 20

// identifiedUpload runs an upload on a rule that names a service whose
// answer names the photo: once the service has taken it, the checksums of
// photo and ciphertext are recorded in the checksum map and the previews
// are rendered from the photo the proxy still holds, under the ID the
// service's rendition requests use, so a grid of them costs no download.
// (Where the service keeps the photo goes to the ledger in recordUpload.)
func (s *Server) identifiedUpload(ex *exchange, upload func() (*http.Response, error)) (*http.Response, error) {
	idr, ok := s.byName[ex.rule.Service].(PreviewIdentifier)
	if !ok {
		return upload()
	}
	ex.capture = newUploadCapture(int64(s.cfg.Limits.HashBuffer))
	resp, err := upload()
	if err != nil || resp == nil || !ex.result.Transformed || ex.result.Err != nil {
		return resp, err
	}
	body, rerr := io.ReadAll(io.LimitReader(resp.Body, maxUploadAnswer))
	resp.Body = services.ReadCloser{Reader: io.MultiReader(bytes.NewReader(body), resp.Body), Closer: resp.Body}
	if rerr != nil {
		return resp, nil
	}
	id, ok := idr.PreviewID(ex.req, resp, body, s.names)
	if !ok {
		return resp, nil
	}
	ctx, c := ex.req.Context(), ex.capture
	if err := s.sums.Record(ctx, c.plainSum.Sum(nil), c.cipherSum.Sum(nil)); err != nil {
		s.log.Warn("recording the checksums of an upload failed")
	}
	if !c.overflow && len(s.previews.sizes) > 0 {
		s.previews.renderLater(idr.Name(), id, c.plain.Bytes(), func(err error) { s.logPreviewError(idr.Name(), err) })
	}
	return resp, nil
}
