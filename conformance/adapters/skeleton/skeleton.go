// A JSON-lines adapter (ADAPTERS.md, protocol 2) for a small 2BA client on net/http.
package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
)

type Config struct {
	TokenURL       string  `json:"token_url"`
	ProductAPIBase string  `json:"product_api_base"`
	ClientID       string  `json:"client_id"`
	ClientSecret   *string `json:"client_secret"`
	StateDir       string  `json:"state_dir"`
	CAFile         string  `json:"ca_file"`
}

type Tokens struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}

// Failure is an error reply of this kind.
type Failure struct{ Kind, Message string }

func (f *Failure) Error() string { return f.Kind + ": " + f.Message }

func httpFailure(status int) error {
	if status >= 500 {
		return &Failure{"server", fmt.Sprintf("HTTP %d", status)}
	}
	return &Failure{"oauth", fmt.Sprintf("HTTP %d", status)}
}

type Client struct {
	cfg    Config
	http   *http.Client
	file   string
	mu     sync.Mutex // one refresh at a time; guards tokens
	tokens *Tokens
}

func NewClient(cfg Config) (*Client, error) {
	c := &Client{cfg: cfg, http: &http.Client{}, file: filepath.Join(cfg.StateDir, "tokens.json")}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pem)
		c.http.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	}
	if b, err := os.ReadFile(c.file); err == nil {
		json.Unmarshal(b, &c.tokens)
	}
	return c, nil
}

// grant posts to /OAuth/Token with the credentials in the body; the caller holds c.mu.
func (c *Client) grant(form url.Values) error {
	form.Set("client_id", c.cfg.ClientID)
	if c.cfg.ClientSecret != nil {
		form.Set("client_secret", *c.cfg.ClientSecret)
	}
	resp, err := c.http.PostForm(c.cfg.TokenURL, form)
	if err != nil {
		return &Failure{"transport", err.Error()}
	}
	defer resp.Body.Close()
	if resp.StatusCode == 400 && form.Get("grant_type") == "refresh_token" { // the refresh token is dead
		c.tokens = nil
		os.Remove(c.file)
		return &Failure{"relogin_required", "refresh rejected"}
	}
	if resp.StatusCode != 200 {
		return httpFailure(resp.StatusCode)
	}
	var fresh Tokens
	if err := json.NewDecoder(resp.Body).Decode(&fresh); err != nil {
		return &Failure{"parse", err.Error()}
	}
	if fresh.RefreshToken == "" && c.tokens != nil { // none came back: keep the old one
		fresh.RefreshToken = c.tokens.RefreshToken
	}
	c.tokens = &fresh
	b, _ := json.Marshal(fresh)
	return os.WriteFile(c.file, b, 0o600)
}

// refresh: one at a time, never a stale one twice; seen is the access token a call saw rejected.
func (c *Client) refresh(seen string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tokens == nil {
		return &Failure{"relogin_required", "not logged in"}
	}
	if seen != "" && c.tokens.AccessToken != seen {
		return nil
	}
	return c.grant(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {c.tokens.RefreshToken}})
}

// call: after a 401, one refresh and one retry.
func (c *Client) call(path string) error {
	for attempt := 1; ; attempt++ {
		c.mu.Lock()
		t := c.tokens
		c.mu.Unlock()
		if t == nil {
			return &Failure{"relogin_required", "not logged in"}
		}
		req, err := http.NewRequest("GET", c.cfg.ProductAPIBase+path, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+t.AccessToken)
		resp, err := c.http.Do(req)
		if err != nil {
			return &Failure{"transport", err.Error()}
		}
		resp.Body.Close()
		if resp.StatusCode != 401 || attempt == 2 {
			if resp.StatusCode >= 400 {
				return httpFailure(resp.StatusCode)
			}
			return nil
		}
		if err := c.refresh(t.AccessToken); err != nil {
			return err
		}
	}
}

func main() {
	out := json.NewEncoder(os.Stdout) // one line per reply
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<24)
	var c *Client
	for in.Scan() {
		var m struct {
			Cmd, Username, Password, Path string
			Seq                           *int
			Concurrency                   int
			Config                        Config
		}
		if err := json.Unmarshal(in.Bytes(), &m); err != nil {
			fmt.Fprintln(os.Stderr, "bad line:", err)
			continue
		}
		var err error
		switch m.Cmd {
		case "start":
			if c, err = NewClient(m.Config); err == nil {
				out.Encode(map[string]any{"ready": true, "version": 2,
					"implementation": map[string]string{"name": "skeleton", "version": "1", "language": "go"}})
				continue
			}
		case "stop":
			return
		case "login_password":
			c.mu.Lock()
			err = c.grant(url.Values{"grant_type": {"password"}, "username": {m.Username}, "password": {m.Password}})
			c.mu.Unlock()
		case "refresh":
			err = c.refresh("")
		case "restart":
			c, err = NewClient(c.cfg)
		case "advance_time": // no clock of its own: it refreshes on a 401
		case "call_api": // parallel calls; the first failure is the reply
			n := m.Concurrency
			if n < 1 {
				n = 1
			}
			errs := make(chan error, n)
			for i := 0; i < n; i++ {
				go func() { errs <- c.call(m.Path) }()
			}
			for i := 0; i < n; i++ {
				if e := <-errs; e != nil && err == nil {
					err = e
				}
			}
		default:
			out.Encode(map[string]any{"seq": m.Seq, "skipped": map[string]string{"reason": m.Cmd + " not supported by this adapter"}})
			continue
		}
		var f *Failure
		switch {
		case err == nil:
			out.Encode(map[string]any{"seq": m.Seq, "ok": true})
		case errors.As(err, &f):
			out.Encode(map[string]any{"seq": m.Seq, "error": map[string]string{"kind": f.Kind, "message": f.Message}})
		default:
			out.Encode(map[string]any{"seq": m.Seq, "error": map[string]string{"kind": "other", "message": err.Error()}})
		}
	}
}
