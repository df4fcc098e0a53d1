package store_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/throughcare/throughcare/server/syncengine"

	"github.com/rs/zerolog"

	"github.com/throughcare/throughcare/server/store"
	"github.com/throughcare/throughcare/server/storekey"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/hlc"
	"github.com/throughcare/throughcare/syncproto/merge"
)

var (
	crashIterations = flag.Int("crash.iterations", 15, "TestCrashRecovery: how many times the pushing child is killed")
	crashSeed       = flag.Uint64("crash.seed", 0, "TestCrashRecovery: seed for the kill delays (0: random, logged)")
)

const (
	// crashChildEnv, when set to a data directory, makes TestCrashRecovery
	// act as the child that pushes batches into the store in that directory.
	crashChildEnv = "THROUGHCARE_CRASH_CHILD"
	// crashKeyEnv holds the child's store key (hex), if it is encrypted.
	crashKeyEnv = "THROUGHCARE_CRASH_KEY"

	crashDevice = "crash-device"
	crashUser   = "crash-user"
	// crashB is the number of changes in each batch.
	crashB = 40
	// crashBaseMillis is the wall time of the first change's stamp; change
	// with device sequence s is stamped crashBaseMillis+s.
	crashBaseMillis = int64(1_700_000_000_000)
	// crashChildLifetime bounds how long an orphaned child can live.
	crashChildLifetime = 2 * time.Minute
)

// crashBuckets are the client buckets the changes of a batch are spread over:
// change j of every batch goes to crashBuckets[j%3].
var crashBuckets = []string{
	"c0000000-0000-4000-8000-000000000001",
	"c0000000-0000-4000-8000-000000000002",
	"c0000000-0000-4000-8000-000000000003",
}

func crashRecordID(k, j int) string { return fmt.Sprintf("%08x-0000-7000-8000-%012x", k, j) }

// parseCrashRecordID is the inverse of crashRecordID.
func parseCrashRecordID(id string) (k, j int, ok bool) {
	if len(id) != 36 || id[8:24] != "-0000-7000-8000-" {
		return 0, 0, false
	}
	kk, err1 := strconv.ParseUint(id[:8], 16, 32)
	jj, err2 := strconv.ParseUint(id[24:], 16, 32)
	if err1 != nil || err2 != nil || jj >= crashB {
		return 0, 0, false
	}
	k, j = int(kk), int(jj)
	return k, j, crashRecordID(k, j) == id
}

func crashValue(k, j int) string { return fmt.Sprintf("b%d-i%d", k, j) }

// crashBatch returns batch k, the same every time it is built: crashB changes
// with device sequence numbers k*crashB+1 .. (k+1)*crashB, each creating its
// own contact record with a notes value naming the batch and the item.
func crashBatch(k int) *syncengine.Batch {
	b := &syncengine.Batch{UserID: crashUser, DeviceID: crashDevice, ReceivedAt: time.Now()}
	for j := range crashB {
		seq := uint64(k*crashB + j + 1)
		b.Changes = append(b.Changes, &v1.Change{
			DeviceSeq:  seq,
			RecordId:   crashRecordID(k, j),
			RecordType: "contact",
			ClientId:   crashBuckets[j%len(crashBuckets)],
			Field:      "notes",
			Value:      &v1.Value{Kind: &v1.Value_StringValue{StringValue: crashValue(k, j)}},
			Stamp:      &v1.Stamp{Time: hlc.Pack(crashBaseMillis+int64(seq), 0), Replica: crashDevice},
		})
	}
	return b
}

