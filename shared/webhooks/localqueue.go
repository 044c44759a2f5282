package webhooks

import (
	"context"
	"sync"
	"time"
)

// LocalQueue is the queue of `make run`: kicks wait on timers in the
// process and are handed to workers running Service.ProcessLane, the code
// the cloud's SQS-driven function runs. A kick lost with the process is
// found again by Reconcile, which Run calls at start and every minute.
type LocalQueue struct {
	work chan Kick
	done chan struct{}
	once sync.Once
}

// NewLocalQueue returns an idle queue; Run starts its workers.
func NewLocalQueue() *LocalQueue {
	return &LocalQueue{work: make(chan Kick), done: make(chan struct{})}
}

// Kick hands k to a worker after delay.
func (q *LocalQueue) Kick(_ context.Context, k Kick, delay time.Duration) error {
	push := func() {
		select {
		case q.work <- k:
		case <-q.done:
		}
	}
	if delay <= 0 {
		go push()
		return nil
	}
	time.AfterFunc(delay, push)
	return nil
}

// Run works kicks with n workers until ctx ends.
func (q *LocalQueue) Run(ctx context.Context, s *Service, n int) {
	defer q.once.Do(func() { close(q.done) })
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case k := <-q.work:
					if err := s.ProcessLane(ctx, k); err != nil && ctx.Err() == nil {
						s.Logger.ErrorContext(ctx, "webhooks: lane failed; retrying", "tenant", k.TenantID, "webhook", k.EndpointID, "error", err.Error())
						_ = q.Kick(ctx, k, time.Second)
					}
				}
			}
		}()
	}
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	for {
		if _, err := s.Reconcile(ctx); err != nil && ctx.Err() == nil {
			s.Logger.ErrorContext(ctx, "webhooks: reconcile failed", "error", err.Error())
		}
		select {
		case <-ctx.Done():
			wg.Wait()
			return
		case <-tick.C:
		}
	}
}
