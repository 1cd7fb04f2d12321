package proxy

// Internals the external tests (package proxy_test) use.
var MatchPath = matchPath

const RangeMargin = rangeMargin