// crashChild is the child process: it pushes batches into the store in dir
// forever, printing "ack <k>" once batch k's Push returned without error. It
// never returns.
func crashChild(dir string) {
	fail := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "crash child: "+format+"\n", args...)
		os.Exit(3)
	}
	// Never outlive a parent that is gone without killing us.
	time.AfterFunc(crashChildLifetime, func() { fail("still running after %v", crashChildLifetime) })

	var key storekey.Key
	if hex := os.Getenv(crashKeyEnv); hex != "" {
		var err error
		if key, err = storekey.Parse(crashKeyEnv, hex); err != nil {
			fail("key: %v", err)
		}
	}
	s, err := store.Open(store.Options{Dir: dir, Logger: zerolog.Nop(), GCInterval: -1, EncryptionKey: key})
	if err != nil {
		fail("open: %v", err)
	}
	write := func(line string) {
		if _, err := os.Stdout.Write([]byte(line + "\n")); err != nil {
			fail("write stdout: %v", err)
		}
	}
	write("ready")
	ctx := context.Background()
	hwm, err := s.HighWater(ctx, crashDevice)
	if err != nil {
		fail("high water: %v", err)
	}
	if hwm%crashB != 0 {
		fail("high-water mark %d is not a multiple of the batch size %d: a batch was half-applied", hwm, crashB)
	}
	k := int(hwm / crashB)
	if k > 0 {
		// The last applied batch again, as a device that never saw the
		// acknowledgement would resend it: every change is a duplicate.
		res, err := syncengine.Apply(ctx, s, crashBatch(k-1))
		if err != nil {
			fail("re-push of batch %d: %v", k-1, err)
		}
		if len(res.Results) != crashB {
			fail("re-push of batch %d: %d results, want %d", k-1, len(res.Results), crashB)
		}
		for j, r := range res.Results {
			if r.Verdict != v1.Verdict_VERDICT_DUPLICATE {
				fail("re-push of batch %d: change %d got verdict %v (position %d), want duplicate", k-1, j, r.Verdict, r.Position)
			}
		}
	}
	for ; ; k++ {
		res, err := syncengine.Apply(ctx, s, crashBatch(k))
		if err != nil {
			fail("push of batch %d: %v", k, err)
		}
		for j, r := range res.Results {
			if r.Verdict != v1.Verdict_VERDICT_APPLIED {
				fail("push of batch %d: change %d got verdict %v, want applied", k, j, r.Verdict)
			}
		}
		write("ack " + strconv.Itoa(k))
	}
}

// crashRun is one child process.
type crashRun struct {
	cmd    *exec.Cmd
	stderr bytes.Buffer
	ready  chan struct{} // closed when the child printed "ready"
	eof    chan struct{} // closed when the child's stdout ended

	mu    sync.Mutex
	acks  []int
	other []string // lines that were neither "ready" nor "ack <n>"

	waitOnce sync.Once
	waitErr  error
}

func startCrashChild(t *testing.T, dir string, key storekey.Key) *crashRun {
	t.Helper()
	r := &crashRun{ready: make(chan struct{}), eof: make(chan struct{})}
	r.cmd = exec.Command(os.Args[0], "-test.run=^TestCrashRecovery$")
	r.cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
	if !key.IsZero() {
		r.cmd.Env = append(r.cmd.Env, crashKeyEnv+"="+hex.EncodeToString(key.Bytes()))
	}
	r.cmd.Stderr = &r.stderr
	stdout, err := r.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := r.cmd.Start(); err != nil {
		t.Fatalf("start child: %v", err)
	}
	t.Cleanup(func() {
		r.cmd.Process.Kill()
		r.wait()
	})
	go func() {
		defer close(r.eof)
		sc := bufio.NewScanner(stdout)
		readyClosed := false
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "ready" && !readyClosed:
				close(r.ready)
				readyClosed = true
			case strings.HasPrefix(line, "ack "):
				n, err := strconv.Atoi(strings.TrimPrefix(line, "ack "))
				r.mu.Lock()
				if err != nil {
					r.other = append(r.other, line)
				} else {
					r.acks = append(r.acks, n)
				}
				r.mu.Unlock()
			default:
				r.mu.Lock()
				r.other = append(r.other, line)
				r.mu.Unlock()
			}
		}
	}()
	return r
}

// wait reaps the child once all of its stdout was read; it is safe to call
// more than once.
func (r *crashRun) wait() error {
	r.waitOnce.Do(func() {
		<-r.eof
		r.waitErr = r.cmd.Wait()
	})
	return r.waitErr
}

