package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"time"
)

// envRunDir moves the folder where running local servers record themselves
// (default: loyalty/servers under the user's cache dir).
const envRunDir = "LOYALTY_RUN_DIR"

// serverRecord is what a running `serve` writes about itself into the run
// dir, one file per process. The CLI reads these records to use the store of
// the server on its data dir rather than starting a second emulator on the
// same files, and to warn when the server it probably means runs elsewhere.
type serverRecord struct {
	PID       int       `json:"pid"`
	DataDir   string    `json:"dataDir"` // absolute
	BaseURL   string    `json:"baseUrl"`
	Endpoint  string    `json:"dynamodbEndpoint"`
	Table     string    `json:"table"`
	StartedAt time.Time `json:"startedAt"`
}

func runDir() string {
	if d := os.Getenv(envRunDir); d != "" {
		return d
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "loyalty", "servers")
	}
	return filepath.Join(os.TempDir(), "loyalty-servers-"+strconv.Itoa(os.Getuid()))
}

// absDataDir is the data dir as servers record it, so that ".local" and its
// absolute path compare equal.
func absDataDir() string {
	d, err := filepath.Abs(dataDir())
	if err != nil {
		return dataDir()
	}
	return filepath.Clean(d)
}

// registerServer records rec until the returned function removes it.
func registerServer(rec serverRecord) (func(), error) {
	dir := runDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("record the running server in %s (set %s to move it): %w", dir, envRunDir, err)
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, strconv.Itoa(rec.PID)+".json")
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return nil, fmt.Errorf("record the running server in %s (set %s to move it): %w", dir, envRunDir, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, err
	}
	return func() { _ = os.Remove(path) }, nil
}

// runningServers lists the recorded servers whose process is alive; records
// left by a server that was killed are removed.
func runningServers() []serverRecord {
	paths, _ := filepath.Glob(filepath.Join(runDir(), "*.json"))
	var out []serverRecord
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		var r serverRecord
		if json.Unmarshal(b, &r) != nil || r.PID <= 0 {
			continue
		}
		if !alive(r.PID) {
			_ = os.Remove(p)
			continue
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].StartedAt.Before(out[j].StartedAt) })
	return out
}

func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
