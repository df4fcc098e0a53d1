package access

import (
	"testing"

	"github.com/throughcare/throughcare/server/errkind"
)

func TestOperator(t *testing.T) {
	const server = 1000
	for _, tc := range []struct {
		name string
		peer int
		want errkind.Kind // 0: allowed
	}{
		{"the server's own user", server, 0},
		{"root", 0, 0},
		{"another user", 1001, errkind.Forbidden},
		{"nobody", 65534, errkind.Forbidden},
		{"unknown peer", -1, errkind.Forbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Operator(tc.peer, server)
			got := errkind.Kind(0)
			if err != nil {
				got = errkind.Of(err)
			}
			if got != tc.want {
				t.Errorf("Operator(%d, %d) = %v, want kind %v", tc.peer, server, err, tc.want)
			}
		})
	}
	// The server's own user being root admits root only once, not "anyone".
	if err := Operator(1001, 0); err == nil {
		t.Error("a server running as root admitted another user")
	}
}
