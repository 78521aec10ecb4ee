// JSON-lines adapter (ADAPTERS.md, protocol 2) for golang.org/x/oauth2 (Debian
// golang-golang-x-oauth2-dev), used the way its package documentation shows: an oauth2.Config
// whose Endpoint is 2BA's token URL, PasswordCredentialsToken or AuthCodeURL + Exchange to log in,
// Config.TokenSource (a ReuseTokenSource: it refreshes when the token is within 10 s of its
// Expiry, under its own mutex) and oauth2.NewClient for the product API. The library has no
// hook for a refreshed token, so the token source is wrapped by one that writes every new
// token to the state folder, the usual way to persist it; everything else is the library's.
// It adds no refresh on a 401 and does not drop a refresh token the server rejected.
//
// With --fix (`--client x-oauth2+fix`) it adds what COMPATIBILITY.md recommends, the code between
// the 2ba-fix markers, as an application would: TwoBATokenSource around the library's source.
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// libVersion is the Debian package's version, set by the build (-ldflags -X).
var libVersion = "unknown"

type config struct {
	TokenURL       string `json:"token_url"`
	AuthorizeURL   string `json:"authorize_url"`
	APIBase        string `json:"api_base"`
	ProductAPIBase string `json:"product_api_base"`
	ClientID       string `json:"client_id"`
	ClientSecret   string `json:"client_secret"`
	ClientAuth     string `json:"client_auth"`
	StateDir       string `json:"state_dir"`
	CAFile         string `json:"ca_file"`
	Scope          string `json:"scope"`
}

type message struct {
	Cmd         string          `json:"cmd"`
	Seq         *int            `json:"seq"`
	Version     int             `json:"version"`
	Config      json.RawMessage `json:"config"`
	Username    string          `json:"username"`
	Password    string          `json:"password"`
	Path        string          `json:"path"`
	Concurrency int             `json:"concurrency"`
	Seconds     int64           `json:"seconds"`
}

var out = struct {
	sync.Mutex
	w *bufio.Writer
}{w: bufio.NewWriter(os.Stdout)}

func emit(v any) {
	b, _ := json.Marshal(v)
	out.Lock()
	defer out.Unlock()
	out.w.Write(append(b, '\n'))
	out.w.Flush()
}

// savingSource writes each token its source hands out for the first time to the state folder.
// Its mutex guards the file only; refreshes are serialised (or not) by the library's source.
type savingSource struct {
	src  oauth2.TokenSource
	path string
	mu   sync.Mutex
	last *oauth2.Token
}

func (s *savingSource) Token() (*oauth2.Token, error) {
	t, err := s.src.Token()
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.last == nil || s.last.AccessToken != t.AccessToken {
		s.last = t
		saveToken(s.path, t)
	}
	return t, nil
}

func saveToken(path string, t *oauth2.Token) {
	b, _ := json.Marshal(t)
	os.WriteFile(path, b, 0o600)
}

// 2ba-fix:begin
// Needs context, errors, net/http, sync, time and golang.org/x/oauth2.

// ErrLoginRequired: 2BA refused the refresh token, or there is none: send the user to the login.
var ErrLoginRequired = errors.New("log in again")

// TwoBATokenSource wraps x/oauth2's token source: a 400 from the refresh means log in again (the
// refresh token is dropped), and Invalidate (after a 401) makes the next Token() refresh.
type TwoBATokenSource struct {
	mu   sync.Mutex
	conf *oauth2.Config
	ctx  context.Context
	src  oauth2.TokenSource  // conf.TokenSource(ctx, last); nil: logged out
	last *oauth2.Token       // the newest token (start with the saved one)
	save func(*oauth2.Token) // keeps every new token (the rotated refresh token); nil: delete it
}

func (s *TwoBATokenSource) Token() (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.src == nil {
		return nil, ErrLoginRequired
	}
	tok, err := s.src.Token()
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response.StatusCode == http.StatusBadRequest {
		s.src, s.last = nil, nil // the refresh token is dead: drop it
		s.save(nil)
		return nil, ErrLoginRequired
	}
	if err == nil && tok.AccessToken != s.last.AccessToken {
		s.last = tok
		s.save(tok)
	}
	return tok, err
}

// Invalidate: 2BA answered 401 to accessToken, so the next Token() refreshes (unless another
// caller already did).
func (s *TwoBATokenSource) Invalidate(accessToken string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.src != nil && s.last.AccessToken == accessToken {
		expired := *s.last
		expired.Expiry = time.Now().Add(-time.Minute)
		s.src = s.conf.TokenSource(s.ctx, &expired)
	}
}

// Get sends GET url with the current token; after a 401, one refresh and one retry.
func Get(ctx context.Context, client *http.Client, src *TwoBATokenSource, url string) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		tok, err := src.Token()
		if err != nil {
			return nil, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return nil, err
		}
		tok.SetAuthHeader(req)
		resp, err := client.Do(req)
		if err != nil || resp.StatusCode != http.StatusUnauthorized || attempt == 1 {
			return resp, err
		}
		resp.Body.Close()
		src.Invalidate(tok.AccessToken) // revoked early, or no expires_in
	}
}

