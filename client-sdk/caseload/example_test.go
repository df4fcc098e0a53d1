package caseload_test

// These examples are compiled with the tests but not run (they need a
// server); README.md quotes them in "SDK in five minutes".

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/throughcare/throughcare/client-sdk/caseload"
	"github.com/throughcare/throughcare/client-sdk/passkey/software"
)

// An app's day: open the device's store, enrol it once with a passkey,
// bring the caseload down, log a contact with no signal, then sync and show
// the user what the server refused and which edits clashed.
func Example() {
	ctx := context.Background()

	// The store's key is made once and kept in the platform's key store
	// (Android Keystore, iOS Keychain), never beside the data.
	key := make([]byte, 32)
	rand.Read(key)
	dev, err := caseload.Open(caseload.Config{
		Dir:    "/data/throughcare",
		Key:    key,
		Server: "https://throughcare.example.org",
	})
	if err != nil {
		log.Fatal(err)
	}
	defer dev.Close()

	// First run: redeem the invite with a new passkey. An app passes the
	// platform's authenticator; software.Key is for tests and demos.
	authn := software.New("https://throughcare.example.org")
	if dev.DeviceID() == "" {
		if err := dev.Enrol(ctx, authn, "tci_…", "Outreach tablet 3"); err != nil {
			log.Fatal(err)
		}
	}
	if _, err := dev.Sync(ctx); err != nil {
		log.Print("offline for now: ", err) // the device works without the server
	}
	clients, err := dev.Clients(ctx)
	if err != nil || len(clients) == 0 {
		log.Fatal("no caseload yet: ", err)
	}

	// No signal: the contact is on disk and on screen as soon as this returns.
	id, err := dev.LogContact(ctx, clients[0].ID, caseload.Contact{
		OccurredAt:         time.Now(),
		Category:           "housing",
		Mode:               "home_visit",
		Outcome:            "Viewed a flat with the housing officer",
		HousingStatusAfter: "temporary_accommodation",
	})
	if err != nil {
		log.Fatal(err) // ErrInvalid says which field is wrong, never what was typed
	}
	fmt.Println("logged", id, "- changes waiting to sync:", dev.Status().Pending)

	// Back in signal.
	rep, err := dev.Sync(ctx)
	if errors.Is(err, caseload.ErrSignInRequired) {
		// The session is over. Unsynced work is kept: sign in, sync again.
		if err = dev.SignIn(ctx, authn); err == nil {
			rep, err = dev.Sync(ctx)
		}
	}
	if err != nil {
		log.Print("sync failed, will retry: ", err)
	}
	fmt.Printf("sent %d, refused %d, pulled %d\n", rep.Accepted, rep.Rejected, rep.Pulled)

	// A refused change is kept with its reason until the user has seen it.
	rejections, _ := dev.Rejections(ctx)
	for _, r := range rejections {
		fmt.Printf("not saved: %s %s (%s): %s\n", r.RecordType, r.Field, r.Reason, r.Message)
		if err := dev.Dismiss(ctx, r.Seq); err != nil { // shown: forget it
			log.Print(err)
		}
	}
	// Two devices edited one field: both values are kept for review.
	conflicts, _ := dev.Conflicts(ctx)
	for _, c := range conflicts {
		fmt.Printf("%s %s: %q (%s) or %q (%s)?\n", c.RecordType, c.Field,
			c.Current.Value, c.Current.UserID, c.Incoming.Value, c.Incoming.UserID)
	}
}

// Live mode: Run keeps the device in sync in the background (following the
// server's stream while online, retrying with backoff while not), and Watch
// tells the UI what changed.
func ExampleDevice_Run() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	key := make([]byte, 32) // from the platform's key store
	dev, err := caseload.Open(caseload.Config{Dir: "/data/throughcare", Key: key, Server: "https://throughcare.example.org"})
	if err != nil {
		log.Fatal(err)
	}
	defer dev.Close()

	ready, take, stop := dev.Watch()
	defer stop()
	go func() {
		for range ready { // closed by stop or dev.Close
			for _, ev := range take() {
				switch ev.Kind {
				case caseload.LocalWrite, caseload.Pulled, caseload.Evicted:
					fmt.Println(ev.Kind, "- redraw clients", ev.ClientIDs)
				case caseload.Pushed, caseload.StatusChanged, caseload.Reset:
					st := dev.Status()
					fmt.Printf("pending %d, refused %d, last sync %s\n", st.Pending, st.Rejected, st.LastSync.Format(time.Kitchen))
				}
			}
		}
	}()

	err = dev.Run(ctx, caseload.RunOptions{
		Live:    true,
		OnError: func(err error) { log.Print("sync: ", err) }, // no personal data in these
	})
	if errors.Is(err, caseload.ErrSignInRequired) {
		fmt.Println("please sign in again; nothing on this tablet is lost")
	}
}
