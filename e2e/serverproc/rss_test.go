package serverproc

import (
	"os"
	"strings"
	"testing"
)

func TestParseStatus(t *testing.T) {
	const head = "Name:\tthroughcare-ser\nState:\tS (sleeping)\nVmPeak:\t 2000000 kB\n"
	tests := []struct {
		name, status string
		want         Sample
		wantErr      string
	}{
		{"every field", head + "VmHWM:\t  400 kB\nVmRSS:\t  300 kB\nRssAnon:\t  200 kB\nRssFile:\t   90 kB\nRssShmem:\t 10 kB\n",
			Sample{RSS: 300 << 10, HWM: 400 << 10, Anon: 200 << 10, File: 90 << 10}, ""},
		{"an old kernel without RssAnon", head + "VmRSS:\t  300 kB\n", Sample{RSS: 300 << 10}, ""},
		{"no VmRSS (a zombie)", head + "Threads:\t1\n", Sample{}, "no VmRSS"},
		{"not kB", head + "VmRSS:\t  300 MB\n", Sample{}, "VmRSS"},
		{"not a number", head + "VmRSS:\t  x kB\n", Sample{}, "bad number"},
		{"negative", head + "VmRSS:\t  -3 kB\n", Sample{}, "bad number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStatus(strings.NewReader(tt.status))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseStatus = %+v, %v; want an error with %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("parseStatus = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

// The sampler reads a live process's status: this test's own (the soak
// runs on Linux).
func TestReadSampleOfThisProcess(t *testing.T) {
	s, err := ReadSample(os.Getpid(), 7)
	if err != nil {
		t.Fatal(err)
	}
	if s.RSS <= 0 || s.Anon+s.File > s.RSS+s.RSS/10 || s.HWM < s.RSS || s.At != 7 {
		t.Fatalf("ReadSample = %+v: want a positive RSS of which anon and file are parts, at 7", s)
	}
}
