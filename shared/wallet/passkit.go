package wallet

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/loyalty/cashback/shared/loyalty"
	"github.com/loyalty/cashback/shared/routes"
)

// Bounds of what the devices send.
const (
	maxRegisterBody = 4 << 10
	// MaxLogBody bounds POST /log: devices send a few lines of errors.
	MaxLogBody   = 64 << 10
	maxLogLines  = 20
	maxLogLength = 300
)

// Handler serves the wallets' calls: Apple's PassKit web service under
// /wallet/apple/v1 and Google's callback, at the paths of the route table
// (routes.IsWalletService). Errors are problem+json with a stable code;
// the statuses are the ones Apple specifies.
func (s *Service) Handler() http.Handler {
	h := map[string]http.HandlerFunc{
		"apple-register-device":   s.register,
		"apple-unregister-device": s.unregister,
		"apple-list-updated":      s.listUpdated,
		"apple-get-pass":          s.latestPass,
		"apple-log":               s.log,
		"google-wallet-callback":  s.googleCallback,
	}
	// Patterns by path, methods dispatched here: a wrong method answers a
	// problem too, not ServeMux's text/plain 405.
	byPath := map[string]map[string]http.HandlerFunc{}
	var paths []string
	for _, r := range routes.Routes {
		if !routes.IsWalletService(r) {
			continue
		}
		f, ok := h[r.OperationID]
		if !ok {
			panic("wallet: no handler for " + r.OperationID)
		}
		if byPath[r.Path] == nil {
			byPath[r.Path] = map[string]http.HandlerFunc{}
			paths = append(paths, r.Path)
		}
		byPath[r.Path][r.Method] = f
	}
	mux := http.NewServeMux()
	for _, p := range paths {
		methods := byPath[p]
		mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
			if f, ok := methods[r.Method]; ok {
				f(rec, r)
			} else {
				problem(rec, http.StatusMethodNotAllowed, "method_not_allowed", "method not allowed")
			}
			// One line per call, like the API's: the route, never the
			// path (serials, device ids) nor a token.
			level := slog.LevelInfo
			if rec.status >= 500 {
				level = slog.LevelError
			}
			s.logger().LogAttrs(r.Context(), level, "wallet request", slog.String("route", r.Method+" "+p),
				slog.Int("status", rec.status), slog.Duration("latency", time.Since(start)))
		})
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		problem(w, http.StatusNotFound, "not_found", "no such route")
	})
	return mux
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

// problem writes an RFC 9457 problem.
func problem(w http.ResponseWriter, status int, code, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"type": "https://loyalty.example/problems/" + code, "title": http.StatusText(status),
		"status": status, "code": code, "detail": detail,
	})
}

func (s *Service) internal(w http.ResponseWriter, r *http.Request, err error) {
	s.logger().ErrorContext(r.Context(), "wallet request failed", "path", r.Pattern, "error", err.Error())
	problem(w, http.StatusInternalServerError, string(loyalty.CodeInternal), "internal error")
}

// validDeviceID: Apple's device library identifiers are alphanumeric.
func validDeviceID(s string) bool { return validToken(s, 128) }

