package exif

import (
	"regexp"
	"strconv"
)

// ContainerItem is one item of an XMP Container:Directory (Google's
// Motion Photo format v1 and Ultra HDR image format v1:
// developer.android.com/media/platform/motion-photo-format,
// developer.android.com/media/platform/hdr-image-format). Length and Padding
// are -1 when the attribute is absent or not a non-negative integer.
type ContainerItem struct {
	Mime, Semantic  string
	Length, Padding int64
}

// Container is what ParseContainer found in an XMP packet: the directory of
// items after the primary image, and the motion-photo flags, in both the
// current (Camera:MotionPhoto) and the legacy (GCamera:MicroVideo,
// GCamera:MicroVideoOffset) form. An absent integer property is -1.
type Container struct {
	Items            []ContainerItem
	MotionPhoto      int64
	MicroVideo       int64
	MicroVideoOffset int64
}

// Declares reports whether the packet says anything about items after the
// primary image.
func (c *Container) Declares() bool {
	return len(c.Items) > 0 || c.MicroVideo > 0 || c.MicroVideoOffset > 0
}

var (
	// A directory item: an element whose local name is Item under a
	// prefix ending in "Container" (Container:, GContainer:), with its
	// attributes.
	containerItem = regexp.MustCompile(`<[A-Za-z0-9_]*Container:Item\b([^>]*)>`)
	itemAttr      = regexp.MustCompile(`\b[A-Za-z0-9_]+:(Mime|Semantic|Length|Padding)\s*=\s*(?:"([^"]*)"|'([^']*)')`)
	// The motion-photo flags, as attributes or as simple elements, under
	// any prefix (Camera:, GCamera:).
	motionAttr = regexp.MustCompile(`\b[A-Za-z0-9_]+:(MotionPhoto|MicroVideo|MicroVideoOffset)\s*=\s*(?:"([^"]*)"|'([^']*)')`)
	motionElem = regexp.MustCompile(`<[A-Za-z0-9_]+:(MotionPhoto|MicroVideo|MicroVideoOffset)>\s*([^<]*?)\s*</`)
)

// maxContainerItems bounds the directory items read from one packet.
const maxContainerItems = 64

// ParseContainer reads the Container directory and the motion-photo flags
// of a standard XMP APP1 payload. Like ParseXMP it does not parse the XML:
// it recognises the attribute form the public writers use (Android's
// camera, libultrahdr, Samsung) and the element form of the flags. An
// error wraps ErrNotXMP.
func ParseContainer(payload []byte) (*Container, error) {
	x, err := xmpPacket(payload) // the directory needs no location scan
	if err != nil {
		return nil, err
	}
	p := payload[x.PacketOffset:]
	c := &Container{MotionPhoto: -1, MicroVideo: -1, MicroVideoOffset: -1}
	for _, m := range containerItem.FindAllSubmatch(p, maxContainerItems) {
		it := ContainerItem{Length: -1, Padding: -1}
		for _, a := range itemAttr.FindAllSubmatch(m[1], -1) {
			v := string(a[2]) + string(a[3])
			switch string(a[1]) {
			case "Mime":
				it.Mime = v
			case "Semantic":
				it.Semantic = v
			case "Length":
				it.Length = nonNegative(v)
			case "Padding":
				it.Padding = nonNegative(v)
			}
		}
		c.Items = append(c.Items, it)
	}
	set := func(name, v string) {
		n := nonNegative(v)
		switch name {
		case "MotionPhoto":
			c.MotionPhoto = max(c.MotionPhoto, n)
		case "MicroVideo":
			c.MicroVideo = max(c.MicroVideo, n)
		case "MicroVideoOffset":
			c.MicroVideoOffset = max(c.MicroVideoOffset, n)
		}
	}
	for _, a := range motionAttr.FindAllSubmatch(p, 16) {
		set(string(a[1]), string(a[2])+string(a[3]))
	}
	for _, a := range motionElem.FindAllSubmatch(p, 16) {
		set(string(a[1]), string(a[2]))
	}
	return c, nil
}

func nonNegative(s string) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return -1
	}
	return n
}