// 2ba-fix:end

// fix: --fix, the fixed variant.
var fix = len(os.Args) > 1 && os.Args[1] == "--fix"

type adapter struct {
	cfg    config
	conf   *oauth2.Config
	ctx    context.Context // carries the HTTP client (trusted CAs) the library uses
	client *http.Client
	tokens *savingSource // nil: logged out
	fixed  *TwoBATokenSource
}

func newAdapter(cfg config) (*adapter, error) {
	style := oauth2.AuthStyleInParams
	if cfg.ClientAuth == "basic" {
		style = oauth2.AuthStyleInHeader
	}
	a := &adapter{cfg: cfg, conf: &oauth2.Config{
		ClientID:     cfg.ClientID,
		ClientSecret: cfg.ClientSecret,
		Endpoint:     oauth2.Endpoint{AuthURL: cfg.AuthorizeURL, TokenURL: cfg.TokenURL, AuthStyle: style},
	}}
	if cfg.Scope != "" {
		a.conf.Scopes = strings.Fields(cfg.Scope)
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pem)
		transport.TLSClientConfig = &tls.Config{RootCAs: pool}
	}
	a.client = &http.Client{Transport: transport, Timeout: 20 * time.Second}
	a.ctx = context.WithValue(context.Background(), oauth2.HTTPClient, a.client)
	if b, err := os.ReadFile(a.tokenPath()); err == nil {
		var t oauth2.Token
		if json.Unmarshal(b, &t) == nil {
			a.use(&t)
		}
	}
	return a, nil
}

func (a *adapter) tokenPath() string { return filepath.Join(a.cfg.StateDir, "token.json") }

// use makes t the current token: Config.TokenSource refreshes it with its refresh token.
func (a *adapter) use(t *oauth2.Token) {
	saveToken(a.tokenPath(), t)
	if fix {
		a.fixed = &TwoBATokenSource{conf: a.conf, ctx: a.ctx, src: a.conf.TokenSource(a.ctx, t), last: t, save: a.saveFixed}
		return
	}
	a.tokens = &savingSource{src: a.conf.TokenSource(a.ctx, t), path: a.tokenPath(), last: t}
}

// saveFixed is the fixed variant's save: each new token to the state folder, nil deletes it.
func (a *adapter) saveFixed(t *oauth2.Token) {
	if t == nil {
		os.Remove(a.tokenPath())
	} else {
		saveToken(a.tokenPath(), t)
	}
}

// fixedLast is the fixed variant's newest token (nil: logged out).
func (a *adapter) fixedLast() *oauth2.Token {
	if a.fixed == nil {
		return nil
	}
	a.fixed.mu.Lock()
	defer a.fixed.mu.Unlock()
	return a.fixed.last
}

func (a *adapter) loginPassword(username, password string) error {
	t, err := a.conf.PasswordCredentialsToken(a.ctx, username, password)
	if err != nil {
		return err
	}
	a.use(t)
	return nil
}

// refresh: x/oauth2 has no "refresh now" call; a token source given only the refresh token finds
// no valid access token and refreshes, which is the library's own refresh path. On failure the
// current source is kept, as the library keeps its token.
func (a *adapter) refresh() error {
	if fix {
		last := a.fixedLast()
		if last == nil {
			return ErrLoginRequired
		}
		a.fixed.Invalidate(last.AccessToken)
		_, err := a.fixed.Token()
		return err
	}
	if a.tokens == nil {
		return errRelogin
	}
	t, err := a.conf.TokenSource(a.ctx, &oauth2.Token{RefreshToken: a.tokens.last.RefreshToken}).Token()
	if err != nil {
		return err
	}
	a.use(t)
	return nil
}

// advanceTime: the library decides expiry in Token.expired (token.go), Expiry minus 10 s
// before time.Now() through an unexported clock, so the client's clock cannot be moved; moving
// the stored Expiry earlier by the same amount makes the same decision. A new source is made
// from the moved token, as a restart from the store would.
func (a *adapter) advanceTime(seconds int64) {
	if fix {
		if last := a.fixedLast(); last != nil && !last.Expiry.IsZero() {
			t := *last
			t.Expiry = t.Expiry.Add(-time.Duration(seconds) * time.Second)
			a.use(&t)
		}
		return
	}
	if a.tokens == nil || a.tokens.last.Expiry.IsZero() {
		return
	}
	t := *a.tokens.last
	t.Expiry = t.Expiry.Add(-time.Duration(seconds) * time.Second)
	a.use(&t)
}

func (a *adapter) callAPI(path string) error {
	base := a.cfg.APIBase
	if a.cfg.ProductAPIBase != "" {
		base = a.cfg.ProductAPIBase
	}
	var resp *http.Response
	var err error
	if fix {
		if a.fixed == nil {
			return ErrLoginRequired
		}
		resp, err = Get(a.ctx, a.client, a.fixed, base+path)
	} else if a.tokens == nil {
		return errRelogin
	} else {
		resp, err = oauth2.NewClient(a.ctx, a.tokens).Get(base + path)
	}
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode >= 400 {
		return &httpStatusError{resp.StatusCode}
	}
	return nil
}