// validToken checks an identifier of letters, digits, '-', '_' and '.'.
func validToken(s string, maxLen int) bool {
	if len(s) == 0 || len(s) > maxLen {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// passOf resolves and authenticates a request about one pass: the pass
// type must be ours (404), the serial known and the ApplePass token its
// token (401). The token is compared as a hash in constant time.
func (s *Service) passOf(w http.ResponseWriter, r *http.Request) (*ApplePass, []Registration, bool) {
	if !s.Keys.Apple() {
		problem(w, http.StatusNotFound, "not_found", "Apple Wallet is not configured")
		return nil, nil, false
	}
	token, ok := ParseApplePassAuth(r.Header.Get("Authorization"))
	if !ok {
		problem(w, http.StatusUnauthorized, string(loyalty.CodeUnauthorized), "send Authorization: ApplePass <token>")
		return nil, nil, false
	}
	tenantID, memberID, ok := ParseSerial(r.PathValue("serialNumber"))
	if !ok {
		problem(w, http.StatusUnauthorized, string(loyalty.CodeUnauthorized), "unknown pass")
		return nil, nil, false
	}
	// The pass type is the tenant's own when it has a certificate, else
	// the service's.
	k, err := s.KeysFor(r.Context(), tenantID)
	if err != nil {
		s.internal(w, r, err)
		return nil, nil, false
	}
	if r.PathValue("passTypeIdentifier") != k.PassTypeID {
		problem(w, http.StatusNotFound, "not_found", "unknown pass type")
		return nil, nil, false
	}
	st, err := s.Store.WalletState(r.Context(), tenantID, memberID)
	if err != nil {
		s.internal(w, r, err)
		return nil, nil, false
	}
	if st.Apple == nil || subtle.ConstantTimeCompare([]byte(HashToken(token)), []byte(st.Apple.TokenHash)) != 1 {
		problem(w, http.StatusUnauthorized, string(loyalty.CodeUnauthorized), "unknown pass or wrong token")
		return nil, nil, false
	}
	return st.Apple, st.Devices, true
}

// ParseApplePassAuth reads the token of "Authorization: ApplePass <token>".
func ParseApplePassAuth(h string) (string, bool) {
	token, ok := strings.CutPrefix(h, "ApplePass ")
	token = strings.TrimSpace(token)
	return token, ok && validToken(token, 200)
}

// RegisterBody is what a device sends to register.
type RegisterBody struct {
	PushToken string `json:"pushToken"`
}

// ParseRegisterBody reads and checks a registration body.
func ParseRegisterBody(b []byte) (RegisterBody, error) {
	var body RegisterBody
	if err := json.Unmarshal(b, &body); err != nil {
		return body, errors.New("malformed JSON")
	}
	if !validToken(body.PushToken, 200) {
		return body, errors.New("pushToken is required: letters and digits")
	}
	return body, nil
}

// readBody reads at most limit bytes; false (after answering 413) beyond.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, bool) {
	if r.ContentLength > limit {
		problem(w, http.StatusRequestEntityTooLarge, "body_too_large", "request body too large")
		return nil, false
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			problem(w, http.StatusRequestEntityTooLarge, "body_too_large", "request body too large")
		} else {
			problem(w, http.StatusBadRequest, string(loyalty.CodeInvalidRequest), "unreadable body")
		}
		return nil, false
	}
	return b, true
}

