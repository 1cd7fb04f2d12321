package ledger

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// The export format is specified in FORMAT.md §32: JSON Lines, a header
// line, one line per record, and an end line that counts the records and
// hashes every byte before it, so that a cut-short or altered export is
// refused instead of silently importing part of a ledger.

const (
	exportFormat  = "jpegveil-ledger-export"
	exportVersion = 1
	// maxExportLine bounds one line: a record with the most and longest
	// service identities fits.
	maxExportLine = 1 << 20
)

// ErrBadExport means a ledger export cannot be imported: truncated, altered
// or not an export.
var ErrBadExport = errors.New("not a complete ledger export")

type exportHeader struct {
	Format  string `json:"format"`
	Version int    `json:"version"`
	Created string `json:"created"`
}

type exportService struct {
	Service string `json:"service"`
	ID      string `json:"id"`
}

type exportRecord struct {
	FP       string          `json:"fp"`
	Key      string          `json:"key"`
	Added    string          `json:"added"`
	SHA256   string          `json:"sha256,omitempty"`
	Services []exportService `json:"services,omitempty"`
}

type exportEnd struct {
	End     bool   `json:"end"`
	Records int    `json:"records"`
	SHA256  string `json:"sha256"`
}

// Export writes every record of the ledger to w in the export format and
// returns how many it wrote.
func (b *BoltLedger) Export(ctx context.Context, w io.Writer, now time.Time) (int, error) {
	h := sha256.New()
	bw := bufio.NewWriter(io.MultiWriter(w, h))
	enc := json.NewEncoder(bw) // Encode ends each value with a newline
	enc.SetEscapeHTML(false)
	if err := enc.Encode(exportHeader{exportFormat, exportVersion, now.UTC().Format(time.RFC3339)}); err != nil {
		return 0, err
	}
	n := 0
	err := b.Records(ctx, func(r Record) error {
		if !utf8.ValidString(r.KeyID) {
			return fmt.Errorf("%w: key ID of %s is not UTF-8", ErrCorrupt, r.Fingerprint)
		}
		er := exportRecord{FP: r.Fingerprint.String(), Key: r.KeyID, Added: r.Added.UTC().Format(time.RFC3339)}
		if r.HasHash {
			er.SHA256 = hex.EncodeToString(r.CiphertextSHA256[:])
		}
		for _, s := range r.Services {
			if !utf8.ValidString(s.Service) || !utf8.ValidString(s.ID) {
				return fmt.Errorf("%w: service identity of %s is not UTF-8", ErrCorrupt, r.Fingerprint)
			}
			er.Services = append(er.Services, exportService(s))
		}
		n++
		return enc.Encode(er)
	})
	if err != nil {
		return 0, err
	}
	if err := bw.Flush(); err != nil {
		return 0, err
	}
	end, _ := json.Marshal(exportEnd{End: true, Records: n, SHA256: hex.EncodeToString(h.Sum(nil))})
	if _, err := w.Write(append(end, '\n')); err != nil {
		return 0, err
	}
	return n, nil
}

// ReadExport reads a whole export and returns its records. Anything but a
// complete, unaltered export of a supported version is an error wrapping
// ErrBadExport that says what is wrong; no records are returned then.
func ReadExport(r io.Reader) ([]Record, error) {
	h := sha256.New()
	br := bufio.NewReaderSize(r, maxExportLine)
	var (
		recs    []Record
		lineNo  int
		sawHead bool
	)
	for {
		line, err := readLine(br)
		lineNo++
		if err == io.EOF {
			if !sawHead {
				return nil, fmt.Errorf("%w: empty", ErrBadExport)
			}
			return nil, fmt.Errorf("%w: it ends after %d records without its end line (truncated?)", ErrBadExport, len(recs))
		}
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: %v", ErrBadExport, lineNo, err)
		}
		if !sawHead {
			var hd exportHeader
			if json.Unmarshal(line, &hd) != nil || hd.Format != exportFormat {
				return nil, fmt.Errorf("%w: line 1 is not a jpegveil ledger export header", ErrBadExport)
			}
			if hd.Version != exportVersion {
				return nil, fmt.Errorf("%w: export version %d is not supported (this jpegveil reads version %d)", ErrBadExport, hd.Version, exportVersion)
			}
			sawHead = true
			h.Write(line)
			continue
		}
		if strings.HasPrefix(string(line), `{"end":`) {
			return recs, checkEnd(line, h, len(recs), br)
		}
		h.Write(line)
		rec, err := parseRecord(line)
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: %v", ErrBadExport, lineNo, err)
		}
		recs = append(recs, rec)
	}
}

// readLine reads one line including its newline. A last line without a
// newline is a cut-short file.
func readLine(br *bufio.Reader) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	switch {
	case errors.Is(err, bufio.ErrBufferFull):
		return nil, fmt.Errorf("line longer than %d bytes", br.Size())
	case err == io.EOF && len(line) > 0:
		return nil, errors.New("the last line is cut short (truncated?)")
	case err != nil:
		return nil, err
	}
	return append([]byte(nil), line...), nil
}

func checkEnd(line []byte, h hash.Hash, n int, rest *bufio.Reader) error {
	var end exportEnd
	dec := json.NewDecoder(strings.NewReader(string(line)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&end); err != nil || !end.End {
		return fmt.Errorf("%w: bad end line", ErrBadExport)
	}
	if end.Records != n {
		return fmt.Errorf("%w: the end line counts %d records, the export holds %d", ErrBadExport, end.Records, n)
	}
	if end.SHA256 != hex.EncodeToString(h.Sum(nil)) {
		return fmt.Errorf("%w: its content does not match the hash in its end line (altered or damaged)", ErrBadExport)
	}
	if _, err := rest.ReadByte(); err != io.EOF {
		return fmt.Errorf("%w: data after the end line", ErrBadExport)
	}
	return nil
}

func parseRecord(line []byte) (Record, error) {
	var er exportRecord
	dec := json.NewDecoder(strings.NewReader(string(line)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&er); err != nil {
		return Record{}, err
	}
	var rec Record
	fp, err := hex.DecodeString(er.FP)
	if err != nil || len(fp) != len(rec.Fingerprint) {
		return Record{}, fmt.Errorf("bad fingerprint %q", er.FP)
	}
	copy(rec.Fingerprint[:], fp)
	rec.KeyID = er.Key
	if rec.Added, err = time.Parse(time.RFC3339, er.Added); err != nil {
		return Record{}, fmt.Errorf("bad time %q", er.Added)
	}
	if rec.Entry, err = normalize(rec.Entry); err != nil {
		return Record{}, err
	}
	if er.SHA256 != "" {
		sum, err := hex.DecodeString(er.SHA256)
		if err != nil || len(sum) != 32 {
			return Record{}, fmt.Errorf("bad sha256 %q", er.SHA256)
		}
		copy(rec.CiphertextSHA256[:], sum)
		rec.HasHash = true
	}
	for _, s := range er.Services {
		ref := ServiceRef(s)
		if err := ref.validate(); err != nil {
			return Record{}, err
		}
		rec.Services = append(rec.Services, ref)
	}
	return rec, nil
}

// Import reads a whole export from r and merges it into the ledger (Merge).
// A bad export changes nothing.
func (b *BoltLedger) Import(ctx context.Context, r io.Reader) (MergeStats, error) {
	recs, err := ReadExport(r)
	if err != nil {
		return MergeStats{}, err
	}
	return b.Merge(ctx, recs)
}
