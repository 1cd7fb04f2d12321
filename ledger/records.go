package ledger

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// ServiceRef is where a photo service keeps an uploaded photo, as far as
// its response revealed it. Service is a short lower-case name ("immich",
// "nextcloud", "google", "icloud"); ID is the service's identity for the
// photo: an Immich asset ID, a Nextcloud WebDAV path, a Google media item
// ID or upload URL.
type ServiceRef struct {
	Service string
	ID      string
}

// Limits keep a record small and its encoding simple.
const (
	maxServiceLen  = 64
	maxServiceID   = 4096
	maxServiceRefs = 16
)

func (r ServiceRef) validate() error {
	if r.Service == "" || len(r.Service) > maxServiceLen || strings.ContainsAny(r.Service, "\x00\n") {
		return fmt.Errorf("%w: service name must be 1 to %d bytes without NUL or newline", ErrInvalidEntry, maxServiceLen)
	}
	if r.ID == "" || len(r.ID) > maxServiceID {
		return fmt.Errorf("%w: service ID must be 1 to %d bytes", ErrInvalidEntry, maxServiceID)
	}
	return nil
}

// Record is everything the ledger keeps about one fingerprint.
type Record struct {
	Fingerprint Fingerprint
	Entry
	// Services lists where the photo was uploaded, oldest first.
	Services []ServiceRef
	// CiphertextSHA256 is the SHA-256 of the whole ciphertext file as it
	// was uploaded, if known (HasHash).
	CiphertextSHA256 [32]byte
	HasHash          bool
}

// UploadRecorder records, for a fingerprint already in the ledger, what
// became known about the upload afterwards. Both ledgers implement it.
type UploadRecorder interface {
	// RecordService adds ref to the photo's service identities (a
	// duplicate is ignored). An fp not in the ledger gives ErrNotRecorded.
	RecordService(ctx context.Context, fp Fingerprint, ref ServiceRef) error
	// RecordCiphertextHash keeps the SHA-256 of the whole uploaded file.
	// The first hash recorded is kept.
	RecordCiphertextHash(ctx context.Context, fp Fingerprint, sum [32]byte) error
}

var (
	_ UploadRecorder = (*BoltLedger)(nil)
	_ UploadRecorder = (*Memory)(nil)
)

// Services value: format byte 1, then per identity uvarint length and
// bytes of the service name, uvarint length and bytes of the ID.
const servicesFormat = 1

func encodeServices(refs []ServiceRef) []byte {
	b := []byte{servicesFormat}
	for _, r := range refs {
		b = binary.AppendUvarint(b, uint64(len(r.Service)))
		b = append(b, r.Service...)
		b = binary.AppendUvarint(b, uint64(len(r.ID)))
		b = append(b, r.ID...)
	}
	return b
}

func decodeServices(fp Fingerprint, v []byte) ([]ServiceRef, error) {
	bad := fmt.Errorf("%w: bad service identities for %s", ErrCorrupt, fp)
	if len(v) == 0 || v[0] != servicesFormat {
		return nil, bad
	}
	v = v[1:]
	next := func(limit int) (string, bool) {
		n, k := binary.Uvarint(v)
		if k <= 0 || n == 0 || n > uint64(limit) || uint64(len(v)-k) < n {
			return "", false
		}
		s := string(v[k : k+int(n)])
		v = v[k+int(n):]
		return s, true
	}
	var refs []ServiceRef
	for len(v) > 0 {
		svc, ok1 := next(maxServiceLen)
		id, ok2 := next(maxServiceID)
		if !ok1 || !ok2 || len(refs) == maxServiceRefs {
			return nil, bad
		}
		refs = append(refs, ServiceRef{svc, id})
	}
	return refs, nil
}

// addServices merges refs into have, keeping order and the limit; changed
// says whether anything was added.
func addServices(have []ServiceRef, refs ...ServiceRef) ([]ServiceRef, bool) {
	changed := false
	for _, r := range refs {
		if slices.Contains(have, r) {
			continue
		}
		if len(have) == maxServiceRefs {
			have = have[1:] // keep the newest identities
		}
		have = append(have, r)
		changed = true
	}
	return have, changed
}