// register: POST /devices/{d}/registrations/{type}/{serial} → 201 new, 200 again.
func (s *Service) register(w http.ResponseWriter, r *http.Request) {
	dev := r.PathValue("deviceLibraryIdentifier")
	if !validDeviceID(dev) {
		problem(w, http.StatusBadRequest, string(loyalty.CodeInvalidRequest), "malformed device library identifier")
		return
	}
	p, _, ok := s.passOf(w, r)
	if !ok {
		return
	}
	b, ok := readBody(w, r, maxRegisterBody)
	if !ok {
		return
	}
	body, err := ParseRegisterBody(b)
	if err != nil {
		problem(w, http.StatusBadRequest, string(loyalty.CodeInvalidRequest), err.Error())
		return
	}
	created, err := s.Store.Register(r.Context(), Registration{DeviceID: dev, PassTypeID: r.PathValue("passTypeIdentifier"), Serial: p.Serial,
		TenantID: p.TenantID, MemberID: p.MemberID, PushToken: body.PushToken, CreatedAt: s.now()})
	if err != nil {
		s.internal(w, r, err)
		return
	}
	if created {
		w.WriteHeader(http.StatusCreated)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// unregister: DELETE /devices/{d}/registrations/{type}/{serial} → 200.
func (s *Service) unregister(w http.ResponseWriter, r *http.Request) {
	dev := r.PathValue("deviceLibraryIdentifier")
	if !validDeviceID(dev) {
		problem(w, http.StatusBadRequest, string(loyalty.CodeInvalidRequest), "malformed device library identifier")
		return
	}
	p, _, ok := s.passOf(w, r)
	if !ok {
		return
	}
	err := s.Store.Unregister(r.Context(), Registration{DeviceID: dev, PassTypeID: r.PathValue("passTypeIdentifier"), Serial: p.Serial, TenantID: p.TenantID, MemberID: p.MemberID})
	if err != nil {
		s.internal(w, r, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// ParseUpdatedSince reads passesUpdatedSince: a tag this service gave
// (Unix seconds as a string); empty means all.
func ParseUpdatedSince(q string) (int64, error) {
	if q == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(q, 10, 64)
	if err != nil || n < 0 || len(q) > 19 {
		return 0, errors.New("passesUpdatedSince is not a tag of this service")
	}
	return n, nil
}

// listUpdated: GET /devices/{d}/registrations/{type}?passesUpdatedSince=tag
// → 200 {serialNumbers, lastUpdated} or 204. No authentication: Apple's
// protocol makes the device library identifier the secret.
func (s *Service) listUpdated(w http.ResponseWriter, r *http.Request) {
	dev, ptid := r.PathValue("deviceLibraryIdentifier"), r.PathValue("passTypeIdentifier")
	if !validDeviceID(dev) {
		problem(w, http.StatusBadRequest, string(loyalty.CodeInvalidRequest), "malformed device library identifier")
		return
	}
	// A pass type is the service's or a tenant's own: a device registered
	// for another has no registrations under it.
	if !s.Keys.Apple() || !validToken(ptid, 128) {
		problem(w, http.StatusNotFound, "not_found", "unknown pass type")
		return
	}
	since, err := ParseUpdatedSince(r.URL.Query().Get("passesUpdatedSince"))
	if err != nil {
		problem(w, http.StatusBadRequest, string(loyalty.CodeInvalidRequest), err.Error())
		return
	}
	regs, err := s.Store.DeviceRegistrations(r.Context(), dev, ptid)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	serials := []string{}
	var last int64
	for _, reg := range regs {
		st, err := s.Store.WalletState(r.Context(), reg.TenantID, reg.MemberID)
		if err != nil {
			s.internal(w, r, err)
			return
		}
		if st.Apple == nil {
			continue
		}
		last = max(last, st.Apple.Tag)
		if st.Apple.Tag > since {
			serials = append(serials, reg.Serial)
		}
	}
	if len(regs) == 0 && ptid != s.Keys.PassTypeID {
		problem(w, http.StatusNotFound, "not_found", "unknown pass type")
		return
	}
	if len(serials) == 0 {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	slices.Sort(serials)
	w.Header().Set("Content-Type", "application/json")
	// lastUpdated is a string: an integer silently stops updates on devices.
	_ = json.NewEncoder(w).Encode(map[string]any{"serialNumbers": serials, "lastUpdated": strconv.FormatInt(last, 10)})
}

// latestPass: GET /passes/{type}/{serial} → the pass, or 304 when it has
// not changed since If-Modified-Since; Last-Modified always.
func (s *Service) latestPass(w http.ResponseWriter, r *http.Request) {
	p, _, ok := s.passOf(w, r)
	if !ok {
		return
	}
	modified := time.Unix(p.Tag, 0).UTC()
	w.Header().Set("Last-Modified", modified.Format(http.TimeFormat))
	if ims, err := http.ParseTime(r.Header.Get("If-Modified-Since")); err == nil && !modified.After(ims) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	b, _, err := s.build(r.Context(), BaseURLOf(r), p)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	w.Header().Set("Content-Type", ContentType)
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(b)
}

// LogBody is what devices post to /log.
type LogBody struct {
	Logs []string `json:"logs"`
}

// ParseLogBody reads a /log body.
func ParseLogBody(b []byte) (LogBody, error) {
	var body LogBody
	if err := json.Unmarshal(b, &body); err != nil {
		return body, errors.New("malformed JSON")
	}
	if body.Logs == nil {
		return body, errors.New("logs is required")
	}
	return body, nil
}

// log: POST /log {"logs": [...]}: the devices' error reports, logged
// bounded (a few lines, each cut short).
func (s *Service) log(w http.ResponseWriter, r *http.Request) {
	b, ok := readBody(w, r, MaxLogBody)
	if !ok {
		return
	}
	body, err := ParseLogBody(b)
	if err != nil {
		problem(w, http.StatusBadRequest, string(loyalty.CodeInvalidRequest), err.Error())
		return
	}
	for i, line := range body.Logs {
		if i == maxLogLines {
			s.logger().InfoContext(r.Context(), "passkit device log", "more", len(body.Logs)-i)
			break
		}
		if len(line) > maxLogLength {
			line = line[:maxLogLength]
		}
		s.logger().InfoContext(r.Context(), "passkit device log", "line", strings.ToValidUTF8(line, "?"))
	}
	w.WriteHeader(http.StatusOK)
}

// BaseURLOf is the service's address as a request reached it: https,
// except on a loopback host (the local server).
func BaseURLOf(r *http.Request) string {
	host := r.Host
	name := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		name = h
	}
	if ip := net.ParseIP(name); name == "localhost" || ip != nil && ip.IsLoopback() {
		return "http://" + host
	}
	return "https://" + host
}
