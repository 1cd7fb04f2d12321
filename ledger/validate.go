package ledger

import (
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
)

// bbolt maps the whole file into memory and trusts its meta page: a file
// cut short makes it read past the end of the mapping (SIGBUS) or follow a
// page ID into zeros (panic). validateFile reads the two meta pages with
// ordinary file I/O first and refuses a file whose newest valid meta page
// points past its end, so bbolt only ever maps files whose page structure
// fits. Layout (bbolt file format version 2, native byte order):
//
//	page header: id u64, flags u16, count u16, overflow u32  (16 bytes)
//	meta:        magic u32, version u32, page size u32, flags u32,
//	             root bucket (root page u64, sequence u64), freelist page u64,
//	             high-water page ID u64, txid u64, checksum u64 (FNV-64a of
//	             the meta bytes before it)
const (
	boltMagic        = 0xED0CDAED
	boltVersion      = 2
	pageHeaderLen    = 16
	metaLen          = 64
	metaChecksumAt   = 56
	branchPageFlag   = 0x01
	leafPageFlag     = 0x02
	freelistPageFlag = 0x10
	noFreelist       = ^uint64(0)
	minPageSize      = 512
	maxPageSize      = 1 << 20
)

type boltMeta struct {
	pageSize           uint32
	root, freelist, hw uint64
	txid               uint64
}

// parseMeta decodes and checks one meta page; ok is false if it is not a
// valid one.
func parseMeta(page []byte) (boltMeta, bool) {
	if len(page) < pageHeaderLen+metaLen {
		return boltMeta{}, false
	}
	m := page[pageHeaderLen : pageHeaderLen+metaLen]
	if ne.Uint32(m[0:]) != boltMagic || ne.Uint32(m[4:]) != boltVersion {
		return boltMeta{}, false
	}
	h := fnv.New64a()
	h.Write(m[:metaChecksumAt])
	if h.Sum64() != ne.Uint64(m[metaChecksumAt:]) {
		return boltMeta{}, false
	}
	meta := boltMeta{
		pageSize: ne.Uint32(m[8:]),
		root:     ne.Uint64(m[16:]),
		freelist: ne.Uint64(m[32:]),
		hw:       ne.Uint64(m[40:]),
		txid:     ne.Uint64(m[48:]),
	}
	ps := meta.pageSize
	if ps < minPageSize || ps > maxPageSize || ps&(ps-1) != 0 {
		return boltMeta{}, false
	}
	return meta, true
}

// validateFile checks, without mapping it, that the file at path is a bbolt
// file whose pages are all there. It returns an error wrapping ErrEmpty,
// ErrTruncated or ErrCorrupt.
func validateFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	size := fi.Size()
	if size == 0 {
		return ErrEmpty
	}
	first := make([]byte, pageHeaderLen+metaLen)
	if _, err := f.ReadAt(first, 0); err != nil {
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("%w: only %d bytes", ErrTruncated, size)
		}
		return err
	}
	var metas []boltMeta
	m0, ok0 := parseMeta(first)
	pageSizes := []int64{int64(m0.pageSize)}
	if ok0 {
		metas = append(metas, m0)
	} else {
		// The first meta page is damaged: bbolt then relies on the second,
		// whose offset is the page size it no longer knows. Try them all.
		pageSizes = nil
		for ps := int64(minPageSize); ps <= maxPageSize; ps *= 2 {
			pageSizes = append(pageSizes, ps)
		}
	}
	for _, ps := range pageSizes {
		buf := make([]byte, pageHeaderLen+metaLen)
		if _, err := f.ReadAt(buf, ps); err != nil {
			continue
		}
		if m, ok := parseMeta(buf); ok && int64(m.pageSize) == ps {
			metas = append(metas, m)
			break
		}
	}
	if len(metas) == 0 {
		return fmt.Errorf("%w: no valid bbolt meta page", ErrCorrupt)
	}
	meta := metas[0]
	for _, m := range metas[1:] {
		if m.txid > meta.txid {
			meta = m
		}
	}
	ps := int64(meta.pageSize)
	if meta.hw < 4 || meta.root >= meta.hw || meta.root < 2 || (meta.freelist != noFreelist && (meta.freelist >= meta.hw || meta.freelist < 2)) {
		return fmt.Errorf("%w: meta page points outside the file's pages", ErrCorrupt)
	}
	if need := int64(meta.hw) * ps; need > size || need/ps != int64(meta.hw) {
		return fmt.Errorf("%w: %d bytes, its pages need %d", ErrTruncated, size, need)
	}
	w := &pageWalker{f: f, pageSize: ps, hw: meta.hw, seen: map[uint64]bool{}}
	if meta.freelist != noFreelist {
		if err := w.freelist(meta.freelist); err != nil {
			return fmt.Errorf("freelist: %w", err)
		}
	}
	root, err := w.page(meta.root, branchPageFlag, leafPageFlag)
	if err != nil {
		return err
	}
	return w.tree(root, 0)
}
