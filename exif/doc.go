// Package exif locates the metadata of a JPEG file that can give away what
// encrypting its pixels hides: the Exif thumbnail (a small copy of the
// photo), the GPS position, location properties in XMP, and the secondary
// images of a Multi-Picture (MPF) file.
//
// It does not decode values for display. It reports where things are, as
// byte offsets into the segment payload they live in, so that a later step
// can encrypt them in place without moving a byte:
//
//   - [Parse] reads an APP1 Exif payload ("Exif\0\0" and a TIFF structure in
//     either byte order) and walks IFD0, the Exif IFD, the GPS IFD and IFD1,
//     returning every entry and the thumbnail's position.
//   - [ParseMPF] reads an APP2 "MPF\0" payload and its MP entries.
//   - [ParseXMP] recognises an APP1 XMP packet and the location properties
//     it names.
//   - [Scan] walks a JPEG file's marker segments up to the first scan and
//     applies the three to the segments it finds.
//
// All input is treated as hostile: every offset and length is
// bounds-checked, IFD entry counts are capped and IFD loops are detected.
// Nothing panics; problems are reported as *[FormatError] values, along
// with whatever could be parsed before and around them.
package exif
