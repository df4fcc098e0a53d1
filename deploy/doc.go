// Package deploy holds what it takes to run Throughcare in production, and
// checks it: the container image (Dockerfile), the systemd unit
// (systemd/), the environment file with every setting (throughcare.env),
// TLS proxies in front (proxy/), and the operator's guide (OPERATIONS.md).
// There is no Go code here but the tests, which check those files against
// the real binaries: the flags, the Dockerfile's build command and health
// check, systemd-analyze, nginx and caddy on the examples, and every
// command of OPERATIONS.md that can run on this machine.
package deploy
