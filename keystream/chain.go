package keystream

import (
	"encoding/binary"
	"fmt"
	"hash"
	"math"

	"golang.org/x/crypto/blake2b"
	"golang.org/x/crypto/chacha20"
)

// Record tags of the nonce chain. Every input is framed as
// tag || uint32 big-endian length || bytes, so that no two different
// sequences of records hash the same byte string: moving a byte from one
// segment to the next, or turning a segment into a chunk, changes the hash.
const (
	tagLabel    = 0x00
	tagSegment  = 0x01
	tagSkeleton = 0x02
	tagDerive   = 0x03
)

// ChunkSize is the size of the entropy-coded chunks the format uses: each
// scan's ECS is cut every 4096 bytes from its start (the last chunk may be
// shorter), and each chunk gets its own nonce. Chain does not enforce it;
// the caller does the cutting.
const ChunkSize = 4096

// maxChunk is a misuse guard, not a format rule: a chunk this large means
// the caller forgot to cut the ECS, and the nonce schedule it produced would
// not match any other implementation's.
const maxChunk = 1 << 16

// nonceSize is the XChaCha20 nonce size: the first 24 bytes of the chain's
// 32-byte BLAKE2b digest.
const nonceSize = chacha20.NonceSizeX

// Chain is the nonce chain of one image (DESIGN.md §3): a keyed BLAKE2b-256
// hash (key: the "nonce" subkey) over a sequence of framed records, started
// by the image's label. Each chunk's nonce is the hash of everything
// absorbed up to and including that chunk's skeleton, so two images share
// keystream only as far as everything absorbed is identical, and the chain
// needs no state beyond the running hash: it streams.
//
// A Chain must see its records in file order, in one goroutine. It holds
// copies of the subkeys it needs, so it stays valid whatever happens to the
// Key.
type Chain struct {
	h      hash.Hash             // keyed BLAKE2b-256, never reset
	xc     xchacha               // keystream under the "keystream" subkey
	hdr    [5]byte               // record header scratch, to avoid allocating per record
	digest [blake2b.Size256]byte // Sum scratch
}

// NewChain starts a nonce chain for one image. The label says which image
// of the file it is ("image" for the primary image; embedded images use
// their own labels, such as "exif thumbnail" or "mpf image 2"), so that
// each one is encrypted under an independent nonce sequence.
func (k *Key) NewChain(label string) *Chain {
	k.mustBeValid()
	h, err := blake2b.New256(k.secret.sub.nonce[:])
	if err != nil {
		panic("keystream: blake2b.New256: " + err.Error()) // 32-byte key is always valid
	}
	c := &Chain{h: h, xc: newXChaCha(k.secret.sub.keystream)}
	c.absorb(tagLabel, []byte(label))
	return c
}

// AbsorbSegment adds one segment of the file (as the caller defines it: the
// format absorbs marker, length and bytes of every segment except APPn and
// COM) to the chain.
func (c *Chain) AbsorbSegment(seg []byte) {
	c.absorb(tagSegment, seg)
}

// ChunkKeystream absorbs the skeleton of one chunk of entropy-coded data
// (each byte with its masked bits cleared), then fills dst with that
// chunk's keystream: XChaCha20 under the "keystream" subkey, with the first
// 24 bytes of the chain's digest so far as the nonce, from block counter 0.
// The caller computes out = in ^ (ks & mask).
//
// len(dst) must equal len(skeleton), and a chunk must not exceed 64 KiB
// (the format uses 4096 bytes); anything else is a programming error and
// panics. dst may be the same slice as skeleton: the skeleton is absorbed
// before dst is written.
func (c *Chain) ChunkKeystream(skeleton, dst []byte) {
	if len(dst) != len(skeleton) {
		panic("keystream: ChunkKeystream: len(dst) != len(skeleton)")
	}
	if len(skeleton) > maxChunk {
		panic("keystream: ChunkKeystream: chunk larger than 64 KiB")
	}
	c.absorb(tagSkeleton, skeleton)
	// Sum leaves the running hash untouched: it finalises a copy of the
	// state, so the chain continues with the next record. The keystream
	// is XChaCha20 applied to zeros; stream clears dst first, since it may
	// hold the skeleton or a previous chunk.
	c.stream(dst)
}

// maxDerive is Derive's misuse guard: metadata transforms ask for at most
// 8 bytes per element of a 64 KiB segment.
const maxDerive = 1 << 20

// Derive absorbs record(0x03, data), then fills dst with XChaCha20 under
// the "keystream" subkey, with the first 24 bytes of the chain's digest so
// far as the nonce, from block counter 0 (FORMAT.md §14.4). It is
// ChunkKeystream for keystream that is not XORed into a chunk: the
// format-preserving metadata transform of FORMAT.md part IV draws its round
// values from it. dst may be of any length up to 1 MiB (more is a
// programming error and panics); data and dst must not overlap.
func (c *Chain) Derive(data, dst []byte) {
	if len(dst) > maxDerive {
		panic("keystream: Derive: more than 1 MiB requested")
	}
	c.absorb(tagDerive, data)
	c.stream(dst)
}

// stream fills dst with the keystream for the chain's current digest.
func (c *Chain) stream(dst []byte) {
	c.xc.fill(c.h.Sum(c.digest[:0])[:nonceSize], dst)
}

func (c *Chain) absorb(tag byte, b []byte) {
	if uint64(len(b)) > math.MaxUint32 {
		panic("keystream: record longer than 4 GiB")
	}
	c.hdr[0] = tag
	binary.BigEndian.PutUint32(c.hdr[1:], uint32(len(b)))
	c.h.Write(c.hdr[:])
	c.h.Write(b)
}

// String returns "keystream.Chain{…}". The chain holds two subkeys (one
// inside the BLAKE2b state), so like Key it never prints its fields.
func (c Chain) String() string { return "keystream.Chain{…}" }

// GoString is String, so that %#v redacts as well.
func (c Chain) GoString() string { return c.String() }

// Format makes every fmt verb print the redacted String.
func (c Chain) Format(f fmt.State, verb rune) {
	_, _ = f.Write([]byte(c.String()))
}
