// Package switchyard holds the files compiled into the binary: the built web UI
// and the SQL migrations. Everything else lives under backend/.
package switchyard

import "embed"

// WebDist is the Vite build of web/ (web/dist). The "all:" prefix keeps
// Vite's "_"-prefixed chunks; web/dist/.keep lets Go build before the UI has.
//
//go:embed all:web/dist
var WebDist embed.FS

// Migrations are applied in lexical order at start, each in a transaction.
//
//go:embed migrations/*.sql
var Migrations embed.FS
