package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"

	"github.com/throughcare/throughcare/server/admin"
	"github.com/throughcare/throughcare/server/store"
)

// bootstrap creates the first area and its first admin invite when the
// store is empty. The code is written to a file only the server's user can
// read and, if stdout is a terminal, shown there once; a stdout that is not
// one is a log stream and gets only the file's path. The code is never
// logged. A file left holding an invite already used (or expired) goes.
func bootstrap(ctx context.Context, cfg *config, st store.DirectoryStore, log zerolog.Logger, stdout io.Writer) error {
	removeSpentBootstrap(ctx, cfg.Data, st, log)
	code, created, err := admin.Bootstrap(ctx, st, cfg.BootstrapArea, time.Now(), bootstrapTTL)
	if err != nil || !created {
		return err
	}
	path, err := admin.WriteBootstrapInvite(cfg.Data, code)
	if err != nil {
		return err
	}
	if isTerminal(stdout) {
		fmt.Fprintf(stdout, "\n  First start: created area %q. Enrol its first admin with this invite\n  (valid %s, shown once, also in %s until it is used):\n\n      %s\n\n", cfg.BootstrapArea, bootstrapTTL, path, code)
	}
	log.Info().Str("area", cfg.BootstrapArea).Str("file", path).Str("valid", bootstrapTTL.String()).
		Msg("bootstrap admin invite created: enrol the first admin with the invite in the file, which goes once it is used")
	return nil
}

// removeSpentBootstrap deletes the bootstrap invite's file in dir once its
// invite can no longer enrol anyone, and says so. It runs on start and
// after each enrolment (auth.Config.Enrolled). A failure is only logged:
// a used invite's code enrols no one, and neither the start nor the
// enrolment should fail for it.
func removeSpentBootstrap(ctx context.Context, dir string, st store.DirectoryStore, log zerolog.Logger) {
	removed, err := admin.RemoveSpentBootstrapInvite(ctx, st, dir)
	if removed {
		log.Info().Str("file", filepath.Join(dir, admin.BootstrapFile)).Msg("removed the bootstrap invite's file: its invite is used or expired")
	}
	if err != nil {
		log.Warn().Err(err).Msg("the bootstrap invite's file could not be checked or removed")
	}
}
