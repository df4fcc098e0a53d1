package api

import (
	"connectrpc.com/connect"

	"github.com/throughcare/throughcare/syncproto/gen/throughcare/v1/throughcarev1connect"
)

// Response compression: which responses are compressed, by their size
// (for a client that accepts zstd or gzip). Chosen from
// BenchmarkCompressResponse (zstdwire's compressor, the server's):
//
//   - A push's response (a device_seq, verdict and position per change)
//     does not compress: zstd made it 14-15 bytes larger at 50, 200 and
//     1,000 changes (431 B, 1.9 kB, 10 kB), for CPU spent for nothing. It
//     is compressed only from 64 KiB, where rejections' messages (text)
//     might make up enough of it to pay.
//   - A pull page (and a live update) compresses from a single
//     peer-workload contact: 569 B to 427 B (-25%), 1.2 kB to 0.76 kB
//     (-36%), 119 kB to 27.5 kB for 200 contacts (-77%), at about 6 µs of
//     CPU for the smallest and 3 ns a byte. Tablets are on mobile links, so
//     every page of one contact or more is compressed: from 512 B (an empty
//     delta page, cursor and time, is a tenth of that).
//   - Everything else keeps 1 KiB.
const defaultCompressMinBytes = 1024

var compressMinBytes = map[string]int{
	throughcarev1connect.SyncServicePushProcedure:      64 << 10,
	throughcarev1connect.SyncServicePullProcedure:      512,
	throughcarev1connect.SyncServiceSubscribeProcedure: 512,
}

// compressionOption sets each procedure's compression threshold.
func compressionOption() connect.HandlerOption {
	return connect.WithHandlerOptions(
		connect.WithCompressMinBytes(defaultCompressMinBytes),
		connect.WithConditionalHandlerOptions(func(spec connect.Spec) []connect.HandlerOption {
			if n, ok := compressMinBytes[spec.Procedure]; ok {
				return []connect.HandlerOption{connect.WithCompressMinBytes(n)}
			}
			return nil
		}),
	)
}
