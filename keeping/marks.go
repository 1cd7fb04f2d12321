// Package keeping tells whether a photo service kept the ciphertexts
// jpegveil uploaded: it judges a copy fetched back against the ledger's
// record of what was sent (Judge), and remembers in the state directory
// which services were seen to re-encode, so that the proxy refuses further
// uploads to them (Marks).
package keeping

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// MarksFileName is the file in the state directory that lists the hosts
// whose service was seen to re-encode photos.
const MarksFileName = "reencoding.json"

// Mark says that the service at Host was seen to re-encode a photo.
type Mark struct {
	Host    string    `json:"host"`
	Service string    `json:"service"`
	Seen    time.Time `json:"seen"`
	// Photo is the service's identity of one photo found re-encoded.
	Photo string `json:"photo"`
	// Lost is how many of the photos checked were re-encoded, of Checked.
	Lost    int `json:"lost"`
	Checked int `json:"checked"`
}

// marksFile is the file's JSON: a version and the marks by host.
type marksFile struct {
	Version int    `json:"version"`
	Marks   []Mark `json:"marks"`
}

const marksVersion = 1

// LoadMarks reads the marks of stateDir by host (lower case); none when the
// file does not exist.
func LoadMarks(stateDir string) (map[string]Mark, error) {
	b, err := os.ReadFile(filepath.Join(stateDir, MarksFileName))
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]Mark{}, nil
	}
	if err != nil {
		return nil, err
	}
	var f marksFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", MarksFileName, err)
	}
	if f.Version != marksVersion {
		return nil, fmt.Errorf("%s: version %d, this jpegveil reads version %d", MarksFileName, f.Version, marksVersion)
	}
	m := make(map[string]Mark, len(f.Marks))
	for _, mk := range f.Marks {
		m[strings.ToLower(mk.Host)] = mk
	}
	return m, nil
}

// SaveMarks replaces the marks of stateDir, atomically.
func SaveMarks(stateDir string, marks map[string]Mark) error {
	f := marksFile{Version: marksVersion}
	for _, mk := range marks {
		f.Marks = append(f.Marks, mk)
	}
	sort.Slice(f.Marks, func(i, j int) bool { return f.Marks[i].Host < f.Marks[j].Host })
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(stateDir, MarksFileName+".*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(append(b, '\n'))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(stateDir, MarksFileName))
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}

// Fix says how to make a service keep the photos it is sent, by service
// name; "" when jpegveil knows no setting for it.
func Fix(service string) string {
	switch service {
	case "google":
		return `in Google Photos settings, set the backup quality / upload size to "Original quality" (photos.google.com/settings; "Storage saver" re-encodes every photo)`
	case "immich":
		return "make sure nothing rewrites the original files of the Immich library (Immich keeps originals as uploaded; a script or tool that converts or compresses the library folder does not)"
	case "nextcloud":
		return "on the Nextcloud server, disable any app or workflow that converts, compresses or resizes uploaded images in this folder"
	case "icloud":
		return "upload originals to iCloud Photos: a client or uploader that converts or compresses photos before sending them does not"
	}
	return "make the service store uploaded files unchanged (turn off any setting that compresses, resizes or converts photos)"
}
