package jpegbits

// The external test package (the benchmarks that compare the transform
// with whole-file encryption in veil, which imports jpegbits) uses these
// helpers of the package's own tests.

var CorpusFiles = corpusFiles

type ZeroKeystream = zeroKeystream
