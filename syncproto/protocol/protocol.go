// Package protocol is the sync protocol's version and the rules both sides
// share: the server checks every request's protocol_version against
// Version, and the SDK and the CLI send it.
package protocol

// Version is the sync protocol version: what a client sends in every
// PushRequest, PullRequest and SubscribeRequest, and the one the server
// speaks. A request with another version is refused.
const Version = 1
