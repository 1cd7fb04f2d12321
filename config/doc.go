// Package config is jpegveil's configuration: the YAML file read strictly
// (unknown keys and wrong types are errors with their line and path), its
// defaults, which are the active settings of the embedded
// config.example.yaml, validation that reports every problem at once, and
// the rules that decide which requests the proxy intercepts.
package config
