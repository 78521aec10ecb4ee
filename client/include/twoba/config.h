// Settings of one OAuth client and the HTTP calls it makes.
#pragma once

#include <chrono>
#include <string>

namespace twoba {

// Where the client credentials go on token requests.
enum class ClientAuth {
  kBody,   // client_id and client_secret form fields (2BA's documented way)
  kBasic,  // HTTP Basic with form-urlencoded id and secret (RFC 6749 §2.3.1)
};

// Everything the client needs; plain data, filled by the caller or the CLI.
struct ClientConfig {
  std::string token_url;      // e.g. https://authorize.2ba.nl/OAuth/Token
  std::string authorize_url;  // e.g. https://authorize.2ba.nl/OAuth/Authorize
  std::string api_base;       // e.g. https://api.2ba.nl/1/json
  std::string client_id;      // as registered with the authorization server
  std::string client_secret;  // empty for a public client
  std::string store_path;     // token store file; its lock file is store_path + ".lock"
  std::string scope;          // optional scope for logins
  ClientAuth client_auth = ClientAuth::kBody;  // where client_id and client_secret go
  std::string ca_file;  // PEM bundle for TLS verification; empty = system store
  std::chrono::milliseconds connect_timeout =
      std::chrono::seconds(10);                                       // to establish a connection
  std::chrono::milliseconds read_timeout = std::chrono::seconds(30);  // also the write timeout
  int max_retries = 3;  // retries after 429/503 (and 502/504) on token requests
  // A Retry-After beyond this is not waited for: give up.
  std::chrono::milliseconds max_retry_wait = std::chrono::minutes(2);
  // Refresh this long before expiry at most (see refresh_margin in token_set.h).
  std::chrono::milliseconds max_refresh_margin = std::chrono::minutes(1);
};

}  // namespace twoba