// TestCrashRecovery kills a process pushing batches into an on-disk store
// with SIGKILL at random moments, many times, and after each kill checks in
// the reopened store that every acknowledged batch is there, that no batch is
// half-applied and that every change was applied exactly once; each new child
// first re-pushes the last applied batch and requires every change of it to
// come back as a duplicate.
//
// The test runs its own binary again as the child (see crashChild). Use
// -crash.iterations for longer runs and -crash.seed to replay the kill delays
// of a failed run.
func TestCrashRecovery(t *testing.T) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		crashChild(dir) // never returns
		return
	}
	iterations := *crashIterations
	if testing.Short() && iterations > 5 {
		iterations = 5
	}
	seed := *crashSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (rerun with -crash.seed=%d), %d iterations", seed, seed, iterations)
	rng := rand.New(rand.NewPCG(seed, seed^0x5851f42d4c957f2d))
	checkRNG := rand.New(rand.NewPCG(seed^0xda3e39cb94b95bdb, seed))
	dir := t.TempDir()

	var verified crashVerified // what the check after the last kill found
	totalAcks := 0
	maxAck := -1
	start := time.Now()
	for it := range iterations {
		present := verified.present
		r := startCrashChild(t, dir, storekey.Key{})
		childFailed := func(format string, args ...any) {
			t.Helper()
			r.cmd.Process.Kill()
			err := r.wait()
			t.Fatalf("iteration %d: %s\nchild exit: %v\nchild stderr:\n%s", it, fmt.Sprintf(format, args...), err, r.stderr.String())
		}
		select {
		case <-r.ready:
		case <-r.eof:
			childFailed("child exited before it was ready")
		case <-time.After(60 * time.Second):
			childFailed("child not ready after 60s")
		}
		delay := 30*time.Millisecond + time.Duration(rng.Int64N(int64(371*time.Millisecond)))
		select {
		case <-time.After(delay):
		case <-r.eof:
			childFailed("child exited on its own")
		}
		// SIGKILL on Unix: no deferred code, no flush, no Close.
		if err := r.cmd.Process.Kill(); err != nil {
			childFailed("kill: %v", err)
		}
		err := r.wait()
		if r.cmd.ProcessState == nil || r.cmd.ProcessState.ExitCode() != -1 {
			childFailed("child was not killed by the signal (exit: %v)", err)
		}
		if bytes.Contains(r.stderr.Bytes(), []byte("DATA RACE")) {
			childFailed("the child reported a data race")
		}
		r.mu.Lock()
		acks, other := append([]int(nil), r.acks...), append([]string(nil), r.other...)
		r.mu.Unlock()
		if len(other) > 0 {
			t.Logf("iteration %d: child printed unexpected lines: %q", it, other)
		}
		// The child resumes at the first batch not yet applied and goes on
		// in order.
		for i, k := range acks {
			if k != present+i {
				childFailed("acks %v: want consecutive batches from %d", acks, present)
			}
		}
		totalAcks += len(acks)
		if len(acks) > 0 {
			maxAck = max(maxAck, acks[len(acks)-1])
		}

		full := it == iterations-1 || it%crashFullEvery == crashFullEvery-1
		v := verifyCrashStore(t, dir, storekey.Key{}, it, verified, full, checkRNG)
		// Every acknowledged batch survived; at most one more (applied, but
		// killed before its ack was written) may be there too.
		if want := present + len(acks); v.present != want && v.present != want+1 {
			t.Fatalf("iteration %d: %d batches present, want %d or %d (before: %d, acked this run: %v)\nchild stderr:\n%s",
				it, v.present, want, want+1, present, acks, r.stderr.String())
		}
		how := "new records"
		if full {
			how = "all records"
		}
		t.Logf("iteration %d: killed %v after ready, %d acks, %d batches present (checked %s)",
			it, delay.Round(time.Millisecond), len(acks), v.present, how)
		verified = v
	}
	if totalAcks == 0 {
		t.Fatalf("no child acknowledged any batch in %d iterations: the test proved nothing", iterations)
	}
	if verified.present < maxAck+1 {
		t.Fatalf("%d batches present, but batch %d was acknowledged", verified.present, maxAck)
	}
	t.Logf("%d acks over %d kills, %d batches (%d changes) present, %v",
		totalAcks, iterations, verified.present, verified.present*crashB, time.Since(start).Round(time.Millisecond))
}

// crashVerified is what the last verification established: batches
// 0..present-1 are in the store, whole, and the buckets' heads stood at heads.
type crashVerified struct {
	present int
	heads   map[string]uint64
}

// crashFullEvery is how often (in iterations) verification reads the whole
// store from position 0 rather than only what came after the last check;
// the last iteration always reads it all.
const crashFullEvery = 5

