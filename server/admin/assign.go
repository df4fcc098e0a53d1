package admin

import (
	"context"

	"github.com/throughcare/throughcare/server/access"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/store"
)

// AssignClient assigns a client the caller reaches to a worker, opening an
// assignment period from now: the worker's devices receive the client's
// bucket on their next pull. The worker must be an enabled worker-role user
// of the client's team, for admins as for supervisors (access.Assignable). Assigning a worker
// who is already assigned changes nothing, so retries are harmless.
func (s *Service) AssignClient(ctx context.Context, id *identity.Identity, clientID, workerID string) error {
	changed := false
	err := s.directory(ctx, func(tx store.DirTx) error {
		changed = false
		sc, err := access.Resolve(tx, id, access.AssignClients)
		if err != nil {
			return err
		}
		c, err := sc.Client(tx, clientID)
		if err != nil {
			return err
		}
		w, err := sc.Member(tx, workerID, "worker_id")
		if err != nil {
			return err
		}
		if err := access.Assignable(w, c); err != nil {
			return err
		}
		periods, err := periodsOf(tx, c.ID, w.ID)
		if err != nil {
			return err
		}
		from := s.now()
		for _, p := range periods {
			if p.Open() {
				return nil // already assigned
			}
			// A new period starts after every earlier one (and never on the
			// same instant as one, which would overwrite it), even if the
			// clock stepped back.
			if !from.After(p.From) {
				from = p.From.Add(1)
			}
			if from.Before(p.To) {
				from = p.To
			}
		}
		changed = true
		if err := tx.PutAssignment(&store.Assignment{ClientID: c.ID, UserID: w.ID, From: from}); err != nil {
			return err
		}
		return s.changeAudit(ctx, tx, id, store.AuditAssignClient, c.ID, w.ID, "")
	})
	if err != nil {
		return err
	}
	if changed {
		s.sessions.CaseloadChanged(workerID)
		s.log.Info().Str("user_id", id.UserID).Str("client_id", clientID).Str("worker_id", workerID).Msg("client assigned")
	}
	return nil
}

// UnassignClient ends a worker's open assignment to a client the caller
// reaches (To: now): the worker's devices are told to evict the client's
// bucket on their next pull; work they stamped while assigned is still
// accepted, flagged as late. A worker who is not assigned is left alone, so
// retries are harmless.
func (s *Service) UnassignClient(ctx context.Context, id *identity.Identity, clientID, workerID string) error {
	changed := false
	err := s.directory(ctx, func(tx store.DirTx) error {
		changed = false
		sc, err := access.Resolve(tx, id, access.UnassignClients)
		if err != nil {
			return err
		}
		c, err := sc.Client(tx, clientID)
		if err != nil {
			return err
		}
		w, err := sc.Member(tx, workerID, "worker_id")
		if err != nil {
			return err
		}
		periods, err := periodsOf(tx, c.ID, w.ID)
		if err != nil {
			return err
		}
		for _, p := range periods {
			if !p.Open() {
				continue
			}
			p.To = s.now()
			if !p.To.After(p.From) {
				p.To = p.From.Add(1)
			}
			changed = true
			if err := tx.PutAssignment(p); err != nil {
				return err
			}
		}
		if !changed {
			return nil
		}
		return s.changeAudit(ctx, tx, id, store.AuditUnassignClient, c.ID, w.ID, "")
	})
	if err != nil {
		return err
	}
	if changed {
		s.sessions.CaseloadChanged(workerID)
		s.log.Info().Str("user_id", id.UserID).Str("client_id", clientID).Str("worker_id", workerID).Msg("client unassigned")
	}
	return nil
}

// periodsOf returns a worker's assignment periods for a client.
func periodsOf(tx store.DirTx, clientID, userID string) ([]*store.Assignment, error) {
	all, err := tx.AssignmentsOfClient(clientID)
	if err != nil {
		return nil, err
	}
	var out []*store.Assignment
	for _, a := range all {
		if a.UserID == userID {
			out = append(out, a)
		}
	}
	return out, nil
}
