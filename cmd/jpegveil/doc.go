// Command jpegveil encrypts JPEG photos without changing their size or
// validity.
//
// Commands of this file set (see 'jpegveil CMD --help'):
//
//	jpegveil keygen [--mode extended|strict] [--passphrase] -o KEYFILE
//	jpegveil encrypt -k KEYFILE IN -o OUT     (or --in-place IN)
//	jpegveil decrypt -k KEYFILE IN -o OUT     (or --in-place IN)
//	jpegveil inspect FILE [--json]
//	jpegveil analyze ORIGINAL [ENCRYPTED] [-k KEYFILE] [--png OUT] [--json]
//
// encrypt and decrypt take --force, --allow-partial,
// --passphrase-file FILE, and --keep-thumbnail, --keep-gps and --keep-mpf
// to leave a kind of metadata unencrypted (FORMAT.md part IV). IN and OUT
// may be "-"; IN may be a directory.
//
// Errors are printed once, as one line "jpegveil: <file>: <reason>" on
// stderr. The exit status is 0 on success, 1 on an error and 2 on a usage
// error.
//
// # inspect --json
//
// inspect --json prints one object. Fields are only ever added, never
// renamed or removed. Offsets are file offsets in bytes.
//
//	file               name as given ("<stdin>" for -)
//	size_bytes         file size
//	frame              null when no frame header was parsed, else:
//	  marker           "SOF0", "SOF1" or "SOF2"
//	  process          "baseline", "extended sequential" or "progressive"
//	  width, height    in pixels
//	  components       number of components
//	  sampling         per component, "HxV"
//	restart_interval   MCUs per restart interval (last DRI), 0 when none
//	scans              array, one object per scan in file order:
//	  index            1-based
//	  kind             "sequential", "dc-first", "dc-refine", "ac-first", "ac-refine"
//	  (and every field of total)
//	total              the sums over all scans:
//	  components       scan components (summed)
//	  ecs_bytes        entropy-coded bytes, markers and stuffing included
//	  data_bytes       the same after unstuffing
//	  intervals        restart intervals
//	  h_bits           Huffman code bits
//	  s_bits           structural raw bits (EOB runs)
//	  p_bits           padding bits
//	  c_bits           candidate bits (the only bits that may be encrypted)
//	  trailing_bytes   data bytes after an interval's padding (never encrypted)
//	  strict_bits      C bits the strict rule encrypts
//	  extended_bits    C bits the extended rule encrypts
//	  strict_percent   100·strict_bits/c_bits, two decimals (0 when c_bits is 0)
//	  extended_percent 100·extended_bits/c_bits, two decimals
//	after_eoi_bytes    bytes after the first EOI marker
//	error              null, or the parse error (nothing after it is encrypted):
//	  kind             "corrupt" or "unsupported"
//	  offset           byte where the parser stopped
//	  message          as in error lines, e.g. "corrupt JPEG at byte 9: …"
//	metadata           what the file carries besides the pixels:
//	  has_exif         an APP1 Exif segment with a valid header
//	  has_thumbnail    an Exif thumbnail (IFD1 JPEGInterchangeFormat)
//	  has_gps          an Exif GPS IFD with at least one entry
//	  has_xmp          an APP1 XMP segment
//	  has_xmp_location XMP names a location property (exif:GPSLatitude, …)
//	  mpf_images       images listed by an APP2 MPF segment, 0 when none
//	  exif             array, per APP1 Exif segment:
//	    offset, length the payload (after the length field)
//	    byte_order     "II" or "MM" ("" when the header is invalid)
//	    gps_fields     GPS IFD tag names, e.g. "GPSLatitude" ([] when none)
//	    thumbnail      null or {offset, length, jpeg}: jpeg is whether it starts with SOI
//	    error          null or the first structural problem (with its file offset)
//	  xmp              array, per APP1 XMP segment:
//	    offset, length the payload
//	    extended       an extended-XMP chunk
//	    location       location properties named, as written (prefix:name)
//	  mpf              array, per APP2 MPF segment: offset, length, images, error
//	  error            null or a problem of the marker structure before the first scan
//	  items            array, what encryption does with each metadata item
//	                   (FORMAT.md part IV), in the order found:
//	    kind           "exif thumbnail", "gps", "xmp location", "mpf image",
//	                   "container image", "motion video", "sef block" or "trailing data"
//	    label          e.g. "exif thumbnail", "mpf image 2", "mpf image 2 exif thumbnail"
//	    offset, length the embedded image, or the payload holding the values
//	    fields         GPS fields or XMP properties found ([] for images)
//	    protected      false when part of it cannot be encrypted
//	    problem        null, or what cannot be encrypted
//	    action         "transformed", or "clear" for a Samsung block without a picture
//	  after_eoi_other_bytes  bytes after the first EOI in no embedded item (never changed)
//	key_ids            with -k only: the key IDs of the keyring, the current one first
//	direction          with -k only: the direction classifier's verdict (FORMAT.md §34)
//	  class            "plaintext", "ciphertext" or "unsure"
//	  key_id           the key whose ciphertext it is (ciphertext only)
//	  margin_bits      the verdict's margin in bits
//	  reason           why unsure (omitted otherwise)
//	  pairs            MCU-row boundary block pairs the statistic used
//	  scan_bytes       entropy-coded bytes of the first scan it read
//	  keys             array, per key: key_id, margin_bits (positive: ciphertext
//	                   of that key), z (its z score) and rows
//
// # analyze --json
//
// analyze --json prints one object; fields are only ever added. PSNRs are
// null when the images are identical (infinite PSNR).
//
//	original, encrypted      file names ("(throw-away key)" or "(key ID)" when encrypted here)
//	throw_away_key           the original was encrypted with a random key
//	key_id                   the key of -k, when given
//	width, height            in pixels
//	psnr_rgb_db, psnr_luma_db  PSNR in dB (luma: BT.601)
//	ssim_luma                mean SSIM of luma (11×11 Gaussian window)
//	npcr_percent, uaci_percent  changed samples; mean absolute difference
//	edge_dice                Dice overlap of the Sobel edge maps (strongest 10 %)
//	edge_dice_chance         the overlap independent maps of those densities have
//	c_bits                   additional (candidate) bits of the original
//	encrypted_bits           those the key's rule encrypts (extended when ENCRYPTED is given)
//	encrypted_bits_percent   100·encrypted_bits/c_bits
//	strict_bits_percent      the same for the strict rule
//	thumbnail, gps, xmp_location  objects: present, protected (changed, and
//	                         nothing left unencrypted), psnr_db (thumbnail),
//	                         problem (null or what cannot be encrypted)
//	mpf_images               array of {label, present, protected, psnr_db, problem}
//	embedded                 array of {kind, label, offset, length, clear, present,
//	                         protected, psnr_db, problem}: the motion video, Samsung
//	                         blocks and Container images (psnr_db for images)
//	png                      the picture written with --png, if any
package main
