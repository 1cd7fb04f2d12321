package exif

import "fmt"

var gpsTagNames = [...]string{
	"GPSVersionID", "GPSLatitudeRef", "GPSLatitude", "GPSLongitudeRef",
	"GPSLongitude", "GPSAltitudeRef", "GPSAltitude", "GPSTimeStamp",
	"GPSSatellites", "GPSStatus", "GPSMeasureMode", "GPSDOP",
	"GPSSpeedRef", "GPSSpeed", "GPSTrackRef", "GPSTrack",
	"GPSImgDirectionRef", "GPSImgDirection", "GPSMapDatum", "GPSDestLatitudeRef",
	"GPSDestLatitude", "GPSDestLongitudeRef", "GPSDestLongitude", "GPSDestBearingRef",
	"GPSDestBearing", "GPSDestDistanceRef", "GPSDestDistance", "GPSProcessingMethod",
	"GPSAreaInformation", "GPSDateStamp", "GPSDifferential", "GPSHPositioningError",
}

// GPSTagName returns the Exif 2.32 name of a GPS IFD tag, such as
// "GPSLatitude" for 0x0002, or "GPSTag0xNNNN" for a tag it does not know.
func GPSTagName(tag uint16) string {
	if int(tag) < len(gpsTagNames) {
		return gpsTagNames[tag]
	}
	return fmt.Sprintf("GPSTag0x%04X", tag)
}
