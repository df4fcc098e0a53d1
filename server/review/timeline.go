package review

import (
	"context"
	"errors"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/throughcare/throughcare/server/access"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/store"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/merge"
)

// GetTimeline returns every record of a client in reach (the client record
// first, then by record id), each in its current compacted state with
// every accepted change to it, oldest first, and the names of the people
// who appear in them (authors of fields, changes and conflicting values,
// and contacts' authors), with the client's TOP change from start. A
// client out of reach is NotFound.
func (s *Service) GetTimeline(ctx context.Context, id *identity.Identity, clientID string) (*v1.GetTimelineResponse, error) {
	sc, err := s.resolve(ctx, id, access.ReadTimelines, "")
	if err != nil {
		return nil, err
	}
	c, err := sc.client(clientID)
	if err != nil {
		return nil, err
	}
	var records []*v1.TimelineRecord
	byID := map[string]*v1.TimelineRecord{}
	err = s.st.ScanRecords(ctx, []string{c.id}, func(_ string, b []byte) error {
		st := &v1.RecordState{}
		if err := proto.Unmarshal(b, st); err != nil {
			return err
		}
		tr := &v1.TimelineRecord{Record: st}
		records = append(records, tr)
		byID[st.GetRecordId()] = tr
		return nil
	})
	if err != nil {
		return nil, storeErr(err)
	}
	log, err := s.st.Log(ctx, c.id)
	if err != nil {
		return nil, storeErr(err)
	}
	users := map[string]bool{}
	devices := map[string]bool{}
	for _, e := range log {
		if tr := byID[e.GetRecordId()]; tr != nil {
			tr.History = append(tr.History, e)
		}
		users[e.GetAuthor().GetUserId()] = true
		devices[e.GetAuthor().GetDeviceId()] = true
	}
	for _, tr := range records {
		st := tr.GetRecord()
		users[st.GetAuthor().GetUserId()] = true
		for _, f := range st.GetFields() {
			users[f.GetAuthor().GetUserId()] = true
		}
		if st.GetRecordType() == "contact" {
			users[merge.Field(st, "author").GetValue().GetStringValue()] = true
		}
		for _, cf := range st.GetConflicts() {
			users[cf.GetCurrent().GetAuthor().GetUserId()] = true
			users[cf.GetIncoming().GetAuthor().GetUserId()] = true
		}
	}
	slices.SortFunc(records, func(a, b *v1.TimelineRecord) int {
		ac, bc := a.GetRecord().GetRecordId() == c.id, b.GetRecord().GetRecordId() == c.id
		switch {
		case ac && !bc:
			return -1
		case bc && !ac:
			return 1
		}
		return strings.Compare(a.GetRecord().GetRecordId(), b.GetRecord().GetRecordId())
	})
	names, err := s.names(ctx, id.Area, users)
	if err != nil {
		return nil, err
	}
	s.log.Debug().Str("user_id", id.UserID).Str("client_id", c.id).Int("records", len(records)).Msg("timeline read")
	if err := s.auditView(ctx, id, store.AuditViewTimeline, []string{c.id}, "", len(records)); err != nil {
		return nil, err
	}
	devs, err := s.deviceNames(ctx, names, devices)
	if err != nil {
		return nil, err
	}
	resp := &v1.GetTimelineResponse{Records: records, People: people(names), Devices: devs}
	timelineTOPChange(resp, records)
	return resp, nil
}

// deviceNames names the devices among ids whose users are among names
// (people of the caller's area), sorted by id; the server's changes come
// from "Server".
func (s *Service) deviceNames(ctx context.Context, names map[string]string, ids map[string]bool) ([]*v1.DeviceName, error) {
	var out []*v1.DeviceName
	err := s.view(ctx, func(tx store.DirTx) error {
		out = out[:0]
		for did := range ids {
			if did == ServerDevice {
				out = append(out, &v1.DeviceName{DeviceId: did, Name: "Server"})
				continue
			}
			if did == "" {
				continue
			}
			d, err := tx.Device(did)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if _, ok := names[d.UserID]; ok && d.Name != "" {
				out = append(out, &v1.DeviceName{DeviceId: did, Name: d.Name})
			}
		}
		return nil
	})
	slices.SortFunc(out, func(a, b *v1.DeviceName) int { return strings.Compare(a.DeviceId, b.DeviceId) })
	return out, err
}
