package access

import (
	"errors"

	"github.com/throughcare/throughcare/server/errkind"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/store"
)

// OrderReportClient returns the client whose court order report the
// caller asks for (ReadOrderReports), or NotFound: a supervisor or admin
// reaches the clients in their reach (Reach.Client); a worker only the
// clients they are assigned to now (an open assignment), as their
// caseload. r is the caller's Reach from Resolve in the same transaction.
func OrderReportClient(tx store.DirTx, r *Reach, id *identity.Identity, clientID string) (*store.Client, error) {
	if id.Role != identity.Worker {
		return r.Client(tx, clientID)
	}
	if clientID == "" {
		return nil, errkind.E(errkind.Invalid, "client_id is required")
	}
	c, err := tx.Client(clientID)
	if errors.Is(err, store.ErrNotFound) || err == nil && c.AreaID != r.area {
		return nil, errClientNotFound
	}
	if err != nil {
		return nil, err
	}
	as, err := tx.AssignmentsOfUser(id.UserID)
	if err != nil {
		return nil, err
	}
	for _, a := range as {
		if a.ClientID == clientID && a.Open() {
			return c, nil
		}
	}
	return nil, errClientNotFound
}
