package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"jpegveil/config"
)

// configSource says where a configuration came from, for the line serve
// prints at start.
type configSource struct {
	Path   string // empty: the built-in configuration
	Origin string // "--config", "$JPEGVEIL_CONFIG", "the XDG config path" or why the built-in one
}

func (s configSource) String() string {
	if s.Path == "" {
		return "the built-in configuration (" + s.Origin + ")"
	}
	return s.Path + " (from " + s.Origin + ")"
}

// userConfigFile is where init writes the configuration and where serve
// looks for it: $XDG_CONFIG_HOME/jpegveil/config.yaml when XDG_CONFIG_HOME
// is an absolute path, else ~/.config/jpegveil/config.yaml; "" when
// neither is known.
func (a *app) userConfigFile() string {
	if x := a.getenv("XDG_CONFIG_HOME"); x != "" && filepath.IsAbs(x) {
		return filepath.Join(x, "jpegveil", "config.yaml")
	}
	if home := a.getenv("HOME"); home != "" {
		return filepath.Join(home, ".config", "jpegveil", "config.yaml")
	}
	return ""
}

// findConfig applies the search order: --config FILE, then
// $JPEGVEIL_CONFIG, then the XDG config path, then the built-in
// configuration. A file named by the flag or the variable must exist; the
// XDG file is used when it exists.
func (a *app) findConfig(flag string) (configSource, error) {
	if flag != "" {
		return configSource{Path: flag, Origin: "--config"}, nil
	}
	if env := a.getenv("JPEGVEIL_CONFIG"); env != "" {
		return configSource{Path: env, Origin: "$JPEGVEIL_CONFIG"}, nil
	}
	if xdg := a.userConfigFile(); xdg != "" {
		_, err := os.Stat(xdg)
		switch {
		case err == nil:
			return configSource{Path: xdg, Origin: "the XDG config path"}, nil
		case !errors.Is(err, fs.ErrNotExist):
			return configSource{}, fmt.Errorf("config file %s: %v", xdg, errMessage(err))
		}
		return configSource{Origin: "no --config, $JPEGVEIL_CONFIG unset, no " + xdg}, nil
	}
	return configSource{Origin: "no --config, $JPEGVEIL_CONFIG and $HOME unset"}, nil
}

// loadConfig finds and loads the configuration (see findConfig).
func (a *app) loadConfig(flag string) (*config.Config, configSource, error) {
	src, err := a.findConfig(flag)
	if err != nil {
		return nil, src, err
	}
	if src.Path == "" {
		cfg := config.DefaultConfig()
		return cfg, src, cfg.Validate()
	}
	if _, err := os.Stat(src.Path); err != nil {
		return nil, src, fmt.Errorf("config file %s (from %s): %s", src.Path, src.Origin, errMessage(err))
	}
	cfg, err := config.LoadConfig(src.Path)
	return cfg, src, err
}

// errMessage is the reason of a file-system error without the path, which
// the caller names.
func errMessage(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		if errors.Is(err, fs.ErrNotExist) {
			return "no such file"
		}
		return pe.Err.Error()
	}
	return err.Error()
}
