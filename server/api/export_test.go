package api

import "connectrpc.com/connect"

// WithDecoderProbe returns cfg with probe wrapping every codec's
// decompressor inside the limits, so tests see what the codec produced.
func WithDecoderProbe(cfg Config, probe func(codec string, d connect.Decompressor) connect.Decompressor) Config {
	cfg.decoderProbe = probe
	return cfg
}

// RateLimitedMsg is what a refused caller is told.
const RateLimitedMsg = rateLimitedMsg
