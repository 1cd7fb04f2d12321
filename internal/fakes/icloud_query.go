package fakes

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image/jpeg"
	"net/http"
)

// iCloudDerivatives are the renditions CloudKit lists for a photo (field
// prefix and longest side), which Apple makes from what was uploaded.
var iCloudDerivatives = []struct {
	prefix string
	side   int
}{{"resJPEGThumb", 360}, {"resJPEGMed", 1280}}

// recordsQuery answers POST …/records/query with every photo saved, as
// the web app's photo grid reads them (pyicloud's CPLMaster fields): the
// original and its derivatives, each with a downloadURL and a size.
func (f *ICloud) recordsQuery(w http.ResponseWriter) {
	var records []map[string]any
	for _, id := range f.order {
		data := f.files[id]
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(data))
		if err != nil {
			continue
		}
		fields := map[string]any{
			"resOriginalRes":    map[string]any{"value": map[string]any{"size": len(data), "downloadURL": fmt.Sprintf("https://cvws.icloud-content.com/B/%s/${f}?o=At", id)}},
			"resOriginalWidth":  map[string]any{"value": cfg.Width},
			"resOriginalHeight": map[string]any{"value": cfg.Height},
		}
		for _, d := range iCloudDerivatives {
			scale := max(cfg.Width, cfg.Height)/d.side + 1
			fields[d.prefix+"Res"] = map[string]any{"value": map[string]any{"downloadURL": fmt.Sprintf("https://cvws.icloud-content.com/B/%s-%d/${f}?o=Bt", id, d.side)}}
			fields[d.prefix+"Width"] = map[string]any{"value": max(cfg.Width/scale, 1)}
			fields[d.prefix+"Height"] = map[string]any{"value": max(cfg.Height/scale, 1)}
		}
		records = append(records, map[string]any{"recordName": "m-" + id, "recordType": "CPLMaster", "fields": fields})
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"records": records})
}

// derivative serves a rendition Apple made from the stored file.
func (f *ICloud) derivative(w http.ResponseWriter, stored []byte, res string) {
	var side int
	fmt.Sscan(res, &side)
	out, err := ServerRendered(stored, max(side, 16))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "image/jpeg")
	w.Write(out)
}