// RecordService implements UploadRecorder.
func (b *BoltLedger) RecordService(ctx context.Context, fp Fingerprint, ref ServiceRef) error {
	if err := ref.validate(); err != nil {
		return err
	}
	return b.updateRecorded(ctx, "record service", fp, func(tx *bolt.Tx) error {
		bk := tx.Bucket(bucketServices)
		var have []ServiceRef
		if v := bk.Get(fp[:]); v != nil {
			var err error
			if have, err = decodeServices(fp, v); err != nil {
				return err
			}
		}
		have, changed := addServices(have, ref)
		if !changed {
			return nil
		}
		return bk.Put(fp[:], encodeServices(have))
	})
}

// RecordCiphertextHash implements UploadRecorder.
func (b *BoltLedger) RecordCiphertextHash(ctx context.Context, fp Fingerprint, sum [32]byte) error {
	return b.updateRecorded(ctx, "record hash", fp, func(tx *bolt.Tx) error {
		bk := tx.Bucket(bucketHashes)
		if bk.Get(fp[:]) != nil {
			return nil
		}
		return bk.Put(fp[:], sum[:])
	})
}

// updateRecorded runs update in a write transaction if fp is recorded, and
// fails with ErrNotRecorded if not.
func (b *BoltLedger) updateRecorded(ctx context.Context, op string, fp Fingerprint, update func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := b.protect(op, func() error {
		return b.db.Update(func(tx *bolt.Tx) error {
			if tx.Bucket(bucketFingerprints).Get(fp[:]) == nil {
				return fmt.Errorf("%w: %s", ErrNotRecorded, fp)
			}
			return update(tx)
		})
	})
	return b.wrap(op, err)
}

// Record returns everything the ledger keeps about fp.
func (b *BoltLedger) Record(ctx context.Context, fp Fingerprint) (Record, bool, error) {
	var rec Record
	found, err := b.get(ctx, fp, func(tx *bolt.Tx, v []byte) (err error) {
		rec, err = readRecord(tx, fp, v)
		return err
	})
	if err != nil || !found {
		return Record{}, false, err
	}
	return rec, true, nil
}

// readRecord assembles the record of fp whose fingerprints value is v.
func readRecord(tx *bolt.Tx, fp Fingerprint, v []byte) (Record, error) {
	e, err := decodeEntry(fp, v)
	if err != nil {
		return Record{}, err
	}
	rec := Record{Fingerprint: fp, Entry: e}
	// A ledger written before the services and hashes buckets existed and
	// opened read-only lacks them.
	if bk := tx.Bucket(bucketServices); bk != nil {
		if sv := bk.Get(fp[:]); sv != nil {
			if rec.Services, err = decodeServices(fp, sv); err != nil {
				return Record{}, err
			}
		}
	}
	if bk := tx.Bucket(bucketHashes); bk == nil {
		return rec, nil
	} else if h := bk.Get(fp[:]); h != nil {
		if len(h) != 32 {
			return Record{}, fmt.Errorf("%w: bad ciphertext hash for %s", ErrCorrupt, fp)
		}
		copy(rec.CiphertextSHA256[:], h)
		rec.HasHash = true
	}
	return rec, nil
}

// Records calls fn for every record, in fingerprint order, inside one read
// transaction. An error from fn stops the walk and is returned. A panic in
// fn is the caller's and goes on after the transaction ends: only faults of
// the file itself become a *FaultError.
func (b *BoltLedger) Records(ctx context.Context, fn func(Record) error) error {
	var callerPanic any
	call := func(rec Record) (err error) {
		defer func() {
			if p := recover(); p != nil {
				callerPanic, err = p, errCallerPanicked
			}
		}()
		return fn(rec)
	}
	defer func() {
		if callerPanic != nil {
			panic(callerPanic)
		}
	}()
	err := b.protect("read", func() error {
		return b.db.View(func(tx *bolt.Tx) error {
			return tx.Bucket(bucketFingerprints).ForEach(func(k, v []byte) error {
				if err := ctx.Err(); err != nil {
					return err
				}
				if len(k) != len(Fingerprint{}) {
					return fmt.Errorf("%w: key of %d bytes in the fingerprints bucket", ErrCorrupt, len(k))
				}
				rec, err := readRecord(tx, Fingerprint(k), v)
				if err != nil {
					return err
				}
				return call(rec)
			})
		})
	})
	return b.wrap("read", err)
}

