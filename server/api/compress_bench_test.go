package api_test

import (
	"bytes"
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"google.golang.org/protobuf/proto"

	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/servertest"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/protocol"
	"github.com/throughcare/throughcare/syncproto/sample"
	"github.com/throughcare/throughcare/syncproto/sample/peer"
	"github.com/throughcare/throughcare/syncproto/zstdwire"
)

// BenchmarkCompressResponse: what zstd costs and saves on the responses of
// a reconnect, as the server sends them (zstdwire's compressor, reused as
// connect-go's pool reuses it: Reset, one Write, Close): a push's response
// (50 changes) and pull pages of 1 to 200 peer-workload contacts. Each
// reports the message's size, its size compressed and the bytes saved;
// ns/op is the server's CPU per response. "encodeall" compresses the same
// message in one call (zstd's EncodeAll, no streaming state), for
// comparison. api.compressMinBytes is chosen from these figures.
func BenchmarkCompressResponse(b *testing.B) {
	msgs := benchReconnectResponses(b)
	for _, m := range msgs {
		raw, err := proto.Marshal(m.msg)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(m.name+"/stream", func(b *testing.B) {
			c := zstdwire.NewCompressor()
			var dst bytes.Buffer
			cpu := benchCPU()
			for b.Loop() {
				dst.Reset()
				c.Reset(&dst)
				if _, err := c.Write(raw); err != nil {
					b.Fatal(err)
				}
				if err := c.Close(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(benchCPU()-cpu)/float64(b.N), "cpu-ns/op")
			benchReportSizes(b, len(raw), dst.Len())
		})
		b.Run(m.name+"/encodeall", func(b *testing.B) {
			e, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(4<<20))
			if err != nil {
				b.Fatal(err)
			}
			var out []byte
			cpu := benchCPU()
			for b.Loop() {
				out = e.EncodeAll(raw, out[:0])
			}
			b.ReportMetric(float64(benchCPU()-cpu)/float64(b.N), "cpu-ns/op")
			benchReportSizes(b, len(raw), len(out))
		})
	}
}

// benchCPU is the CPU this process has used, in nanoseconds (the machine
// is shared: CPU time moves less than ns/op with the others' load).
func benchCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

func benchReportSizes(b *testing.B, raw, compressed int) {
	b.ReportMetric(float64(raw), "raw-B")
	b.ReportMetric(float64(compressed), "zstd-B")
	b.ReportMetric(float64(raw-compressed), "saved-B")
}

type benchResponse struct {
	name string
	msg  proto.Message
}

// benchReconnectResponses pushes 200 peer-workload contacts to a client
// and returns a push's response and the first pull pages of 1 to 200
// records, as the engine gives them.
func benchReconnectResponses(b *testing.B) []benchResponse {
	ctx := context.Background()
	env := servertest.New(b, servertest.Options{Dir: b.TempDir()})
	office := sample.NewDevice("office", time.Now, 99)
	id := identity.Identity{Area: "bench-area", UserID: "office", DeviceID: office.ID, Role: identity.Admin}
	clientID, seed := office.NewClient("Lambeth")
	id.Buckets = []string{clientID}
	benchOfficePush(b, env.Engine, &id, seed)
	g := peer.New(7)
	var chs []*v1.Change
	for range 300 {
		ct := g.NextContact()
		chs = append(chs, office.Record("contact", ct.ID, clientID, ct.Fields("office"))...)
	}
	var out []benchResponse
	for _, size := range []int{50, 200, 1000, len(chs)} {
		k := 0
		for k < len(chs) && (k < size || chs[k].GetRecordId() == chs[k-1].GetRecordId()) {
			k++
		}
		if k == 0 {
			break
		}
		resp, err := env.Engine.Push(ctx, &id, &v1.PushRequest{ProtocolVersion: protocol.Version, SchemaVersion: benchSchemaVersion, Changes: chs[:k]})
		if err != nil {
			b.Fatal(err)
		}
		if size < len(chs) {
			out = append(out, benchResponse{fmt.Sprintf("push-%d-changes", k), resp})
		}
		chs = chs[k:]
	}
	for _, limit := range []int{1, 2, 4, 8, 25, 200} {
		resp, err := env.Engine.Pull(ctx, &id, &v1.PullRequest{ProtocolVersion: protocol.Version, SchemaVersion: benchSchemaVersion, Limit: uint32(limit)})
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, benchResponse{fmt.Sprintf("pull-%d-records", limit), resp})
	}
	return out
}
