package store

import "github.com/pressly/goose/v3"

// Provider lets tests migrate to a given version.
func (m *Migrations) Provider() *goose.Provider { return m.p }
