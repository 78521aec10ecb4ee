// Settings of one OAuth client and the HTTP calls it makes.
#pragma once

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
  std::string client_id;
  std::string client_secret;  // empty for a public client
  std::string store_path;     // token store file; its lock file is store_path + ".lock"
  std::string scope;          // optional scope for logins
  ClientAuth client_auth = ClientAuth::kBody;
  std::string ca_file;             // PEM bundle for TLS verification; empty = system store
  double connect_timeout = 10;     // seconds
  double read_timeout = 30;        // seconds
  int max_retries = 3;             // retries after 429/503 (and 502/504) on token requests
  double max_retry_wait = 120;     // a Retry-After beyond this is not waited for: give up
  double max_refresh_margin = 60;  // refresh this long before expiry at most (see token_set.h)
};

}  // namespace twoba
