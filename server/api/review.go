package api

import (
	"context"
	"fmt"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	"github.com/throughcare/throughcare/server/review"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/gen/throughcare/v1/throughcarev1connect"
	"github.com/throughcare/throughcare/syncproto/schema"
)

// Bounds on ReviewService inputs, checked before the domain sees them (the
// domain applies the exact rules).
const (
	reviewMaxCategoryBytes = 64
	reviewMaxTokenBytes    = 128
	reviewMaxCommentBytes  = 4 * 4000 // review_note.text holds 4,000 characters
	reviewMaxValueBytes    = 64 << 10
)

// reviewHandler adapts package review to Connect.
type reviewHandler struct{ svc *review.Service }

var _ throughcarev1connect.ReviewServiceHandler = (*reviewHandler)(nil)

// NewReviewHandler serves ReviewService from a review.Service.
func NewReviewHandler(svc *review.Service) throughcarev1connect.ReviewServiceHandler {
	return &reviewHandler{svc: svc}
}

func reviewInvalid(format string, args ...any) error {
	return connect.NewError(connect.CodeInvalidArgument, fmt.Errorf(format, args...))
}

// reviewID is an id field of a request.
type reviewID struct {
	field, value string
	required     bool
}

// reviewIDs checks that each id, if set (or if required), is a lower-case
// UUID.
func reviewIDs(ids ...reviewID) error {
	for _, id := range ids {
		switch {
		case id.value == "" && id.required:
			return reviewInvalid("%s is required", id.field)
		case id.value != "" && !schema.ValidID(id.value):
			return reviewInvalid("%s must be a lower-case UUID", id.field)
		}
	}
	return nil
}

func (h *reviewHandler) ListContacts(ctx context.Context, req *v1.ListContactsRequest) (*v1.ListContactsResponse, error) {
	id, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	f := req.GetFilter()
	if err := reviewIDs(reviewID{"filter.worker_id", f.GetWorkerId(), false}, reviewID{"filter.client_id", f.GetClientId(), false},
		reviewID{"filter.team_id", f.GetTeamId(), false}); err != nil {
		return nil, err
	}
	switch {
	case len(f.GetCategory()) > reviewMaxCategoryBytes:
		return nil, reviewInvalid("filter.category is too long")
	case len(req.GetPageToken()) > reviewMaxTokenBytes:
		return nil, reviewInvalid("page_token is not a token this server issued")
	}
	resp, err := h.svc.ListContacts(ctx, id, req)
	if err != nil {
		return nil, connectError(ctx, err)
	}
	return resp, nil
}

func (h *reviewHandler) GetTimeline(ctx context.Context, req *v1.GetTimelineRequest) (*v1.GetTimelineResponse, error) {
	id, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := reviewIDs(reviewID{"client_id", req.GetClientId(), true}); err != nil {
		return nil, err
	}
	resp, err := h.svc.GetTimeline(ctx, id, req.GetClientId())
	if err != nil {
		return nil, connectError(ctx, err)
	}
	return resp, nil
}

func (h *reviewHandler) ReviewContact(ctx context.Context, req *v1.ReviewContactRequest) (*v1.ReviewContactResponse, error) {
	id, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := reviewIDs(reviewID{"client_id", req.GetClientId(), true}, reviewID{"contact_id", req.GetContactId(), true}); err != nil {
		return nil, err
	}
	if len(req.GetComment()) > reviewMaxCommentBytes {
		return nil, reviewInvalid("comment is too long (at most 4000 characters)")
	}
	noteID, err := h.svc.ReviewContact(ctx, id, req)
	if err != nil {
		return nil, connectError(ctx, err)
	}
	return &v1.ReviewContactResponse{ReviewNoteId: noteID}, nil
}

func (h *reviewHandler) ListConflicts(ctx context.Context, req *v1.ListConflictsRequest) (*v1.ListConflictsResponse, error) {
	id, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := reviewIDs(reviewID{"client_id", req.GetClientId(), false}); err != nil {
		return nil, err
	}
	resp, err := h.svc.ListConflicts(ctx, id, req.GetClientId())
	if err != nil {
		return nil, connectError(ctx, err)
	}
	return resp, nil
}

func (h *reviewHandler) ResolveConflict(ctx context.Context, req *v1.ResolveConflictRequest) (*v1.ResolveConflictResponse, error) {
	id, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := reviewIDs(reviewID{"client_id", req.GetClientId(), true}, reviewID{"record_id", req.GetRecordId(), true}); err != nil {
		return nil, err
	}
	var res review.Resolution
	switch r := req.GetResolution().(type) {
	case *v1.ResolveConflictRequest_Choice:
		res.Choice = r.Choice
	case *v1.ResolveConflictRequest_Value:
		if r.Value == nil {
			return nil, reviewInvalid("value is empty")
		}
		if proto.Size(r.Value) > reviewMaxValueBytes {
			return nil, reviewInvalid("value is too large")
		}
		res.Value = r.Value
	default:
		return nil, reviewInvalid("a resolution needs a choice or a value")
	}
	pos, err := h.svc.ResolveConflict(ctx, id, req.GetClientId(), req.GetRecordId(), req.GetConflictId(), res)
	if err != nil {
		return nil, connectError(ctx, err)
	}
	return &v1.ResolveConflictResponse{Position: pos}, nil
}

func (h *reviewHandler) GetStatistics(ctx context.Context, req *v1.GetStatisticsRequest) (*v1.GetStatisticsResponse, error) {
	id, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := reviewIDs(reviewID{"team_id", req.GetTeamId(), false}); err != nil {
		return nil, err
	}
	resp, err := h.svc.GetStatistics(ctx, id, req)
	if err != nil {
		return nil, connectError(ctx, err)
	}
	return resp, nil
}

func (h *reviewHandler) GetOutcomeMovement(ctx context.Context, req *v1.GetOutcomeMovementRequest) (*v1.GetOutcomeMovementResponse, error) {
	id, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := reviewIDs(reviewID{"team_id", req.GetTeamId(), false}); err != nil {
		return nil, err
	}
	resp, err := h.svc.GetOutcomeMovement(ctx, id, req)
	if err != nil {
		return nil, connectError(ctx, err)
	}
	return resp, nil
}

func (h *reviewHandler) GetCaseload(ctx context.Context, req *v1.GetCaseloadRequest) (*v1.GetCaseloadResponse, error) {
	id, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := reviewIDs(reviewID{"team_id", req.GetTeamId(), false}); err != nil {
		return nil, err
	}
	resp, err := h.svc.GetCaseload(ctx, id, req)
	if err != nil {
		return nil, connectError(ctx, err)
	}
	return resp, nil
}

func (h *reviewHandler) GetOrderReport(ctx context.Context, req *v1.GetOrderReportRequest) (*v1.GetOrderReportResponse, error) {
	id, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := reviewIDs(reviewID{"client_id", req.GetClientId(), true}, reviewID{"order_id", req.GetOrderId(), true}); err != nil {
		return nil, err
	}
	resp, err := h.svc.GetOrderReport(ctx, id, req)
	if err != nil {
		return nil, connectError(ctx, err)
	}
	return resp, nil
}

func (h *reviewHandler) ListTOPIssues(ctx context.Context, req *v1.ListTOPIssuesRequest) (*v1.ListTOPIssuesResponse, error) {
	id, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := reviewIDs(reviewID{"team_id", req.GetTeamId(), false}); err != nil {
		return nil, err
	}
	resp, err := h.svc.ListTOPIssues(ctx, id, req)
	if err != nil {
		return nil, connectError(ctx, err)
	}
	return resp, nil
}
