// Package migrations embeds pollhook's own SQL migrations, applied by goose
// after River's migrations (see internal/migrate).
package migrations

import "embed"

// FS holds the numbered goose migrations of this folder.
//
//go:embed *.sql
var FS embed.FS
