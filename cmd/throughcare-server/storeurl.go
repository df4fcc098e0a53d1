package main

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// isPostgres says whether a --store value selects the PostgreSQL store.
func isPostgres(store string) bool {
	return strings.HasPrefix(store, "postgres://") || strings.HasPrefix(store, "postgresql://")
}

// pgURL is a --store postgres:// URL: the URL itself, only ever given to
// the driver, and what of it may be shown (logged, or put in an error).
type pgURL struct {
	raw string
	// shown keeps the scheme, host, port and database; never the user
	// name or a password, in the user info or a password= parameter.
	shown string
	// secrets are the passwords (as given and escaped), which scrub takes
	// out of the driver's errors.
	secrets []string
}

// errStoreURL is a --store value that is neither empty nor a PostgreSQL
// URL the server can read. Its message never holds the value.
var errStoreURL = errors.New("--store must be empty (the embedded store in --data) or a PostgreSQL URL such as postgres://throughcare@db.example.org:5432/throughcare")

// parsePGURL reads a postgres:// or postgresql:// URL. A value it cannot
// read is refused without echoing it: it may hold a password.
func parsePGURL(raw string) (pgURL, error) {
	if !isPostgres(raw) {
		return pgURL{}, errStoreURL
	}
	u, err := url.Parse(raw)
	if err != nil { // url's errors quote the whole URL: not shown
		return pgURL{}, fmt.Errorf("%w (this one is not a URL that can be read)", errStoreURL)
	}
	p := pgURL{raw: raw}
	if pw, ok := u.User.Password(); ok { // u.User may be nil: then none
		p.secrets = append(p.secrets, pw, url.QueryEscape(pw), url.PathEscape(pw))
	}
	q := u.Query()
	for _, pw := range q["password"] {
		p.secrets = append(p.secrets, pw, url.QueryEscape(pw))
	}
	shown := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}
	if hosts := q["host"]; len(hosts) > 0 { // a unix socket's directory, or hosts
		shown.RawQuery = url.Values{"host": hosts}.Encode()
	}
	p.shown = shown.String()
	return p, nil
}

// String is the URL as it may be shown.
func (p pgURL) String() string { return p.shown }

// scrub returns err with the URL (as a whole) and its passwords taken out of
// its message; errors.Is and errors.As still see what it wraps.
func (p pgURL) scrub(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	msg = strings.ReplaceAll(msg, p.raw, p.shown)
	for _, s := range p.secrets {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "xxxxx")
		}
	}
	return scrubbedError{msg: msg, err: err}
}

// scrubbedError is an error whose message has had secrets taken out.
type scrubbedError struct {
	msg string
	err error
}

func (e scrubbedError) Error() string { return e.msg }
func (e scrubbedError) Unwrap() error { return e.err }
