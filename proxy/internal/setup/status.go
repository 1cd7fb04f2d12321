package setup

import (
	"bytes"
	"html/template"
)

var statusTemplate = template.Must(template.New("status").Parse(`{{if .Unbacked}}<div class="box" style="background:#fff3cd">
<p><b>No backup of your key has been made yet</b> ({{range $i, $id := .Unbacked}}{{if $i}}, {{end}}<code>{{$id}}</code>{{end}}).
Without it, every photo this proxy encrypted is lost for good if this computer is. Run <code>jpegveil key backup</code> and keep the page somewhere safe.</p>
</div>{{end}}{{if .Lost}}<div class="box" style="background:#f8d7da">
<p><b>{{.Lost}} download(s) of your photos did not decrypt</b>: the service did not keep the bytes jpegveil uploaded (it re-encoded or cut them).
Check that it stores originals unchanged, and run <code>jpegveil verify</code>. Latest:</p>
<ul>{{range .Recent}}<li>{{.}}</li>{{end}}</ul>
</div>{{end}}{{if .Refused}}<div class="box" style="background:#f8d7da">
<p><b>Uploads are refused to {{range $i, $h := .Refused}}{{if $i}}, {{end}}{{$h}}{{end}}</b>: <code>jpegveil verify</code> found the service re-encoding photos, which loses them.
Change the service's setting and run <code>jpegveil verify</code> again.</p>
</div>{{end}}{{if .Changed}}<p>{{.Changed}} download(s) of your photos had their metadata rewritten by the service; the images decrypted whole.</p>{{end}}`))

// Status is what the page says about key backups and photos the services
// did not keep.
type Status struct {
	Unbacked      []string // IDs of keys with no backup yet
	Lost, Changed int      // downloads that did not decrypt; that had their metadata rewritten
	Recent        []string // the latest losses
	Refused       []string // hosts uploads are refused to
}

// HTML is the page's block for s: empty when all is well.
func (s Status) HTML() template.HTML {
	var b bytes.Buffer
	if err := statusTemplate.Execute(&b, s); err != nil {
		panic("setup: status template: " + err.Error()) // the template is fixed
	}
	return template.HTML(b.String()) // built by the template above
}
