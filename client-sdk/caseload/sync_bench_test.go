package caseload

import (
	"bufio"
	"bytes"
	"flag"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/merge"
	"github.com/throughcare/throughcare/syncproto/sample/peer"
)

var syncRecords = flag.Int("sync-records", 100_000, "peer-workload contacts BenchmarkFullSyncApply pulls")

// A first sync of the peers' workload (issue 16), the tablet's side only:
// pages of up to 2 MiB of compacted contacts, as the server sends them,
// parsed and applied (applyPage) to a fresh encrypted store on disk. The
// pages are made between pages, off the clock. It reports the records'
// bytes, the CPU time spent applying them (the process's, so Badger's
// flushes and compactions too), the process's peak RSS (VmHWM: run one
// iteration in a fresh process, -benchtime=1x, for it to be this sync's)
// and RssAnon beside RssFile at the end, and the Go heap's peak (sampled).
//
//	go test ./client-sdk/caseload -run '^$' -bench FullSyncApply -benchtime 1x [-sync-records 1000000]
func BenchmarkFullSyncApply(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		d := freshTablet(b)
		pages := newPeerPages(*syncRecords, 2<<20)
		peak := sampleHeapPeak()
		var (
			rep SyncReport
			cpu time.Duration
		)
		for {
			buf, more := pages.next()
			p, err := parsePage(buf)
			if err != nil {
				b.Fatal(err)
			}
			c0 := cpuTime(b)
			b.StartTimer()
			if err := d.applyPage(p, &rep); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			cpu += cpuTime(b) - c0
			if !more {
				break
			}
		}
		b.ReportMetric(float64(peak())/(1<<20), "peak-heap-MB")
		b.ReportMetric(cpu.Seconds(), "cpu-s")
		if rep.Pulled != *syncRecords+peer.Clients {
			b.Fatalf("pulled %d records, want %d", rep.Pulled, *syncRecords+peer.Clients)
		}
		b.ReportMetric(float64(pages.bytes)/(1<<20), "records-MB")
		for _, f := range []string{"VmHWM", "RssAnon", "RssFile"} {
			b.ReportMetric(float64(procStatus(b, f))/(1<<10), f+"-MB")
		}
		if err := d.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer() // b.Loop wants it running
	}
}

// freshTablet opens an enrolled device on disk, as a tablet's.
func freshTablet(b *testing.B) *Device {
	d, err := Open(Config{Dir: b.TempDir(), Key: testKey(b), Server: noServer, MinFreeBytes: 1})
	if err != nil {
		b.Fatal(err)
	}
	enrol(b, d)
	return d
}

// peerPages makes encoded pull pages of the peers' workload: the
// workload's clients first, then its contacts compacted as the server
// holds them, grouped by client within a page of at most max bytes.
type peerPages struct {
	gen          *peer.Generator
	left, max    int
	clients      []string
	bytes        int64
	seq, cursors uint64
}

func newPeerPages(records, max int) *peerPages {
	g := peer.New(peer.DefaultSeed)
	return &peerPages{gen: g, left: records, max: max, clients: g.Clients}
}

var pageAuthor = &v1.Author{UserId: "0190a0b0-0000-7000-8000-00000000cafe", DeviceId: otherReplica}

// next returns the next page and whether another follows it.
func (pp *peerPages) next() ([]byte, bool) {
	resp := &v1.PullResponse{ServerTime: nil}
	byClient := map[string]*v1.BucketUpdate{}
	size := 0
	if pp.clients != nil {
		for _, c := range pp.clients {
			r := clientRecord(c, pp.stamp(), pageAuthor, field("given_name", String("Client")))
			resp.Buckets = append(resp.Buckets, &v1.BucketUpdate{ClientId: c, Action: v1.BucketAction_BUCKET_ACTION_SNAPSHOT, Records: []*v1.RecordState{r}})
			pp.bytes += int64(proto.Size(r))
		}
		pp.clients = nil
	}
	for pp.left > 0 && size < pp.max-4096 {
		ct := pp.gen.NextContact()
		r := &v1.RecordState{}
		stamp := pp.stamp()
		for _, f := range ct.Fields(pageAuthor.UserId) {
			merge.Apply(r, &v1.Change{RecordId: ct.ID, RecordType: "contact", ClientId: ct.ClientID, Field: f.Name, Value: f.Value, Stamp: stamp}, pageAuthor, 0, time.Time{})
		}
		r.RecordId = ct.ID
		r = merge.Compact(r)
		r.Position = pp.seq
		bu := byClient[ct.ClientID]
		if bu == nil {
			bu = &v1.BucketUpdate{ClientId: ct.ClientID, Action: v1.BucketAction_BUCKET_ACTION_DELTA}
			byClient[ct.ClientID] = bu
			resp.Buckets = append(resp.Buckets, bu)
		}
		bu.Records = append(bu.Records, r)
		n := proto.Size(r)
		size += n + 8
		pp.bytes += int64(n)
		pp.left--
	}
	pp.cursors++
	resp.Cursor = strconv.AppendUint([]byte("cursor-"), pp.cursors, 10)
	resp.HasMore = pp.left > 0
	buf, err := proto.Marshal(resp)
	if err != nil {
		panic(err)
	}
	return buf, resp.HasMore
}

func (pp *peerPages) stamp() *v1.Stamp {
	pp.seq++
	return stampAt(time.UnixMilli(1_760_000_000_000+int64(pp.seq)), otherReplica)
}

// sampleHeapPeak samples the Go heap's objects every 5 ms; the function it
// returns stops and gives the highest.
func sampleHeapPeak() func() uint64 {
	var (
		wg   sync.WaitGroup
		peak uint64
		stop = make(chan struct{})
	)
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	wg.Go(func() {
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			peak = max(peak, s[0].Value.Uint64())
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	})
	return func() uint64 {
		close(stop)
		wg.Wait()
		return peak
	}
}

// cpuTime is the process's CPU time so far, user and system.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procStatus reads a figure (kB) of /proc/self/status.
func procStatus(b *testing.B, name string) int64 {
	if runtime.GOOS != "linux" {
		return 0
	}
	st, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(st))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}
