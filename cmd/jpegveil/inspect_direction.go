package main

import (
	"fmt"
	"math"
	"strings"

	"jpegveil/keystream"
	"jpegveil/veil"
)

// directionReport is the direction classifier's verdict in inspect's
// report (FORMAT.md §34). Its field names are an interface, like the rest
// of the JSON report.
type directionReport struct {
	Class     string            `json:"class"`
	KeyID     string            `json:"key_id,omitempty"`
	Margin    float64           `json:"margin_bits"`
	Reason    string            `json:"reason,omitempty"`
	Pairs     int               `json:"pairs"`
	ScanBytes int               `json:"scan_bytes"`
	Keys      []keyMarginReport `json:"keys"`
}

type keyMarginReport struct {
	KeyID  string  `json:"key_id"`
	Margin float64 `json:"margin_bits"`
	Z      float64 `json:"z"`
	Rows   int     `json:"rows"`
}

// classifyReport returns the ring's key IDs and the verdict on data.
func classifyReport(ring *keystream.Keyring, data []byte) ([]string, *directionReport) {
	v := veil.ClassifyBytes(ring, data)
	d := &directionReport{Class: v.Class.String(), Margin: round2(v.Margin), Reason: v.Reason, Pairs: v.Pairs, ScanBytes: v.ScanBytes, Keys: []keyMarginReport{}}
	if v.Key != nil {
		d.KeyID = v.Key.ID()
	}
	for _, km := range v.Margins {
		z := km.Z
		if z > 1e6 || z < -1e6 { // ±Inf: JSON has no infinity
			z = max(-1e6, min(1e6, z))
		}
		d.Keys = append(d.Keys, keyMarginReport{KeyID: km.KeyID, Margin: round2(km.Margin), Z: round2(z), Rows: km.Rows})
	}
	return ring.IDs(), d
}

func round2(x float64) float64 { return math.Round(x*100) / 100 }

// writeDirection adds the key and direction lines of the text report.
func writeDirection(line reportLine, r *inspectReport) {
	d := r.Direction
	if d == nil {
		return
	}
	ids := append([]string(nil), r.KeyIDs...)
	ids[0] += " (current)"
	line("keys", "%s", strings.Join(ids, ", "))
	verdict := d.Class
	if d.KeyID != "" {
		verdict += " of key " + d.KeyID
	}
	verdict += fmt.Sprintf(", margin %.2f bits", d.Margin)
	if d.Reason != "" {
		verdict += " (" + d.Reason + ")"
	}
	line("direction", "%s; %d boundary pairs from %d scan bytes", verdict, d.Pairs, d.ScanBytes)
	for _, k := range d.Keys {
		line("  key "+k.KeyID, "margin %+.2f bits, z %+.1f over %d rows", k.Margin, k.Z, k.Rows)
	}
}
