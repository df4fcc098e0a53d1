// Command oldtablet is a tablet app built against the client SDK as it
// stood before schema version 2 (appointments). The oldsdk test copies it
// into that old tree and builds it there, so it uses only that SDK's API.
//
// Each run opens the device's store in -dir, enrols it with -invite (first
// run only), optionally syncs and logs a contact with -client, syncs, and prints what
// the device holds (its clients' consent and risk flags, their contacts) as one JSON object on stdout. Any error exits 1.
package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/throughcare/throughcare/client-sdk/caseload"
	"github.com/throughcare/throughcare/client-sdk/passkey/software"
)

type contact struct {
	ID, ClientID, Author, Category string
	Pending                        bool
}

// clientFlags is what the old SDK reads of a client: the flags newer tablets
// derive from consent and risk records.
type clientFlags struct {
	ID                              string
	ConsentToShare, ConsentRecorded bool
	RiskFlags                       []string
}

type report struct {
	UserID, DeviceID string
	Logged           string
	First, Sync      caseload.SyncReport
	Clients          int
	Client           []clientFlags
	Contacts         []contact
}

func main() {
	dir := flag.String("dir", "", "the device's store")
	key := flag.String("key", "", "the store's key, hex")
	server := flag.String("server", "", "the server's base URL")
	origin := flag.String("origin", "", "the passkey origin")
	invite := flag.String("invite", "", "an invite code to enrol with")
	client := flag.String("client", "", "log a contact with this client")
	flag.Parse()
	if err := run(*dir, *key, *server, *origin, *invite, *client); err != nil {
		fmt.Fprintln(os.Stderr, "oldtablet:", err)
		os.Exit(1)
	}
}

func run(dir, hexKey, server, origin, invite, client string) error {
	ctx := context.Background()
	k, err := hex.DecodeString(hexKey)
	if err != nil {
		return fmt.Errorf("key: %w", err)
	}
	d, err := caseload.Open(caseload.Config{Dir: dir, Key: k, Server: server})
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	defer d.Close()
	if invite != "" {
		if err := d.Enrol(ctx, software.New(origin), invite, "Old tablet"); err != nil {
			return fmt.Errorf("enrol: %w", err)
		}
	}
	var r report
	if client != "" {
		// Pull first, as an app does before its user opens the client.
		if r.First, err = d.Sync(ctx); err != nil {
			return fmt.Errorf("sync: %w", err)
		}
		r.Logged, err = d.LogContact(ctx, client, caseload.Contact{OccurredAt: time.Now().Add(-time.Hour).Truncate(time.Second),
			Category: "housing", Mode: "home_visit", HousingStatusAfter: "hostel"})
		if err != nil {
			return fmt.Errorf("log contact: %w", err)
		}
	}
	if r.Sync, err = d.Sync(ctx); err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	clients, err := d.Clients(ctx)
	if err != nil {
		return fmt.Errorf("clients: %w", err)
	}
	r.UserID, r.DeviceID, r.Clients = d.UserID(), d.DeviceID(), len(clients)
	for _, c := range clients {
		r.Client = append(r.Client, clientFlags{ID: c.ID, ConsentToShare: c.ConsentToShare, ConsentRecorded: c.ConsentRecorded, RiskFlags: c.RiskFlags})
		tl, err := d.Timeline(ctx, c.ID)
		if err != nil {
			return fmt.Errorf("timeline: %w", err)
		}
		for _, x := range tl.Contacts {
			r.Contacts = append(r.Contacts, contact{ID: x.ID, ClientID: x.ClientID, Author: x.Author, Category: x.Category, Pending: x.Pending})
		}
	}
	return json.NewEncoder(os.Stdout).Encode(r)
}
