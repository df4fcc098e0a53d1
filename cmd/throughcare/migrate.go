package main

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protojson"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// migrate moves the device of a profile written by a CLI that synced
// without the SDK (its session, the last change sequence number the server
// confirmed, the last stamp) into the device store, which holds it from
// then on, and drops it from the profile. The store is written durably
// first, so a run stopped in between finds the device in the store and only
// drops what the profile still holds. The old pull cursor goes: the store
// pulls everything once.
//
// caseload.Device.Adopt numbers the device's next changes past any mark the
// server can hold, so that even a profile whose sequence number is behind
// the server's (a push whose answer was lost) never sends a number the
// server already has: the server answers with its mark and the SDK
// renumbers after it.
func (c *cli) migrate() error {
	p := c.prof
	if len(p.SessionJSON) == 0 && p.Seq == 0 && len(p.Cursor) == 0 && p.LastStamp == 0 {
		return nil
	}
	if len(p.SessionJSON) > 0 && c.dev.DeviceID() == "" {
		s := &v1.Session{}
		if err := protojson.Unmarshal(p.SessionJSON, s); err != nil {
			return fmt.Errorf("profile %s: the session: %w", c.path, err)
		}
		if err := c.dev.Adopt(s, p.Seq, p.LastStamp); err != nil {
			return fmt.Errorf("moving the profile's device into its store: %w", err)
		}
	}
	p.SessionJSON, p.Seq, p.Cursor, p.LastStamp = nil, 0, nil, 0
	return c.save()
}