func (a *adapter) loginCode() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer ln.Close()
	got := make(chan url.Values, 1)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		select {
		case got <- r.URL.Query():
		default:
		}
	})}
	go srv.Serve(ln)
	defer srv.Close()
	a.conf.RedirectURL = fmt.Sprintf("http://%s/callback", ln.Addr())
	state := randomString()
	emit(map[string]any{"event": "authorize", "url": a.conf.AuthCodeURL(state)})
	var q url.Values
	select {
	case q = <-got:
	case <-time.After(60 * time.Second):
		return errTimeout
	}
	if q.Get("error") != "" {
		return &redirectError{q.Get("error")}
	}
	if q.Get("state") != state { // the documentation: the caller must check state
		return errStateMismatch
	}
	t, err := a.conf.Exchange(a.ctx, q.Get("code"))
	if err != nil {
		return err
	}
	a.use(t)
	return nil
}

func randomString() string {
	b := make([]byte, 24)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

var (
	errRelogin       = errors.New("no token: log in")
	errTimeout       = errors.New("no redirect within 60 s")
	errStateMismatch = errors.New("state of the redirect does not match")
)

type httpStatusError struct{ status int }

func (e *httpStatusError) Error() string { return fmt.Sprintf("HTTP %d", e.status) }

type redirectError struct{ code string }

func (e *redirectError) Error() string { return "redirect with error=" + e.code }

// errorReply maps an error of the library, net/http or the adapter to the protocol's kinds.
func errorReply(err error) map[string]any {
	kind := "other"
	var retrieve *oauth2.RetrieveError
	var status *httpStatusError
	var redirect *redirectError
	var netErr net.Error
	var urlErr *url.Error
	switch {
	case errors.Is(err, errRelogin) || errors.Is(err, ErrLoginRequired):
		kind = "relogin_required"
	case errors.Is(err, errTimeout):
		kind = "timeout"
	case errors.Is(err, errStateMismatch):
		kind = "state_mismatch"
	case errors.As(err, &redirect):
		kind = "oauth"
		if redirect.code == "access_denied" {
			kind = "access_denied"
		}
	case errors.As(err, &retrieve):
		kind = "oauth"
		var body struct {
			Error string `json:"error"`
		}
		json.Unmarshal(retrieve.Body, &body)
		if retrieve.Response.StatusCode >= 500 {
			kind = "server"
		} else if body.Error == "invalid_grant" {
			kind = "relogin_required"
		}
	case errors.As(err, &status):
		kind = "oauth"
		if status.status >= 500 {
			kind = "server"
		}
	case errors.As(err, &netErr) || errors.As(err, &urlErr):
		kind = "transport"
	case strings.HasPrefix(err.Error(), "oauth2: cannot parse json"):
		kind = "parse"
	}
	return map[string]any{"kind": kind, "message": err.Error()}
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<16), 1<<24)
	var a *adapter
	for in.Scan() {
		var m message
		if err := json.Unmarshal(in.Bytes(), &m); err != nil {
			fmt.Fprintln(os.Stderr, "x-oauth2 adapter: bad line:", err)
			continue
		}
		switch m.Cmd {
		case "start":
			var cfg config
			json.Unmarshal(m.Config, &cfg)
			var err error
			if a, err = newAdapter(cfg); err != nil {
				emit(map[string]any{"error": map[string]any{"kind": "usage", "message": err.Error()}})
				continue
			}
			version := 1
			if m.Version >= 2 {
				version = 2
			}
			emit(map[string]any{"ready": true, "version": version, "implementation": map[string]any{
				"name": "golang.org/x/oauth2", "version": libVersion, "language": "go",
				"homepage": "https://pkg.go.dev/golang.org/x/oauth2",
				"issues":   "https://github.com/golang/oauth2/issues"}})
			continue
		case "stop":
			return
		}
		var err error
		switch m.Cmd {
		case "login_password":
			err = a.loginPassword(m.Username, m.Password)
		case "login_code":
			err = a.loginCode()
		case "refresh":
			err = a.refresh()
		case "restart":
			a, err = newAdapter(a.cfg)
		case "info":
		case "advance_time":
			a.advanceTime(m.Seconds)
		case "call_api":
			n := m.Concurrency
			if n < 1 {
				n = 1
			}
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := 0; i < n; i++ {
				wg.Add(1)
				go func(i int) { defer wg.Done(); errs[i] = a.callAPI(m.Path) }(i)
			}
			wg.Wait()
			for _, e := range errs { // the first failure is the reply
				if e != nil {
					err = e
					break
				}
			}
		default:
			emit(map[string]any{"seq": m.Seq, "skipped": map[string]any{"reason": m.Cmd + " not supported"}})
			continue
		}
		if err != nil {
			emit(map[string]any{"seq": m.Seq, "error": errorReply(err)})
		} else {
			emit(map[string]any{"seq": m.Seq, "ok": true})
		}
	}
}
