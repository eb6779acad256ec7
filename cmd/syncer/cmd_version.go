package main

import (
	"context"
	"encoding/json"
	"fmt"

	"syncer/internal/buildinfo"
)

// cmdVersion prints which build this is; it needs no configuration.
func cmdVersion(ctx context.Context, e env, args []string) error {
	fs, _ := newFlags("version", e)
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("version takes no arguments")
	}
	b := buildinfo.Read()
	if *asJSON {
		return json.NewEncoder(e.stdout).Encode(b)
	}
	fmt.Fprintf(e.stdout, "syncer %s\nrevision:   %s\nmodified:   %v\nvcs time:   %s\nbuild time: %s\ngo:         %s\n",
		b.Version, orUnknown(b.Revision), b.Modified, orUnknown(b.VCSTime), orUnknown(b.BuildTime), b.GoVersion)
	return nil
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
