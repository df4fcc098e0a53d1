package serverproc

import (
	"bytes"
	"testing"
)

func TestGCWatchReadsTraceLines(t *testing.T) {
	var out bytes.Buffer
	g := &gcWatch{out: &out}
	in := "{\"level\":\"warn\"}\n" +
		"gc 1 @0.012s 2%: 0.011+1.2+0.003 ms clock, 0.022+0.3/1.0/0.4+0.007 ms cpu, 4->4->1 MB, 4 MB goal, 0 MB stacks, 0 MB globals, 2 P\n" +
		"gc 2 @1.5s 1%: 0.02+3+0.01 ms clock, 0.04+0.5/2/1+0.02 ms cpu, 310->322->151 MB, 305 MB goal, 1 MB stacks, 0 MB globals, 2 P\n" +
		"gc 3 @2.0s 1%: 0.02+3+0.01 ms clock, 0.04+0.5/2/1+0.02 ms cpu, 30"
	// Written in pieces, as a pipe delivers it.
	for i := 0; i < len(in); i += 7 {
		if _, err := g.Write([]byte(in[i:min(i+7, len(in))])); err != nil {
			t.Fatal(err)
		}
	}
	live, goal := g.heap()
	if live != 151<<20 || goal != 305<<20 {
		t.Fatalf("heap() = %d, %d MB; want 151, 305 (the last complete line)", live>>20, goal>>20)
	}
	if out.String() != in {
		t.Fatalf("output not passed on unchanged")
	}
}
