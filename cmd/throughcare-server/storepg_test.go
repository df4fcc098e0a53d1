package main

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/throughcare/throughcare/server/pgstore/pgtest"
)

// Neither the log nor the error of a start on PostgreSQL shows the
// password, whether the database is unreachable or answers; and audit
// verify --store checks the database's chains.
func TestPostgresPasswordNeverLogged(t *testing.T) {
	cluster := pgtest.Start(t)
	reachable := cluster.Database(t, "pw") // trusts the socket: the password is ignored
	reachable = strings.Replace(reachable, "postgres@", "postgres:n0t-sh0wn-1@", 1) + "&password=n0t-sh0wn-2"
	for _, url := range []string{
		"postgres://tc:n0t-sh0wn-1@127.0.0.1:1/tc?password=n0t-sh0wn-2&connect_timeout=5", // refused
		reachable,
	} {
		cfg, err := parseConfig([]string{"--listen", "127.0.0.1:0", "--data", filepath.Join(t.TempDir(), "data"), "--store", url}, func(string) string { return "" }, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		logs := newLogBuffer()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- serve(ctx, cfg, zerolog.New(logs), io.Discard, nil) }()
		if url == reachable {
			logs.waitFor(t, "listening", "addr")
		}
		cancel()
		err = <-done
		if url == reachable && err != nil {
			t.Errorf("a start on a reachable database: %v", err)
		}
		if url == reachable && !strings.Contains(logs.String(), `"not_applicable":["online backup`) {
			t.Errorf("no line says what does not apply to a PostgreSQL store: %s", logs)
		}
		if url != reachable && err == nil {
			t.Errorf("a start on an unreachable database succeeded")
		}
		for _, secret := range []string{"n0t-sh0wn-1", "n0t-sh0wn-2"} {
			if strings.Contains(logs.String(), secret) || err != nil && strings.Contains(err.Error(), secret) {
				t.Errorf("the password %s is shown: log %s, error %v", secret, logs, err)
			}
		}
		if !strings.Contains(logs.String(), "opening the PostgreSQL store") {
			t.Errorf("no line says which PostgreSQL store is opened: %s", logs)
		}
	}

	// audit verify --store checks the chains the bootstrap started.
	var out strings.Builder
	if err := run(context.Background(), []string{"audit", "verify", "--store", reachable}, func(string) string { return "" }, &out); err != nil {
		t.Fatalf("audit verify --store: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "1 entries, whole") {
		t.Errorf("audit verify --store says %q, want the bootstrap area's chain, whole", out.String())
	}
	if strings.Contains(out.String(), "n0t-sh0wn") {
		t.Errorf("audit verify shows the password: %q", out.String())
	}
}
