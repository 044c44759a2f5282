// Package storetest gives tests a real DynamoDB Local and a fresh table per
// test. One emulator serves a whole test binary; a test binary that uses it
// runs its tests through Main so the emulator stops at the end.
package storetest

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"

	"github.com/loyalty/cashback/shared/ddblocal"
	"github.com/loyalty/cashback/shared/store"
)

var unsafe = regexp.MustCompile(`[^a-zA-Z0-9_.-]+`)

var (
	once     sync.Once
	server   *ddblocal.Server
	startErr error
	tables   atomic.Int64
)

// Main runs the tests and stops the emulator afterwards. Use it from TestMain.
func Main(m *testing.M, after ...func()) {
	code := m.Run()
	for _, f := range after {
		f() // what the package's tests share beside the emulator (a browser)
	}
	server.Stop()
	os.Exit(code)
}

// Endpoint starts the shared emulator on first use. A test whose emulator
// cannot start fails, saying why; it never skips.
func Endpoint(t testing.TB) string {
	t.Helper()
	once.Do(func() {
		server, startErr = ddblocal.Start(context.Background(), ddblocal.Options{})
	})
	if startErr != nil {
		t.Fatalf("DynamoDB Local is required for this test and could not start: %v", startErr)
	}
	return server.Endpoint
}

// Client returns a client of the shared emulator.
func Client(t testing.TB) *dynamodb.Client {
	return ddblocal.Client(Endpoint(t))
}

// StreamsClient returns a DynamoDB Streams client of the shared emulator.
func StreamsClient(t testing.TB) *dynamodbstreams.Client {
	return ddblocal.StreamsClient(Endpoint(t))
}

// NewStore creates a table of its own for this test and returns a store on it.
func NewStore(t testing.TB) *store.Store {
	t.Helper()
	name := fmt.Sprintf("t%d_%s", tables.Add(1), unsafe.ReplaceAllString(t.Name(), "_"))
	if len(name) > 200 {
		name = name[:200]
	}
	s := store.New(Client(t), name)
	if err := s.CreateTable(context.Background()); err != nil {
		t.Fatalf("create table: %v", err)
	}
	return s
}
