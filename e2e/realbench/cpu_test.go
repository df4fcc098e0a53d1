package main

import (
	"os"
	"testing"
	"time"
)

func TestParseStatCPU(t *testing.T) {
	tests := []struct {
		name, stat string
		want       time.Duration
		wantErr    bool
	}{
		{"plain", "4242 (throughcare-ser) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 31 0 0 20 0 9 0 100 2000000 300 1", 2810 * time.Millisecond, false},
		{"a name with spaces and parens", "7 (a b) c) R 1 7 7 0 -1 0 0 0 0 0 5 5 0 0 20 0 1 0 1 1 1", 100 * time.Millisecond, false},
		{"too short", "7 (x) R 1 2 3", 0, true},
		{"no name", "7 x R", 0, true},
		{"not a number", "7 (x) R 1 7 7 0 -1 0 0 0 0 0 y 5 0", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStatCPU(tt.stat)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("parseStatCPU = %v, %v; want %v (error %v)", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestCPUTimeOfThisProcess(t *testing.T) {
	for selfCPU() < 50*time.Millisecond { // spend some CPU, so both counters have moved
	}
	got, err := cpuTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// /proc counts in ticks of 10 ms; getrusage is finer.
	if self := selfCPU(); got < 30*time.Millisecond || got > self+20*time.Millisecond {
		t.Fatalf("cpuTime = %v, getrusage %v: want them within a couple of ticks", got, self)
	}
}
