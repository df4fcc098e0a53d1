package software

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/go-webauthn/webauthn/protocol"
)

const createOptions = `{"publicKey":{"rp":{"name":"Throughcare","id":"throughcare.test"},"user":{"name":"u","displayName":"U","id":"dXNlci1oYW5kbGUtMQ"},"challenge":"Y2hhbGxlbmdlLWNoYWxsZW5nZS0x","pubKeyCredParams":[{"type":"public-key","alg":-7}],"authenticatorSelection":{"residentKey":"required","userVerification":"required"}}}`

const getOptions = `{"publicKey":{"challenge":"Y2hhbGxlbmdlLWNoYWxsZW5nZS0y","rpId":"throughcare.test","userVerification":"required"}}`

// A software passkey survives being saved and loaded, signs for the
// relying party and user it was made for, and counts signatures only when
// it is device-bound.
func TestSoftwareRoundTripAndCounters(t *testing.T) {
	for _, synced := range []bool{false, true} {
		key := New("https://throughcare.test")
		key.Synced = synced
		att, err := key.Create(context.Background(), createOptions)
		if err != nil {
			t.Fatal(err)
		}
		created, err := protocol.ParseCredentialCreationResponseBytes([]byte(att))
		if err != nil {
			t.Fatalf("attestation does not parse: %v", err)
		}
		if got := created.Response.AttestationObject.AuthData.Flags.HasBackupEligible(); got != synced {
			t.Errorf("synced=%v: backup eligible = %v", synced, got)
		}
		if _, err := key.Create(context.Background(), createOptions); err == nil {
			t.Error("a second Create on one software passkey worked")
		}

		saved, err := json.Marshal(key)
		if err != nil {
			t.Fatal(err)
		}
		var loaded Key
		if err := json.Unmarshal(saved, &loaded); err != nil {
			t.Fatal(err)
		}
		var counts []uint32
		for range 2 {
			as, err := loaded.Get(context.Background(), getOptions)
			if err != nil {
				t.Fatal(err)
			}
			parsed, err := protocol.ParseCredentialRequestResponseBytes([]byte(as))
			if err != nil {
				t.Fatalf("assertion does not parse: %v", err)
			}
			if parsed.ID != created.ID {
				t.Errorf("assertion by credential %s, want %s", parsed.ID, created.ID)
			}
			if string(parsed.Response.UserHandle) != "user-handle-1" {
				t.Errorf("user handle = %q", parsed.Response.UserHandle)
			}
			if !parsed.Response.AuthenticatorData.Flags.HasUserVerified() {
				t.Error("user verification flag not set")
			}
			counts = append(counts, parsed.Response.AuthenticatorData.Counter)
		}
		want := []uint32{1, 2}
		if synced {
			want = []uint32{0, 0}
		}
		if counts[0] != want[0] || counts[1] != want[1] {
			t.Errorf("synced=%v: sign counts %v, want %v", synced, counts, want)
		}
	}
}

func TestSoftwareWithoutPasskeyRefusesToSign(t *testing.T) {
	if _, err := New("https://throughcare.test").Get(context.Background(), getOptions); err == nil {
		t.Fatal("signed with no passkey")
	}
	if _, err := New("https://throughcare.test").Get(context.Background(), "{not json"); err == nil {
		t.Fatal("accepted malformed options")
	}
}
