package proxy

import (
	"context"
	"fmt"
	"io"

	"jpegveil/config"
	"jpegveil/proxy/internal/budget"
)

// holdLimit bounds how much of a photo the transformer of a single-request
// upload holds back: the data a phone appends after the image (a motion
// photo's video, FORMAT.md §31) is read whole before any of it is handed
// out, since it is planned from the end of the file. Past limits.hash_buffer
// the upload is refused (with on_unsupported block; with pass the
// transformer's own bound applies and the rest goes up unchanged).
type holdLimit struct {
	r     io.Reader // the photo
	in    int64     // bytes read from r
	out   int64     // bytes the transformer handed out
	limit int64
	// mem counts what the transformer holds beyond streamingSlack in the
	// proxy's memory budget; ctx is the request's.
	mem *budget.Hold
	ctx context.Context
}

// streamingSlack is what the transformer of a streaming upload may hold
// back in the normal course (a few KiB, a marker segment handled whole)
// without counting in the memory budget; a phone's trailer held whole
// counts.
const streamingSlack = 1 << 20

func (h *holdLimit) Read(p []byte) (int, error) {
	if h.in-h.out > h.limit {
		return 0, &refuseError{fmt.Sprintf("the photo carries more data after its image (a motion photo's video, say) than jpegveil holds before sending it: limits.hash_buffer (%s)", config.Size(h.limit))}
	}
	if held := h.in - h.out + int64(len(p)); held > streamingSlack {
		if err := h.mem.Resize(h.ctx, held); err != nil {
			return 0, err
		}
	} else if h.mem.Size() > 0 {
		h.mem.Set(0)
	}
	n, err := h.r.Read(p)
	h.in += int64(n)
	return n, err
}

// handedOut counts the output of the transformer for a holdLimit.
type handedOut struct {
	r io.Reader
	h *holdLimit
}

func (o handedOut) Read(p []byte) (int, error) {
	n, err := o.r.Read(p)
	o.h.out += int64(n)
	return n, err
}
