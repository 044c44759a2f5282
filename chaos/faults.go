package main

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// faultTransport sits under the AWS SDK and injects what a real network and
// a busy DynamoDB do: throttling, delays, responses lost after the write was
// applied (the SDK retries the same request), and duplicated deliveries.
type faultTransport struct {
	base http.RoundTripper
	mu   sync.Mutex
	rng  *rand.Rand

	pThrottle, pDrop, pDup, pDelay float64

	throttled, dropped, duplicated, delayed atomic.Int64
}

var errInjectedDrop = errors.New("injected: connection reset after the request was applied")

func (f *faultTransport) roll() float64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.rng.Float64()
}

// Faults is the number of faults injected so far.
func (f *faultTransport) Faults() int64 {
	return f.throttled.Load() + f.dropped.Load() + f.duplicated.Load() + f.delayed.Load()
}

func (f *faultTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		req.Body.Close()
		body = b
	}
	clone := func() *http.Request {
		r := req.Clone(req.Context())
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		return r
	}
	x := f.roll()
	switch {
	case x < f.pThrottle:
		f.throttled.Add(1)
		return &http.Response{
			StatusCode: 400, Status: "400 Bad Request", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header:  http.Header{"Content-Type": {"application/x-amz-json-1.0"}},
			Body:    io.NopCloser(strings.NewReader(`{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"injected throttle"}`)),
			Request: req,
		}, nil
	case x < f.pThrottle+f.pDrop:
		f.dropped.Add(1)
		resp, err := f.base.RoundTrip(clone())
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		return nil, errInjectedDrop
	case x < f.pThrottle+f.pDrop+f.pDup:
		f.duplicated.Add(1)
		if resp, err := f.base.RoundTrip(clone()); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		return f.base.RoundTrip(clone())
	case x < f.pThrottle+f.pDrop+f.pDup+f.pDelay:
		f.delayed.Add(1)
		time.Sleep(time.Duration(1+int(f.roll()*20)) * time.Millisecond)
	}
	return f.base.RoundTrip(clone())
}
