package main

import (
	"io"
	"os"
)

// isTerminal reports whether w is a terminal someone is watching rather
// than a log stream (journald, docker logs, a pipe, a file): a character
// device, or a writer that says so itself (tests stand in for a terminal
// that way). It decides the log format under --log-format auto, and
// whether the bootstrap invite is shown: a secret must not reach a log.
func isTerminal(w io.Writer) bool {
	if t, ok := w.(interface{ IsTerminal() bool }); ok {
		return t.IsTerminal()
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
