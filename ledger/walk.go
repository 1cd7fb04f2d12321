package ledger

import (
	"encoding/binary"
	"fmt"
	"os"
)

// pageWalker reads every page a bbolt file's tree and freelist reference,
// with ordinary reads, before bbolt maps the file. bbolt trusts what it
// reads: a page whose overflow count is garbage makes it loop over billions
// of page IDs (a start-up that never ends), an element whose offset points
// outside its page makes it read outside the mapping. The walker bounds
// every page ID by the high-water mark, every page's overflow, and every
// element's key and value by its page, and lets each page be referenced
// once, so its work is bounded by the file's size.
//
// Layout (bbolt format version 2, native byte order): page header as in
// validate.go; a branch element is (pos u32, ksize u32, child page u64), a
// leaf element (flags u32, pos u32, ksize u32, vsize u32), with pos counted
// from the element itself. A leaf element with flag 0x01 is a bucket whose
// value starts with (root page u64, sequence u64); root 0 means an inline
// bucket whose leaf page follows in the value.
type pageWalker struct {
	f        *os.File
	pageSize int64
	hw       uint64
	seen     map[uint64]bool
}

const (
	elemLen        = 16
	bucketLeafFlag = 0x01
	bucketHeadLen  = 16
	maxTreeDepth   = 64
)

var ne = binary.NativeEndian

// page reads page id and its overflow pages, checking its header.
func (w *pageWalker) page(id uint64, flags ...uint16) ([]byte, error) {
	if id < 2 || id >= w.hw {
		return nil, fmt.Errorf("%w: reference to page %d outside the file's %d pages", ErrCorrupt, id, w.hw)
	}
	var h [pageHeaderLen]byte
	if _, err := w.f.ReadAt(h[:], int64(id)*w.pageSize); err != nil {
		return nil, fmt.Errorf("%w: page %d unreadable: %v", ErrTruncated, id, err)
	}
	if got := ne.Uint64(h[0:]); got != id {
		return nil, fmt.Errorf("%w: page %d says it is page %d", ErrCorrupt, id, got)
	}
	if fl := ne.Uint16(h[8:]); !containsFlag(flags, fl) {
		return nil, fmt.Errorf("%w: page %d has type %#x", ErrCorrupt, id, fl)
	}
	overflow := uint64(ne.Uint32(h[12:]))
	if id+overflow >= w.hw {
		return nil, fmt.Errorf("%w: page %d runs %d pages past the file's %d", ErrCorrupt, id, overflow, w.hw)
	}
	for p := id; p <= id+overflow; p++ {
		if w.seen[p] {
			return nil, fmt.Errorf("%w: page %d is referenced twice", ErrCorrupt, p)
		}
		w.seen[p] = true
	}
	buf := make([]byte, int64(overflow+1)*w.pageSize)
	if _, err := w.f.ReadAt(buf, int64(id)*w.pageSize); err != nil {
		return nil, fmt.Errorf("%w: page %d unreadable: %v", ErrTruncated, id, err)
	}
	return buf, nil
}

func containsFlag(flags []uint16, fl uint16) bool {
	for _, f := range flags {
		if f == fl {
			return true
		}
	}
	return false
}

// tree walks the B+tree page p (a mapped page, or an inline bucket's page
// inside a value).
func (w *pageWalker) tree(p []byte, depth int) error {
	if depth > maxTreeDepth {
		return fmt.Errorf("%w: tree deeper than %d", ErrCorrupt, maxTreeDepth)
	}
	if len(p) < pageHeaderLen {
		return fmt.Errorf("%w: page shorter than its header", ErrCorrupt)
	}
	flags, count := ne.Uint16(p[8:]), uint64(ne.Uint16(p[10:]))
	if uint64(pageHeaderLen)+count*elemLen > uint64(len(p)) {
		return fmt.Errorf("%w: page of %d bytes cannot hold %d elements", ErrCorrupt, len(p), count)
	}
	for i := uint64(0); i < count; i++ {
		off := uint64(pageHeaderLen) + i*elemLen
		e := p[off : off+elemLen]
		switch flags {
		case branchPageFlag:
			pos, ksize := uint64(ne.Uint32(e[0:])), uint64(ne.Uint32(e[4:]))
			if off+pos+ksize > uint64(len(p)) {
				return fmt.Errorf("%w: branch key outside its page", ErrCorrupt)
			}
			child, err := w.page(ne.Uint64(e[8:]), branchPageFlag, leafPageFlag)
			if err != nil {
				return err
			}
			if err := w.tree(child, depth+1); err != nil {
				return err
			}
		case leafPageFlag:
			elemFlags := ne.Uint32(e[0:])
			pos, ksize, vsize := uint64(ne.Uint32(e[4:])), uint64(ne.Uint32(e[8:])), uint64(ne.Uint32(e[12:]))
			if off+pos+ksize+vsize > uint64(len(p)) {
				return fmt.Errorf("%w: leaf key or value outside its page", ErrCorrupt)
			}
			if elemFlags&bucketLeafFlag == 0 {
				continue
			}
			v := p[off+pos+ksize : off+pos+ksize+vsize]
			if len(v) < bucketHeadLen {
				return fmt.Errorf("%w: bucket header cut short", ErrCorrupt)
			}
			var sub []byte
			if root := ne.Uint64(v[0:]); root == 0 {
				sub = v[bucketHeadLen:]
				if len(sub) < pageHeaderLen || ne.Uint16(sub[8:]) != leafPageFlag {
					return fmt.Errorf("%w: bad inline bucket", ErrCorrupt)
				}
			} else {
				var err error
				if sub, err = w.page(root, branchPageFlag, leafPageFlag); err != nil {
					return err
				}
			}
			if err := w.tree(sub, depth+1); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%w: page type %#x in the tree", ErrCorrupt, flags)
		}
	}
	return nil
}

// freelist checks the freelist page: every free page ID within the file.
func (w *pageWalker) freelist(id uint64) error {
	p, err := w.page(id, freelistPageFlag)
	if err != nil {
		return err
	}
	n, start := uint64(ne.Uint16(p[10:])), uint64(pageHeaderLen)
	if n == 0xFFFF { // the real count is the first element
		if len(p) < pageHeaderLen+8 {
			return fmt.Errorf("%w: freelist cut short", ErrCorrupt)
		}
		n, start = ne.Uint64(p[pageHeaderLen:]), start+8
	}
	if n > (uint64(len(p))-start)/8 {
		return fmt.Errorf("%w: freelist of %d pages does not fit its page", ErrCorrupt, n)
	}
	for i := uint64(0); i < n; i++ {
		if free := ne.Uint64(p[start+8*i:]); free < 2 || free >= w.hw {
			return fmt.Errorf("%w: free page %d outside the file's %d pages", ErrCorrupt, free, w.hw)
		}
	}
	return nil
}
