// Package notify delivers one-time codes to a local outbox file (one JSON
// line per message) when running on a laptop. In the cloud, package cloud
// sends them through Amazon SNS (SMS) and SES v2 (email).
package notify

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/loyalty/cashback/shared/loyalty"
)

// Outbox appends every message as one JSON line {"to","channel","body","sentAt"}.
type Outbox struct {
	Path string
	mu   sync.Mutex
}

type outboxLine struct {
	To      string    `json:"to"`
	Channel string    `json:"channel"`
	Body    string    `json:"body"`
	SentAt  time.Time `json:"sentAt"`
}

// Send appends m to the outbox file.
func (o *Outbox) Send(_ context.Context, m loyalty.Message) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if err := os.MkdirAll(filepath.Dir(o.Path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(o.Path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	line, err := json.Marshal(outboxLine{To: m.To, Channel: m.Channel, Body: m.Body, SentAt: m.SentAt.UTC()})
	if err != nil {
		return err
	}
	_, err = f.Write(append(line, '\n'))
	return err
}
