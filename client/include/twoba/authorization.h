// Authorization-code login for native apps: PKCE S256, a checked state, and an RFC 8252
// loopback redirect listener on 127.0.0.1.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "twoba/config.h"
#include "twoba/error.h"
#include "twoba/oauth_client.h"

namespace twoba {

// A PKCE verifier (43 base64url characters from 32 random bytes) and its S256 challenge.
struct Pkce {
  std::string verifier;
  std::string challenge;
};

// A fresh random verifier and its challenge, RFC 7636 §4.1–4.2.
Pkce make_pkce();

// S256 challenge of a verifier: base64url(SHA-256(verifier)).
std::string pkce_challenge(const std::string& verifier);

// A fresh, unguessable state value (256 bits, base64url).
std::string make_state();

// The authorize endpoint for a token endpoint ending in /OAuth/Token or /connect/token;
// empty when it cannot be derived.
std::string derive_authorize_url(const std::string& token_url);

// authorize_url?response_type=code&client_id=..&redirect_uri=..[&scope=..]&state=..
// &code_challenge=..&code_challenge_method=S256, every value form-encoded.
std::string build_authorize_url(const ClientConfig& config, const std::string& redirect_uri,
                                const std::string& state, const std::string& code_challenge);

// Receives one redirect at http://127.0.0.1:PORT/callback.
class LoopbackReceiver {
 public:
  // Listens on 127.0.0.1:port (0 = a free port) for a redirect carrying expected_state.
  static Result<std::unique_ptr<LoopbackReceiver>> start(int port, std::string expected_state);
  virtual ~LoopbackReceiver() = default;

  // The port listened on.
  virtual int port() const = 0;
  // "http://127.0.0.1:PORT/callback".
  virtual std::string redirect_uri() const = 0;

  // Waits for the first request to /callback and returns its code. A missing or different
  // state, an error parameter (e.g. access_denied), no code, or the timeout is an Error, and
  // the caller must then make no token request.
  virtual Result<std::string> wait_for_code(std::chrono::milliseconds timeout) = 0;
};

// How login_with_browser listens, waits and shows the URL.
struct BrowserLoginOptions {
  int redirect_port = 0;  // 0 = any free port
  std::chrono::milliseconds timeout = std::chrono::minutes(5);
  // Shows the authorization URL to the user (opens a browser or prints it). Called once.
  std::function<void(const std::string& authorize_url)> present;
};

// The whole flow: listener, PKCE, state, present the URL, wait, verify, exchange, store.
Result<TokenSet> login_with_browser(OAuthClient& oauth, const BrowserLoginOptions& options);

}  // namespace twoba
