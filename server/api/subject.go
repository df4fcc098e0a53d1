package api

import (
	"context"
	"errors"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// The AdminService procedures of package subject: the subject access
// export and the area's retention.

// subjectChunkBytes is the most archive bytes one ExportSubject message
// carries.
const subjectChunkBytes = 256 << 10

func (h *adminHandler) ExportSubject(ctx context.Context, req *v1.ExportSubjectRequest, stream *connect.ServerStream[v1.ExportSubjectResponse]) error {
	id, err := caller(ctx)
	if err != nil {
		return err
	}
	if err := adminTooLong(adminBound{"client_id", req.GetClientId(), adminMaxIDBytes}); err != nil {
		return err
	}
	stream.ResponseHeader().Set("Cache-Control", "no-store")
	out := responseOf(ctx)
	w := &chunkWriter{send: func(b []byte) error {
		return out.during(ctx, func() error { return stream.Send(&v1.ExportSubjectResponse{Chunk: b}) })
	}}
	if err := h.subject.Export(ctx, id, req.GetClientId(), w); err != nil {
		return connectError(ctx, err)
	}
	return connectError(ctx, w.flush())
}

func (h *adminHandler) SetRetention(ctx context.Context, req *v1.SetRetentionRequest) (*v1.SetRetentionResponse, error) {
	id, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	d := req.GetRetention()
	if d != nil && d.CheckValid() != nil {
		return nil, connect.NewError(connect.CodeInvalidArgument, errors.New("retention is not a valid duration"))
	}
	r, err := h.subject.SetRetention(ctx, id, d.AsDuration(), req.GetUseDefault())
	if err != nil {
		return nil, connectError(ctx, err)
	}
	return &v1.SetRetentionResponse{Retention: durationpb.New(r.Period), RetentionSet: r.Own}, nil
}

// areaRetention fills a GetArea answer's retention (nothing if subject
// access is not served).
func (h *adminHandler) areaRetention(ctx context.Context, resp *v1.GetAreaResponse) error {
	if h.subject == nil {
		return nil
	}
	id, err := caller(ctx)
	if err != nil {
		return err
	}
	r, err := h.subject.AreaRetention(ctx, id)
	if err != nil {
		return connectError(ctx, err)
	}
	resp.Retention, resp.RetentionSet = durationpb.New(r.Period), r.Own
	return nil
}

// chunkWriter sends what is written to it in messages of up to
// subjectChunkBytes.
type chunkWriter struct {
	buf  []byte
	send func([]byte) error
}

func (w *chunkWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		k := min(len(p), subjectChunkBytes-len(w.buf))
		w.buf = append(w.buf, p[:k]...)
		p = p[k:]
		if len(w.buf) == subjectChunkBytes {
			if err := w.flush(); err != nil {
				return n - len(p), err
			}
		}
	}
	return n, nil
}

// flush sends what is buffered.
func (w *chunkWriter) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	err := w.send(w.buf)
	w.buf = nil
	return err
}
