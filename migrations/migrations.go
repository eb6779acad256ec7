// Package migrations embeds the goose SQL migrations so the binary carries its
// own schema and every replica migrates the same way.
package migrations

import "embed"

// FS holds the *.sql migrations in goose's numbered order.
//
//go:embed *.sql
var FS embed.FS
