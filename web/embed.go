// Package web holds the dashboard: a single-page app built into dist/ and
// embedded in the binary.
package web

import (
	"embed"
	"io/fs"
)

// Dist is the built dashboard, rooted at "dist".
//
//go:embed all:dist
var Dist embed.FS

// Files returns the built dashboard rooted at its index.html.
func Files() fs.FS {
	sub, err := fs.Sub(Dist, "dist")
	if err != nil {
		panic(err) // "dist" is a valid path: cannot happen
	}
	return sub
}
