package pgstore

import "github.com/throughcare/throughcare/server/store"

// ClientsWithAssignments implements store.DirTx: two queries, the area's
// clients by id and the assignment periods the area's users hold on them
// by client, user, start.
func (tx *dirTx) ClientsWithAssignments(area string) ([]*store.ClientAssignments, error) {
	cs, err := docs[store.Client](tx, "SELECT doc FROM clients WHERE area = $1 ORDER BY id", []byte(area))
	if err != nil {
		return nil, err
	}
	as, err := docs[store.Assignment](tx, `SELECT a.doc FROM assignments a JOIN clients c ON c.id = a.client JOIN users u ON u.id = a.user_id
		WHERE c.area = $1 AND u.area = $1 ORDER BY a.client, a.user_id, a.from_ns`, []byte(area))
	if err != nil {
		return nil, err
	}
	out := make([]*store.ClientAssignments, len(cs))
	byID := make(map[string]*store.ClientAssignments, len(cs))
	for i, c := range cs {
		out[i] = &store.ClientAssignments{Client: c}
		byID[c.ID] = out[i]
	}
	for _, a := range as {
		if ca := byID[a.ClientID]; ca != nil && a.Open() {
			ca.Open = append(ca.Open, a)
		}
	}
	return out, nil
}
