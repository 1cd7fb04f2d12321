package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"jpegveil/config"
	"jpegveil/keeping"
	"jpegveil/keystream"
	"jpegveil/ledger"
	"jpegveil/proxy/services/immich"
	"jpegveil/proxy/services/nextcloud"
)

// maxVerifyDownload bounds one photo fetched back by verify.
const maxVerifyDownload = 512 << 20

func newVerifyCmd(a *app) *cobra.Command {
	var (
		fl       ledgerFlags
		tgt      verifyFlags
		sample   int
		all      bool
		passFile string
	)
	cmd := &cobra.Command{
		Use:   "verify --service immich|nextcloud --url BASE [--header 'NAME: VALUE']... [--sample N | --all]",
		Short: "Fetch photos back from a service and check that it kept them",
		Long: `verify fetches photos the ledger says were uploaded to a service back
through the service's own original-download route (Immich: /api/assets/ID/
original; Nextcloud: the file's WebDAV path) and reports for each one:

  kept exactly                                 the bytes jpegveil uploaded
  metadata rewritten (main image still exact)  the service changed Exif or XMP
  re-encoded (lost)                            the service re-encoded the
                                               encrypted photo: it cannot be
                                               decrypted, the photo is lost

A service found re-encoding makes the proxy refuse further uploads to its
host (unless the rule says on_reencode: allow), with the reason and the
setting to change; a later verify that finds photos kept lifts it. The
ledger records where each upload went since jpegveil learned to; photos
uploaded before cannot be checked this way.

Authentication goes in --header (Immich: 'x-api-key: KEY'; Nextcloud:
'Authorization: Basic ...' with an app password). The ledger must not be
in use: stop the proxy, or name a daily copy with --ledger.

Exit status 1 when a photo was re-encoded or could not be fetched.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			cfg, _, err := a.loadConfig(fl.config)
			if err != nil {
				return err
			}
			target, err := tgt.target()
			if err != nil {
				return err
			}
			if !all && sample <= 0 {
				return usagef("--sample must be at least 1 (or use --all)")
			}
			if all {
				sample = 0
			}
			ring, err := a.loadKeyring(keyOptions{path: cfg.KeyFile, passphraseFile: passFile})
			if err != nil {
				return err
			}
			l, err := ledger.OpenBolt(fl.in(cfg), ledger.BoltOptions{ReadOnly: true})
			if err != nil {
				return err
			}
			defer l.Close()
			rows, err := verifyPhotos(a.context(), l, ring, target, sample)
			if err != nil {
				return err
			}
			return a.reportVerify(cfg, target, rows)
		},
	}
	fl.add(cmd)
	tgt.add(cmd)
	f := cmd.Flags()
	f.IntVar(&sample, "sample", 20, "check this many photos, picked at random")
	f.BoolVar(&all, "all", false, "check every photo the ledger knows at the service")
	f.StringVar(&passFile, "passphrase-file", "", "file holding the passphrase of a passphrase key")
	return cmd
}

// verifyFlags name the service to fetch photos from.
type verifyFlags struct {
	service, base, caFile string
	headers               []string
}

func (v *verifyFlags) add(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&v.service, "service", "", "the service: immich or nextcloud (required)")
	f.StringVar(&v.base, "url", "", "the service's address, e.g. https://photos.example.org (required)")
	f.StringArrayVar(&v.headers, "header", nil, "a header sent with every request, 'NAME: VALUE' (repeatable)")
	f.StringVar(&v.caFile, "ca-file", "", "PEM file of CAs to trust for the service, besides the system's")
}

// verifyTarget is where and how verify fetches a service's originals.
type verifyTarget struct {
	service string
	base    *url.URL
	header  http.Header
	client  *http.Client
}

func (v *verifyFlags) target() (verifyTarget, error) {
	t := verifyTarget{service: v.service, header: make(http.Header)}
	switch v.service {
	case "immich", "nextcloud":
	case "":
		return t, usagef("--service is required: immich or nextcloud")
	case "google", "icloud":
		return t, usagef("--service %s: jpegveil knows no original-download route for the identities it records there (Google: upload URLs and tokens; iCloud: none)", v.service)
	default:
		return t, usagef("unknown --service %q: want immich or nextcloud", v.service)
	}
	u, err := url.Parse(v.base)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return t, usagef("--url %q: want the service's address, such as https://photos.example.org", v.base)
	}
	t.base = u
	for _, h := range v.headers {
		name, value, ok := strings.Cut(h, ":")
		if !ok || strings.TrimSpace(name) == "" {
			return t, usagef("--header %q: want 'NAME: VALUE'", h)
		}
		t.header.Add(strings.TrimSpace(name), strings.TrimSpace(value))
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if v.caFile != "" {
		pem, err := os.ReadFile(v.caFile)
		if err != nil {
			return t, fileErr(v.caFile, err)
		}
		if !pool.AppendCertsFromPEM(pem) {
			return t, fileErr(v.caFile, fmt.Errorf("no PEM certificate in it"))
		}
	}
	t.client = &http.Client{Timeout: 5 * time.Minute, Transport: &http.Transport{
		Proxy:              nil, // straight to the service: through the proxy, photos would come back decrypted
		TLSClientConfig:    &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		DisableCompression: true,
	}}
	return t, nil
}

// originalURL is the service's original-download route for the photo id.
func (t verifyTarget) originalURL(id string) *url.URL {
	if t.service == "nextcloud" {
		return nextcloud.OriginalURL(t.base, id)
	}
	return immich.OriginalURL(t.base, id)
}

// verifyRow is what verify found for one photo at the service.
type verifyRow struct {
	id      string
	verdict keeping.Verdict
	err     error // the photo could not be fetched or judged
}

// recordLister lists a ledger's records (BoltLedger.Records).
type recordLister interface {
	Records(ctx context.Context, fn func(ledger.Record) error) error
}

// verifyPhotos fetches back up to sample (0: all) of the photos the ledger
// recorded at the target's service, picked at random, and judges each.
func verifyPhotos(ctx context.Context, l recordLister, ring *keystream.Keyring, t verifyTarget, sample int) ([]verifyRow, error) {
	type photo struct {
		rec ledger.Record
		id  string
	}
	var photos []photo
	err := l.Records(ctx, func(r ledger.Record) error {
		for _, ref := range r.Services {
			if ref.Service == t.service {
				photos = append(photos, photo{r, ref.ID})
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(photos) == 0 {
		return nil, fmt.Errorf("the ledger records no photo uploaded to %s (it records where uploads went only since this version of jpegveil)", t.service)
	}
	rand.Shuffle(len(photos), func(i, j int) { photos[i], photos[j] = photos[j], photos[i] })
	if sample > 0 && sample < len(photos) {
		photos = photos[:sample]
	}
	rows := make([]verifyRow, len(photos))
	for i, p := range photos {
		rows[i] = verifyRow{id: p.id}
		key := ring.Lookup(p.rec.KeyID)
		if key == nil {
			rows[i].err = fmt.Errorf("encrypted with key %s, which the keyring lacks", p.rec.KeyID)
			continue
		}
		copy, err := t.fetch(ctx, p.id)
		if err != nil {
			rows[i].err = err
			continue
		}
		rows[i].verdict = keeping.Judge(key, p.rec, copy)
	}
	return rows, nil
}

// fetch downloads the original of the photo id.
func (t verifyTarget) fetch(ctx context.Context, id string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.originalURL(id).String(), nil)
	if err != nil {
		return nil, err
	}
	for k, v := range t.header {
		req.Header[k] = v
	}
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := t.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s %s", req.URL.Redacted(), resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxVerifyDownload+1))
	if err == nil && len(b) > maxVerifyDownload {
		err = fmt.Errorf("larger than %d MiB", maxVerifyDownload>>20)
	}
	return b, err
}

// reportVerify prints the table, updates the re-encoding marks of the
// target's host and returns the error that sets the exit status.
func (a *app) reportVerify(cfg *config.Config, t verifyTarget, rows []verifyRow) error {
	counts := map[keeping.Verdict]int{}
	failed, lostID := 0, ""
	fmt.Fprintf(a.stdout, "%-44s %s\n", "RESULT", "PHOTO")
	for _, r := range rows {
		if r.err != nil {
			failed++
			fmt.Fprintf(a.stdout, "%-44s %s %s: %v\n", "not checked", t.service, r.id, r.err)
			continue
		}
		counts[r.verdict]++
		if r.verdict.Lost() && lostID == "" {
			lostID = r.id
		}
		fmt.Fprintf(a.stdout, "%-44s %s %s\n", r.verdict, t.service, r.id)
	}
	checked := len(rows) - failed
	fmt.Fprintf(a.stdout, "%d checked at %s: %d kept exactly, %d metadata rewritten, %d main image exact, %d re-encoded (lost); %d not checked\n",
		checked, t.base.Host, counts[keeping.KeptExactly], counts[keeping.MetadataRewritten], counts[keeping.ImageKept], counts[keeping.Reencoded], failed)
	lost := counts[keeping.Reencoded]
	if err := a.updateMarks(cfg, t, lost, checked, lostID); err != nil {
		return err
	}
	switch {
	case lost > 0:
		return fmt.Errorf("%s re-encodes photos: %d of %d checked are lost. The proxy refuses uploads to %s until a verify finds photos kept; to fix the service, %s", t.service, lost, checked, config.CanonicalHost(t.base.Host), keeping.Fix(t.service))
	case failed > 0:
		return fmt.Errorf("%d photo(s) could not be checked", failed)
	}
	return nil
}

// updateMarks records a service that re-encodes, or lifts the mark of one
// whose photos were all kept.
func (a *app) updateMarks(cfg *config.Config, t verifyTarget, lost, checked int, lostID string) error {
	if checked == 0 {
		return nil
	}
	marks, err := keeping.LoadMarks(cfg.StateDir)
	if err != nil {
		return fileErr(cfg.StateDir, err)
	}
	host := config.CanonicalHost(t.base.Host)
	_, had := marks[host]
	switch {
	case lost > 0:
		marks[host] = keeping.Mark{Host: host, Service: t.service, Seen: time.Now().UTC(), Photo: lostID, Lost: lost, Checked: checked}
	case had:
		delete(marks, host)
		fmt.Fprintf(a.stderr, "jpegveil: %s keeps photos again: the proxy no longer refuses uploads to it\n", host)
	default:
		return nil
	}
	if err := keeping.SaveMarks(cfg.StateDir, marks); err != nil {
		return fileErr(cfg.StateDir, err)
	}
	return nil
}
