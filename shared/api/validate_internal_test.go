package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
)

// checkInput reads the body before huma does. A handler running longer than
// the operation's body read timeout must still have a live context: a read
// deadline set after the body was read would end net/http's background read
// and cancel the request (seen as 500s under load).
func TestCheckInputKeepsContextPastBodyReadTimeout(t *testing.T) {
	mux := http.NewServeMux()
	hapi := humago.New(mux, huma.DefaultConfig("t", "1"))
	s := &server{api: hapi}
	hapi.UseMiddleware(s.checkInput)
	var handlerErr error
	huma.Register(hapi, huma.Operation{OperationID: "slow", Method: "POST", Path: "/slow", BodyReadTimeout: 50 * time.Millisecond},
		func(ctx context.Context, in *struct {
			Body struct {
				Name string `json:"name"`
			}
		}) (*struct{}, error) {
			time.Sleep(300 * time.Millisecond)
			handlerErr = ctx.Err()
			return nil, nil
		})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	resp, err := http.Post(srv.URL+"/slow", "application/json", strings.NewReader(`{"name":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 204 || handlerErr != nil {
		t.Fatalf("status %d, handler's context: %v", resp.StatusCode, handlerErr)
	}
}

// The surrogate scan reads escapes only inside strings and pairs them.
func TestUnpairedSurrogate(t *testing.T) {
	for body, want := range map[string]bool{
		`{"a":"\ud83d\ude00"}`: false, `{"a":"\\ud800"}`: false, `{"\ud800":1}`: true, `["\udfff"]`: true,
		`{"a":"\ud83d"}`: true, `{"a":"\ud83d\u0041"}`: true, `{"a":"\ud83d\n"}`: true, `{"a":"\"\ud800"}`: true,
		`{"a":"\u00e9\ufffd"}`: false,
	} {
		if got := unpairedSurrogate([]byte(body)); got != want {
			t.Errorf("%s: %v, want %v", body, got, want)
		}
	}
}
