package main

import (
	"context"
	"testing"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// fakeClients answers ListClients with two clients, one not yet written.
type fakeClients struct{ fakeInvites }

func (f *fakeClients) ListClients(context.Context, *v1.ListClientsRequest) (*v1.ListClientsResponse, error) {
	return &v1.ListClientsResponse{Clients: []*v1.ClientSummary{
		{ClientId: "c-1", TeamId: "t-1", WorkerIds: []string{"w-1", "w-2"}, DisplayName: "Alex Smith", Status: "active"},
		{ClientId: "c-2", TeamId: "t-1"},
	}}, nil
}

// The clients listing names each client and says whether their case is open.
func TestClients(t *testing.T) {
	out, err := runCLI(t, &fakeClients{}, "clients")
	want := "client c-1 team t-1 workers w-1,w-2 name \"Alex Smith\" status active\n" +
		"client c-2 team t-1 workers  name \"\" status -\n"
	if err != nil || out != want {
		t.Fatalf("clients:\n got %q, %v\nwant %q", out, err, want)
	}
}