// errCallerPanicked stops a walk whose callback panicked.
var errCallerPanicked = errors.New("ledger: callback panicked")

// MergeStats counts what Merge did.
type MergeStats struct {
	Added     int // fingerprints new to this ledger
	Updated   int // known fingerprints that gained facts or an earlier time
	Unchanged int
	// Conflicts counts known fingerprints whose other record disagrees in
	// a way that cannot be merged (a different key ID or ciphertext hash);
	// this ledger's values are kept.
	Conflicts int
}

// Merge adds recs to the ledger in one transaction: new fingerprints are
// added, known ones keep the earlier time and gain service identities and
// a ciphertext hash they lacked. Merge is how two ledgers of one household
// become one.
func (b *BoltLedger) Merge(ctx context.Context, recs []Record) (MergeStats, error) {
	for i := range recs {
		e, err := normalize(recs[i].Entry)
		if err != nil {
			return MergeStats{}, fmt.Errorf("record %s: %w", recs[i].Fingerprint, err)
		}
		recs[i].Entry = e
		for _, r := range recs[i].Services {
			if err := r.validate(); err != nil {
				return MergeStats{}, fmt.Errorf("record %s: %w", recs[i].Fingerprint, err)
			}
		}
	}
	var st MergeStats
	err := b.protect("merge", func() error {
		return b.db.Update(func(tx *bolt.Tx) error {
			st = MergeStats{}
			m := merger{fps: tx.Bucket(bucketFingerprints), svcs: tx.Bucket(bucketServices), hashes: tx.Bucket(bucketHashes)}
			for _, in := range recs {
				if err := ctx.Err(); err != nil {
					return err
				}
				if err := m.merge(tx, in, &st); err != nil {
					return err
				}
			}
			return nil
		})
	})
	return st, b.wrap("merge", err)
}

// merger merges records into the buckets of one write transaction.
type merger struct{ fps, svcs, hashes *bolt.Bucket }

// merge adds one record, or combines it with the one recorded: the
// earlier time wins, service identities are united, and a different key
// or hash is a conflict that changes nothing.
func (m merger) merge(tx *bolt.Tx, in Record, st *MergeStats) error {
	fp := in.Fingerprint
	v := m.fps.Get(fp[:])
	if v == nil {
		st.Added++
		return m.add(in)
	}
	have, err := readRecord(tx, fp, v)
	if err != nil {
		return err
	}
	changed, conflict := false, false
	if in.KeyID != have.KeyID {
		conflict = true
	} else if in.Added.Before(have.Added) {
		changed = true
		if err := m.fps.Put(fp[:], encodeEntry(in.Entry)); err != nil {
			return err
		}
	}
	if refs, more := addServices(have.Services, in.Services...); more {
		changed = true
		if err := m.svcs.Put(fp[:], encodeServices(refs)); err != nil {
			return err
		}
	}
	switch {
	case in.HasHash && !have.HasHash:
		changed = true
		if err := m.hashes.Put(fp[:], in.CiphertextSHA256[:]); err != nil {
			return err
		}
	case in.HasHash && !bytes.Equal(in.CiphertextSHA256[:], have.CiphertextSHA256[:]):
		conflict = true
	}
	switch {
	case conflict:
		st.Conflicts++
	case changed:
		st.Updated++
	default:
		st.Unchanged++
	}
	return nil
}

// add stores a record the ledger does not have.
func (m merger) add(in Record) error {
	fp := in.Fingerprint
	if err := m.fps.Put(fp[:], encodeEntry(in.Entry)); err != nil {
		return err
	}
	if len(in.Services) > 0 {
		refs, _ := addServices(nil, in.Services...)
		if err := m.svcs.Put(fp[:], encodeServices(refs)); err != nil {
			return err
		}
	}
	if in.HasHash {
		return m.hashes.Put(fp[:], in.CiphertextSHA256[:])
	}
	return nil
}
