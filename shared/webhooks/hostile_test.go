package webhooks_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/loyalty/cashback/shared/webhooks"
)

// Receivers that answer slowly, never, with a redirect, with 5 MB, or close
// the connection: each attempt is a failure retried on the schedule (or a
// success, for a 2xx with a huge body, read only up to 64 KiB), nothing
// crashes, and every event ends acknowledged once or in the dead letters
// once, never lost, never twice.
func TestHostileReceivers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	e.svc.Timeout, e.svc.Client = 300*time.Millisecond, nil
	webhooks.New(e.svc)
	var redirectFollowed atomic.Int64
	huge := bytes.Repeat([]byte("x"), 5<<20)
	behaviours := map[string]func(w http.ResponseWriter, r *http.Request){
		"slow": func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			select {
			case <-time.After(2 * time.Second):
			case <-r.Context().Done():
			}
			w.WriteHeader(200)
		},
		"never": func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body) // so the server notices the client leaving
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		},
		"redirect": func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/elsewhere" {
				redirectFollowed.Add(1)
				return
			}
			http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
		},
		"huge-ok": func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(200)
			_, _ = w.Write(huge)
		},
		"huge-error": func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(500)
			_, _ = w.Write(huge)
		},
		"closes": func(w http.ResponseWriter, r *http.Request) {
			c, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				_ = c.Close()
			}
		},
		"half-answer": func(w http.ResponseWriter, r *http.Request) {
			c, buf, err := http.NewResponseController(w).Hijack()
			if err == nil {
				_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
				_ = buf.Flush()
				_ = c.Close()
			}
		},
	}
	ids := map[string]string{}
	for name, b := range behaviours {
		rcv := newReceiver(t, func(int) int { return 0 })
		rcv.srv.Config.Handler = http.HandlerFunc(b)
		ids[name] = e.create(rcv.url()).ID
	}
	evs := []string{"evt_t1_m1_1", "evt_t1_m1_2"}
	e.consume(event("t1", "m1", 1, e.clock.Now()), event("t1", "m1", 2, e.clock.Now()))
	e.queue.drain(t, e.svc)

	for name, id := range ids {
		log, _, err := e.svc.Attempts(context.Background(), e.caller, id, 200, "")
		if err != nil {
			t.Fatal(err)
		}
		dead, _, err := e.svc.DeadLetters(context.Background(), e.caller, id, 10, "")
		if err != nil {
			t.Fatal(err)
		}
		delivered := map[string]int{}
		var errs []string
		for _, a := range log {
			if a.Status == webhooks.StatusDelivered {
				delivered[a.EventID]++
			}
			errs = append(errs, a.Error)
		}
		for _, ev := range evs {
			inDead := 0
			for _, d := range dead {
				if d.EventID == ev {
					inDead++
				}
			}
			if delivered[ev]+inDead != 1 {
				t.Errorf("%s: %s delivered %d times, %d times in the dead letters", name, ev, delivered[ev], inDead)
			}
		}
		switch name {
		case "huge-ok", "half-answer":
			// A 2xx status is an answer: what follows is not read (or not all).
			if len(delivered) != 2 || len(log) != 2 {
				t.Errorf("%s: log %+v", name, log)
			}
		default:
			if len(dead) != 2 || len(log) != 16 {
				t.Errorf("%s: %d dead letters, %d attempts: %v", name, len(dead), len(log), errs)
			}
		}
		if name == "slow" || name == "never" {
			for _, a := range log {
				if a.Error != "timeout" {
					t.Errorf("%s: attempt error %q", name, a.Error)
				}
			}
		}
		if name == "redirect" && !strings.Contains(strings.Join(errs, ","), "redirect not followed") {
			t.Errorf("redirect: errors %v", errs)
		}
	}
	if redirectFollowed.Load() != 0 {
		t.Fatalf("a redirect was followed %d times", redirectFollowed.Load())
	}
}
