package main

import (
	"io"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

func TestRetentionFlag(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		env  map[string]string
		want time.Duration // -1: refused
	}{
		{"default_for_ever", nil, nil, 0},
		{"from_the_environment", nil, map[string]string{"THROUGHCARE_RETENTION": "61320h"}, 61320 * time.Hour},
		{"flag_over_environment", []string{"--retention", "720h"}, map[string]string{"THROUGHCARE_RETENTION": "61320h"}, 720 * time.Hour},
		{"zero_keeps_for_ever", []string{"--retention", "0"}, nil, 0},
		{"negative_refused", []string{"--retention", "-1h"}, nil, -1},
		{"beyond_a_century_refused", []string{"--retention", "900000h"}, nil, -1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseConfig(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			switch {
			case tt.want < 0 && err == nil:
				t.Fatalf("parseConfig accepted a retention of %s", c.Retention)
			case tt.want >= 0 && err != nil:
				t.Fatal(err)
			case tt.want >= 0 && c.Retention != tt.want:
				t.Fatalf("retention = %s, want %s", c.Retention, tt.want)
			case tt.want >= 0:
				if got := c.server(nil, zerolog.Nop(), nil).Retention; got != tt.want {
					t.Fatalf("server.Config.Retention = %s, want %s", got, tt.want)
				}
			}
		})
	}
}
