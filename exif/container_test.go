package exif

import (
	"slices"
	"testing"
)

func TestParseContainer(t *testing.T) {
	pkt := func(body string) []byte { return []byte(XMPHeader + body) }
	cases := []struct {
		name  string
		in    []byte
		items []ContainerItem
		mp    int64
		mv    int64
		mvOff int64
	}{
		{"pixel", pkt(`<rdf:Description Camera:MotionPhoto="1"><Container:Directory><rdf:Seq>
<rdf:li rdf:parseType="Resource"><Container:Item Item:Mime="image/jpeg" Item:Semantic="Primary" Item:Length="0" Item:Padding="8"/></rdf:li>
<rdf:li rdf:parseType="Resource"><Container:Item Item:Mime="video/mp4" Item:Semantic="MotionPhoto" Item:Length="123456"/></rdf:li>
</rdf:Seq></Container:Directory></rdf:Description>`),
			[]ContainerItem{{"image/jpeg", "Primary", 0, 8}, {"video/mp4", "MotionPhoto", 123456, -1}}, 1, -1, -1},
		{"GContainer, single quotes", pkt(`<GContainer:Item GContainerItem:Mime='image/jpeg' GContainerItem:Semantic='GainMap' GContainerItem:Length='99'/>`),
			[]ContainerItem{{"image/jpeg", "GainMap", 99, -1}}, -1, -1, -1},
		{"legacy attributes", pkt(`<rdf:Description GCamera:MicroVideo="1" GCamera:MicroVideoOffset="4242"/>`), nil, -1, 1, 4242},
		{"legacy elements", pkt(`<GCamera:MicroVideo>1</GCamera:MicroVideo><GCamera:MicroVideoOffset> 77 </GCamera:MicroVideoOffset>`), nil, -1, 1, 77},
		{"still", pkt(`<rdf:Description Camera:MotionPhoto="0"/>`), nil, 0, -1, -1},
		{"bad numbers", pkt(`<Container:Item Item:Mime="video/mp4" Item:Length="-5"/><x GCamera:MicroVideoOffset="1e9"/>`),
			[]ContainerItem{{"video/mp4", "", -1, -1}}, -1, -1, -1},
		{"not a Container", pkt(`<Foo:Item Item:Length="5"/><ItemContainer:Items/>`), nil, -1, -1, -1},
	}
	for _, c := range cases {
		got, err := ParseContainer(c.in)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !slices.Equal(got.Items, c.items) || got.MotionPhoto != c.mp || got.MicroVideo != c.mv || got.MicroVideoOffset != c.mvOff {
			t.Errorf("%s: got %+v", c.name, got)
		}
	}
	if _, err := ParseContainer([]byte("Exif\x00\x00")); err == nil {
		t.Error("an Exif payload parsed as XMP")
	}
}