// verifyCrashStore opens the store in dir, checks that it holds exactly the
// batches 0..m-1, each whole and each change once, closes it and returns
// what it established.
//
// With full set it pulls every record from position 0. Otherwise it pulls
// only the records after the heads of the last check, which must be exactly
// the whole batches that came since (an older record there would have been
// written twice), and reads every record of a few random older batches back
// with Records; heads, high-water mark and histories are checked either way.
func verifyCrashStore(t *testing.T, dir string, key storekey.Key, it int, prev crashVerified, full bool, rng *rand.Rand) crashVerified {
	t.Helper()
	ctx := context.Background()
	s, err := store.Open(store.Options{Dir: dir, Logger: zerolog.Nop(), GCInterval: -1, EncryptionKey: key})
	if err != nil {
		t.Fatalf("iteration %d: reopen after kill: %v", it, err)
	}
	defer func() {
		if err := s.Close(); err != nil {
			t.Fatalf("iteration %d: close: %v", it, err)
		}
	}()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("iteration %d: %s", it, fmt.Sprintf(format, args...))
	}
	checkRecord := func(bucket string, rec *v1.RecordState) (k int) {
		t.Helper()
		id := rec.GetRecordId()
		k, j, ok := parseCrashRecordID(id)
		if !ok {
			fail("unexpected record %s in bucket %s", id, bucket)
		}
		if want := crashBuckets[j%len(crashBuckets)]; bucket != want {
			fail("record %s in bucket %s, want %s", id, bucket, want)
		}
		got := merge.Field(rec, "notes").GetValue().GetStringValue()
		if want := crashValue(k, j); got != want || rec.GetRecordType() != "contact" || len(rec.GetFields()) != 1 {
			fail("record %s: type %q, %d fields, notes %q; want contact, 1 field, notes %q",
				id, rec.GetRecordType(), len(rec.GetFields()), got, want)
		}
		return k
	}

	// Read every record changed after from, page by page.
	first := 0 // the first batch the pull can see
	from := map[string]uint64{}
	for _, b := range crashBuckets {
		from[b] = 0
		if !full {
			from[b] = prev.heads[b]
			first = prev.present
		}
	}
	counts := map[int]int{} // batch → records pulled
	seen := map[string]bool{}
	for {
		page, err := s.Pull(ctx, store.PullQuery{From: from, Limit: 50000})
		if err != nil {
			fail("pull from %v: %v", from, err)
		}
		for _, bp := range page.Buckets {
			for _, enc := range bp.Records {
				rec := &v1.RecordState{}
				if err := proto.Unmarshal(enc, rec); err != nil {
					fail("record does not decode: %v", err)
				}
				if seen[rec.GetRecordId()] {
					fail("record %s pulled twice", rec.GetRecordId())
				}
				seen[rec.GetRecordId()] = true
				k := checkRecord(bp.Bucket, rec)
				if k < first {
					fail("record %s of batch %d changed again after the check that found batches 0..%d whole (position %d)",
						rec.GetRecordId(), k, first-1, rec.GetPosition())
				}
				counts[k]++
			}
			from[bp.Bucket] = bp.Position
		}
		if !page.HasMore {
			break
		}
	}

	// No batch is half-applied, and the batches present are a prefix.
	m := first + len(counts)
	for k, n := range counts {
		if n != crashB {
			fail("batch %d half-applied: %d of %d records present", k, n, crashB)
		}
		if k >= m {
			fail("batches present are not 0..%d: batch %d is there", m-1, k)
		}
	}
	if m < prev.present {
		fail("%d batches present, but %d were before", m, prev.present)
	}

	// Older batches the pull did not see are still whole.
	if !full && first > 0 {
		for range min(first, 4) {
			k := rng.IntN(first)
			for i, b := range crashBuckets {
				var ids []string
				for j := i; j < crashB; j += len(crashBuckets) {
					ids = append(ids, crashRecordID(k, j))
				}
				recs, err := s.Records(ctx, b, ids)
				if err != nil {
					fail("records: %v", err)
				}
				if len(recs) != len(ids) {
					fail("batch %d: %d of its %d records in bucket %s present", k, len(recs), len(ids), b)
				}
				for _, rec := range recs {
					checkRecord(b, rec)
					if rec.GetPosition() > prev.heads[b] {
						fail("record %s of batch %d changed again after the last check (position %d, head then %d)",
							rec.GetRecordId(), k, rec.GetPosition(), prev.heads[b])
					}
				}
			}
		}
	}

	// Each change got exactly one log position.
	heads, err := s.Heads(ctx, crashBuckets)
	if err != nil {
		fail("heads: %v", err)
	}
	var sum uint64
	for i, b := range crashBuckets {
		perBatch := 0
		for j := i; j < crashB; j += len(crashBuckets) {
			perBatch++
		}
		if want := uint64(m * perBatch); heads[b] != want {
			fail("bucket %s head %d, want %d (%d batches × %d changes)", b, heads[b], want, m, perBatch)
		}
		sum += heads[b]
	}
	if sum != uint64(m*crashB) {
		fail("heads sum to %d, want %d", sum, m*crashB)
	}
	if hwm, err := s.HighWater(ctx, crashDevice); err != nil {
		fail("high water: %v", err)
	} else if hwm != uint64(m*crashB) {
		fail("high-water mark %d, want %d (%d whole batches)", hwm, m*crashB, m)
	}
	if m > 0 {
		// The last batch present is the one the next child re-pushes (and
		// may have been re-pushed already); check it and the first one.
		// (History scans a bucket's whole log, so only two records.)
		for _, kj := range [][2]int{{0, 0}, {m - 1, crashB - 1}} {
			k, j := kj[0], kj[1]
			h, err := s.History(ctx, crashBuckets[j%len(crashBuckets)], crashRecordID(k, j))
			if err != nil {
				fail("history: %v", err)
			}
			if len(h) != 1 || h[0].GetDeviceSeq() != uint64(k*crashB+j+1) {
				fail("history of record %s (batch %d, item %d) has %d entries, want exactly 1 with device seq %d",
					crashRecordID(k, j), k, j, len(h), k*crashB+j+1)
			}
		}
	}
	return crashVerified{present: m, heads: heads}
}
