package syncengine

import (
	"context"
	"slices"
	"sync"

	"github.com/throughcare/throughcare/server/errkind"
	"github.com/throughcare/throughcare/server/identity"
)

// streamCaps bounds the Subscribe streams open at once for each device and
// each user.
//
// A device over its cap closes its oldest stream to make room: a tablet
// that reconnects after its network dropped usually still has the dead
// stream open on the server (a half-open connection lasts until a write to
// it fails), and the new stream must not be refused because of it. A user
// over their cap (streams from several devices) is refused, so devices of
// one user never take turns closing each other's streams.
type streamCaps struct {
	perDevice, perUser int

	mu      sync.Mutex
	devices map[string][]*openStream // oldest first
	users   map[string]int
}

// openStream is one counted stream; stop ends it with a cause.
type openStream struct {
	device, user string
	stop         context.CancelCauseFunc
}

func newStreamCaps(perDevice, perUser int) *streamCaps {
	return &streamCaps{perDevice: perDevice, perUser: perUser, devices: map[string][]*openStream{}, users: map[string]int{}}
}

// open counts a new stream of the caller, whose stop ends it, closing the
// device's oldest stream if the device is at its cap. It returns a
// function that uncounts the stream, or an errkind.Exhausted error if the
// user is at their cap.
func (c *streamCaps) open(id *identity.Identity, stop context.CancelCauseFunc) (func(), error) {
	s := &openStream{device: id.UserID + "\x00" + id.DeviceID, user: id.UserID, stop: stop}
	c.mu.Lock()
	defer c.mu.Unlock()
	mine := c.devices[s.device]
	replace := len(mine) >= c.perDevice
	users := c.users[s.user]
	if replace {
		users--
	}
	if users >= c.perUser {
		return nil, errkind.E(errkind.Exhausted,
			"too many live streams for this user (at most %d at once, across their devices); close the app on another device, or try again later", c.perUser)
	}
	if replace {
		oldest := mine[0]
		c.remove(oldest)
		oldest.stop(errkind.E(errkind.Exhausted,
			"stream closed: this device opened a newer stream (at most %d per device)", c.perDevice))
	}
	c.devices[s.device] = append(c.devices[s.device], s)
	c.users[s.user]++
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.remove(s)
	}, nil
}

// remove uncounts s if it is still counted. c.mu is held.
func (c *streamCaps) remove(s *openStream) {
	mine := c.devices[s.device]
	i := slices.Index(mine, s)
	if i < 0 {
		return
	}
	if mine = slices.Delete(mine, i, i+1); len(mine) == 0 {
		delete(c.devices, s.device)
	} else {
		c.devices[s.device] = mine
	}
	if c.users[s.user]--; c.users[s.user] == 0 {
		delete(c.users, s.user)
	}
}

// count returns the streams open.
func (c *streamCaps) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, mine := range c.devices {
		n += len(mine)
	}
	return n
}

// OpenStreams returns the Subscribe streams open now.
func (e *Engine) OpenStreams() int { return e.streams.count() }
