package api

import (
	"context"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/throughcare/throughcare/server/backup"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// StreamBackup streams a sealed backup file of the live store (see
// backup.Service.Take); the last message carries the summary.
func (h *adminHandler) StreamBackup(ctx context.Context, req *v1.StreamBackupRequest, stream *connect.ServerStream[v1.StreamBackupResponse]) error {
	id, err := caller(ctx)
	if err != nil {
		return err
	}
	sum, err := h.backups.Take(ctx, id, req.GetSince(), func(data []byte, p backup.Progress) error {
		return stream.Send(&v1.StreamBackupResponse{Data: data, BytesSent: uint64(p.Bytes), Records: p.Records})
	})
	if err != nil {
		return connectError(ctx, err)
	}
	return stream.Send(&v1.StreamBackupResponse{BytesSent: uint64(sum.Bytes), Records: sum.Records, Summary: &v1.BackupSummary{
		StoreId: sum.StoreID, Since: sum.Since, Until: sum.Until, Records: sum.Records, Bytes: uint64(sum.Bytes),
		Sha256: sum.Sum[:], KeyFingerprint: sum.KeyFingerprint, CreatedAt: timestamppb.New(sum.CreatedAt),
	}})
}
