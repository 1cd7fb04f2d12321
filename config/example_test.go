package config

import (
	"os"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

const examplePath = "../config.example.yaml"

// TestExampleConfigValidates keeps config.example.yaml from rotting: it must
// load and validate as it is.
func TestExampleConfigValidates(t *testing.T) {
	isolateEnv(t)
	c, err := LoadConfig(examplePath)
	if err != nil {
		t.Fatalf("LoadConfig(%s): %v", examplePath, err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
}

// TestExampleConfigIsDefault checks that the active settings of the example
// are exactly DefaultConfig, rules included, so that the documented file and
// the built-in defaults never drift apart.
func TestExampleConfigIsDefault(t *testing.T) {
	isolateEnv(t)
	c, err := LoadConfig(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	got, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	want, err := yaml.Marshal(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("config.example.yaml differs from DefaultConfig()\nexample:\n%s\ndefault:\n%s", got, want)
	}
}

// uncommentRulePresets returns the example with its commented-out rules
// (lines "  # - name: ..." and their "  #   key: ..." continuation lines)
// made active.
func uncommentRulePresets(src string) string {
	lines := strings.Split(src, "\n")
	inRule := false
	for i, l := range lines {
		switch {
		case strings.HasPrefix(l, "  # - "):
			inRule = true
		case inRule && strings.HasPrefix(l, "  #   "):
		default:
			inRule = false
			continue
		}
		lines[i] = "  " + strings.TrimPrefix(l, "  # ")
	}
	return strings.Join(lines, "\n")
}

// TestExampleRulePresetsValidate checks the commented-out presets (Immich,
// Nextcloud) of the example: uncommented, they must validate too.
func TestExampleRulePresetsValidate(t *testing.T) {
	isolateEnv(t)
	data, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	src := uncommentRulePresets(string(data))
	c, err := ParseConfig([]byte(src), "")
	if err != nil {
		t.Fatalf("example with presets uncommented: %v\n%s", err, src)
	}
	var names []string
	for _, r := range c.Rules {
		names = append(names, r.Name)
	}
	for _, want := range []string{"immich-upload", "immich-download", "immich-api", "nextcloud-upload", "nextcloud-chunked-upload", "nextcloud-download", "nextcloud-api", "icloud-api"} {
		if !slices.Contains(names, want) {
			t.Errorf("preset %q not found among %v", want, names)
		}
	}
	tests := []matchCase{
		{"POST", "immich.example.org", "/api/assets", "immich-upload"},
		{"GET", "immich.example.org", "/api/assets/8f2a/original", "immich-download"},
		{"GET", "immich.example.org", "/api/assets/8f2a/thumbnail", "immich-api"},
		{"POST", "immich.example.org", "/api/assets/bulk-upload-check", "immich-api"},
		{"PUT", "cloud.example.org", "/remote.php/dav/files/alice/Photos/a.jpg", "nextcloud-upload"},
		{"PUT", "cloud.example.org", "/remote.php/dav/uploads/alice/web-file-upload-1/00001", "nextcloud-chunked-upload"},
		{"MOVE", "cloud.example.org", "/remote.php/dav/uploads/alice/web-file-upload-1/.file", "nextcloud-chunked-upload"},
		{"GET", "cloud.example.org", "/remote.php/dav/files/alice/Photos/a.jpg", "nextcloud-download"},
		{"PROPFIND", "cloud.example.org", "/remote.php/dav/files/alice/Photos", "nextcloud-api"},
		{"GET", "cloud.example.org", "/index.php/core/preview", "nextcloud-api"},
		{"POST", "photoslibrary.googleapis.com", "/v1/uploads", "google-photos-library-upload"},
		{"PUT", "photos.google.com", "/_/upload/uploadmedia/interactive", "google-photos-web-upload"},
		{"GET", "lh3.googleusercontent.com", "/lr/AbC=d", "google-photos-download"},
		{"POST", "p123-content.icloud-content.com", "/upload", "icloud-upload"},
		{"GET", "cvws.icloud-content.com", "/B/abc/file.jpg", "icloud-download"},
		{"POST", "p42-ckdatabasews.icloud.com", "/database/1/com.apple.photos.cloud/production/private/records/query", "icloud-api"},
	}
	checkMatches(t, c, tests)
}

func TestDefaultConfigValidates(t *testing.T) {
	c := validConfig(t)
	if !c.CA.NameConstraints || c.Listen != DefaultListen {
		t.Errorf("unexpected defaults: %+v", c)
	}
	// DefaultConfig returns a fresh value each time.
	c.Rules[0].Hosts[0] = "changed.example.org"
	if DefaultConfig().Rules[0].Hosts[0] == "changed.example.org" {
		t.Errorf("DefaultConfig shares state between calls")
	}
}
