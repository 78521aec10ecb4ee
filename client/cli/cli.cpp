#include "cli.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "twoba/api_client.h"
#include "twoba/authorization.h"
#include "twoba/oauth_client.h"

#ifndef TWOBA_CLIENT_VERSION
#define TWOBA_CLIENT_VERSION "0.0.0"
#endif

namespace twoba::cli {
namespace {

using nlohmann::json;

constexpr char kUsage[] = R"(Usage: twoba-client [options] COMMAND [args]

A reference OAuth2 client for 2BA (authorize.2ba.nl) and its mock.

Commands:
  login --username U (--password P | --password-stdin)
                      password grant; the password is used once and never stored
  login-code [--redirect-port N] [--no-browser]
                      authorization code + PKCE S256 + state via a loopback redirect
                      http://127.0.0.1:PORT/callback; --no-browser prints one line
                      "AUTHORIZE <url>" on stdout and waits for the redirect
  call PATH [--concurrency N]
                      GET api-base+PATH with the Bearer token and print the body;
                      N threads share one refresh
  refresh             refresh now (rotates the refresh token)
  status              show whether tokens are stored and when they expire
  logout              delete the token store

Options (each also read from the environment variable shown):
  --token-url URL         TWOBA_TOKEN_URL      token endpoint (e.g. https://authorize.2ba.nl/OAuth/Token)
  --authorize-url URL     TWOBA_AUTHORIZE_URL  default: derived from the token URL
  --api-base URL          TWOBA_API_BASE       e.g. https://api.2ba.nl/1/json
  --client-id ID          TWOBA_CLIENT_ID
  --client-secret S       TWOBA_CLIENT_SECRET  empty for a public client
  --store FILE            TWOBA_STORE          default $XDG_STATE_HOME/twoba-client/tokens.json
  --client-auth body|basic TWOBA_CLIENT_AUTH   where client credentials go (default body)
  --ca-file FILE          TWOBA_CA_FILE        PEM CA bundle (TLS is always verified)
  --connect-timeout S     TWOBA_CONNECT_TIMEOUT seconds (default 10)
  --read-timeout S        TWOBA_READ_TIMEOUT   seconds (default 30)
  --scope S               TWOBA_SCOPE          scope to request at login
  --json                  TWOBA_JSON=1         print one JSON object as the result
  --version, --help

Exit codes: 0 ok, 2 usage, 3 relogin required, 4 transport error,
            5 server error (5xx after retries), 6 other OAuth/HTTP error, 7 parse error.
)";

struct OptionSpec {
  const char* name;
  const char* env;  // nullptr: command-line only
  bool takes_value;
};

constexpr OptionSpec kOptions[] = {
    {"--token-url", "TWOBA_TOKEN_URL", true},
    {"--authorize-url", "TWOBA_AUTHORIZE_URL", true},
    {"--api-base", "TWOBA_API_BASE", true},
    {"--client-id", "TWOBA_CLIENT_ID", true},
    {"--client-secret", "TWOBA_CLIENT_SECRET", true},
    {"--store", "TWOBA_STORE", true},
    {"--client-auth", "TWOBA_CLIENT_AUTH", true},
    {"--ca-file", "TWOBA_CA_FILE", true},
    {"--connect-timeout", "TWOBA_CONNECT_TIMEOUT", true},
    {"--read-timeout", "TWOBA_READ_TIMEOUT", true},
    {"--scope", "TWOBA_SCOPE", true},
    {"--json", "TWOBA_JSON", false},
    {"--version", nullptr, false},
    {"--help", nullptr, false},
    {"--username", nullptr, true},
    {"--password", nullptr, true},
    {"--password-stdin", nullptr, false},
    {"--redirect-port", nullptr, true},
    {"--no-browser", nullptr, false},
    {"--concurrency", nullptr, true},
};

struct Invocation {
  std::map<std::string, std::string> options;  // name -> value ("1" for flags)
  std::vector<std::string> positional;         // COMMAND and its arguments
};

const OptionSpec* find_option(const std::string& name) {
  for (const auto& spec : kOptions) {
    if (name == spec.name) return &spec;
  }
  return nullptr;
}

Error usage_error(const std::string& message) {
  return make_error(ErrorKind::kInvalidArgument, message);
}

Result<Invocation> parse_args(const std::vector<std::string>& args) {
  Invocation inv;
  for (const auto& spec : kOptions) {
    if (spec.env == nullptr) continue;
    if (const char* value = std::getenv(spec.env); value != nullptr && *value != '\0') {
      if (!spec.takes_value && std::string(value) != "1" && std::string(value) != "true") continue;
      inv.options[spec.name] = spec.takes_value ? value : "1";
    }
  }
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.size() < 2 || arg.compare(0, 2, "--") != 0 || arg == "--") {
      inv.positional.push_back(arg);
      continue;
    }
    const auto eq = arg.find('=');
    const std::string name = arg.substr(0, eq);
    const OptionSpec* spec = find_option(name);
    if (spec == nullptr) return usage_error("unknown option " + name);
    if (!spec->takes_value) {
      if (eq != std::string::npos) return usage_error(name + " takes no value");
      inv.options[name] = "1";
    } else if (eq != std::string::npos) {
      inv.options[name] = arg.substr(eq + 1);
    } else if (i + 1 < args.size()) {
      inv.options[name] = args[++i];
    } else {
      return usage_error(name + " needs a value");
    }
  }
  return inv;
}

std::string option(const Invocation& inv, const std::string& name) {
  const auto it = inv.options.find(name);
  return it == inv.options.end() ? std::string{} : it->second;
}

bool flag(const Invocation& inv, const std::string& name) { return inv.options.count(name) > 0; }

Result<double> seconds_option(const Invocation& inv, const std::string& name, double fallback) {
  const std::string text = option(inv, name);
  if (text.empty()) return fallback;
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || *end != '\0' || !(value > 0) || value > 86400) {
    return usage_error(name + " needs a number of seconds, got '" + text + "'");
  }
  return value;
}

Result<int> int_option(const Invocation& inv, const std::string& name, int fallback, int lo,
                       int hi) {
  const std::string text = option(inv, name);
  if (text.empty()) return fallback;
  char* end = nullptr;
  const long value = std::strtol(text.c_str(), &end, 10);
  if (end == text.c_str() || *end != '\0' || value < lo || value > hi) {
    return usage_error(name + " needs an integer from " + std::to_string(lo) + " to " +
                       std::to_string(hi) + ", got '" + text + "'");
  }
  return static_cast<int>(value);
}

std::string default_store_path() {
  std::string base;
  if (const char* state = std::getenv("XDG_STATE_HOME"); state != nullptr && *state == '/') {
    base = state;
  } else if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    base = std::string(home) + "/.local/state";
  } else {
    base = ".";
  }
  return base + "/twoba-client/tokens.json";
}

Result<ClientConfig> make_config(const Invocation& inv) {
  ClientConfig config;
  config.token_url = option(inv, "--token-url");
  config.authorize_url = option(inv, "--authorize-url");
  if (config.authorize_url.empty()) config.authorize_url = derive_authorize_url(config.token_url);
  config.api_base = option(inv, "--api-base");
  config.client_id = option(inv, "--client-id");
  config.client_secret = option(inv, "--client-secret");
  config.store_path = option(inv, "--store");
  if (config.store_path.empty()) config.store_path = default_store_path();
  config.scope = option(inv, "--scope");
  config.ca_file = option(inv, "--ca-file");
  const std::string auth = option(inv, "--client-auth");
  if (auth.empty() || auth == "body") {
    config.client_auth = ClientAuth::kBody;
  } else if (auth == "basic") {
    config.client_auth = ClientAuth::kBasic;
  } else {
    return usage_error("--client-auth must be body or basic, got '" + auth + "'");
  }
  auto connect = seconds_option(inv, "--connect-timeout", config.connect_timeout);
  if (!connect) return connect.error();
  config.connect_timeout = connect.value();
  auto read = seconds_option(inv, "--read-timeout", config.read_timeout);
  if (!read) return read.error();
  config.read_timeout = read.value();
  return config;
}

// Where results go: one JSON object in --json mode, text otherwise.
class Output {
 public:
  Output(bool json_mode, std::string command, std::FILE* out, std::FILE* err)
      : json_(json_mode), command_(std::move(command)), out_(out), err_(err) {}

  bool json_mode() const { return json_; }
  std::FILE* out() const { return out_; }

  int success(json result, const std::string& text) {
    if (json_) {
      json doc = {{"ok", true}, {"command", command_}};
      doc.update(result);
      emit(doc);
    } else if (!text.empty()) {
      std::fputs(text.c_str(), out_);
      if (text.back() != '\n') std::fputc('\n', out_);
      std::fflush(out_);
    }
    return kExitOk;
  }

  int failure(const Error& error, json extra = json::object()) {
    const int code = exit_code_for(error);
    if (json_) {
      json doc = {
          {"ok", false}, {"command", command_}, {"error", error_json(error)}, {"exit_code", code}};
      doc.update(extra);
      emit(doc);
    }
    std::fprintf(err_, "twoba-client: %s\n", describe(error).c_str());
    std::fflush(err_);
    return code;
  }

  static json error_json(const Error& error) {
    json e = {{"kind", to_string(error.kind)}, {"message", error.message}};
    e["http_status"] = error.http_status != 0 ? json(error.http_status) : json(nullptr);
    e["oauth_error"] = error.oauth_code.empty() ? json(nullptr) : json(error.oauth_code);
    return e;
  }

 private:
  void emit(const json& doc) {
    const std::string line = doc.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
    std::fputs(line.c_str(), out_);
    std::fflush(out_);
  }

  bool json_;
  std::string command_;
  std::FILE* out_;
  std::FILE* err_;
};

json token_summary(const TokenSet& tokens) {
  json j = {{"token_type", tokens.token_type},
            {"has_refresh_token", !tokens.refresh_token.empty()}};
  j["expires_in"] = tokens.expires_in ? json(*tokens.expires_in) : json(nullptr);
  j["scope"] = tokens.scope.empty() ? json(nullptr) : json(tokens.scope);
  return j;
}

std::string token_text(const std::string& what, const TokenSet& tokens) {
  std::string text = what;
  if (tokens.expires_in)
    text += "; access token valid for " + std::to_string(*tokens.expires_in) + " s";
  text += tokens.refresh_token.empty() ? "; no refresh token" : "; refresh token stored";
  return text;
}

Result<std::string> read_password_line() {
  std::string line;
  if (!std::getline(std::cin, line) && line.empty()) {
    return usage_error("--password-stdin: no password on standard input");
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

int cmd_login(const Invocation& inv, OAuthClient& oauth, Output& output) {
  const std::string username = option(inv, "--username");
  if (username.empty()) return output.failure(usage_error("login needs --username"));
  const bool from_stdin = flag(inv, "--password-stdin");
  if (from_stdin == flag(inv, "--password")) {
    return output.failure(usage_error("login needs exactly one of --password, --password-stdin"));
  }
  std::string password;
  if (from_stdin) {
    auto line = read_password_line();
    if (!line) return output.failure(line.error());
    password = std::move(line).value();
  } else {
    password = option(inv, "--password");
  }
  auto tokens = oauth.login_password(username, password);
  if (!tokens) return output.failure(tokens.error());
  return output.success(token_summary(tokens.value()), token_text("logged in", tokens.value()));
}

// Starts the system browser without a shell; false when none could be started.
bool open_browser(const std::string& url) {
  const pid_t pid = ::fork();
  if (pid < 0) return false;
  if (pid == 0) {
    const int devnull = ::open("/dev/null", O_RDWR);
    if (devnull >= 0) {
      ::dup2(devnull, 0);
      ::dup2(devnull, 1);
      ::dup2(devnull, 2);
    }
    ::execlp("xdg-open", "xdg-open", url.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int cmd_login_code(const Invocation& inv, OAuthClient& oauth, Output& output, std::FILE* err) {
  auto port = int_option(inv, "--redirect-port", 0, 0, 65535);
  if (!port) return output.failure(port.error());
  BrowserLoginOptions options;
  options.redirect_port = port.value();
  const bool no_browser = flag(inv, "--no-browser");
  options.present = [&](const std::string& url) {
    if (no_browser) {
      std::fprintf(output.out(), "AUTHORIZE %s\n", url.c_str());
      std::fflush(output.out());
      return;
    }
    std::fprintf(err, "Opening the browser for login. If it does not open, visit:\n%s\n",
                 url.c_str());
    std::fflush(err);
    open_browser(url);
  };
  auto tokens = login_with_browser(oauth, options);
  if (!tokens) return output.failure(tokens.error());
  return output.success(token_summary(tokens.value()), token_text("logged in", tokens.value()));
}

json body_json(const std::string& body) {
  json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
  return parsed.is_discarded() ? json(body) : parsed;
}

Error api_status_error(int status) {
  return make_error(ErrorKind::kHttp, "API answered HTTP " + std::to_string(status), status);
}

int cmd_call(const Invocation& inv, OAuthClient& oauth, Output& output) {
  if (inv.positional.size() != 2) return output.failure(usage_error("call needs exactly one PATH"));
  auto concurrency = int_option(inv, "--concurrency", 1, 1, 256);
  if (!concurrency) return output.failure(concurrency.error());
  const std::string& path = inv.positional[1];
  ApiClient api(oauth);
  std::vector<std::optional<Result<HttpResponse>>> results(concurrency.value());
  std::vector<std::thread> threads;
  for (int i = 0; i < concurrency.value(); ++i) {
    threads.emplace_back([&, i] { results[i] = api.get(path); });
  }
  for (auto& thread : threads) thread.join();

  std::optional<Error> first_error;
  json calls = json::array();
  std::string text;
  for (const auto& result : results) {
    if (!result->ok()) {
      if (!first_error) first_error = result->error();
      calls.push_back({{"error", Output::error_json(result->error())}});
      continue;
    }
    const HttpResponse& response = result->value();
    if ((response.status < 200 || response.status > 299) && !first_error) {
      first_error = api_status_error(response.status);
    }
    calls.push_back({{"status", response.status}, {"body", body_json(response.body)}});
    text += response.body;
    if (!response.body.empty() && response.body.back() != '\n') text += '\n';
  }
  json summary = {{"refreshes", oauth.refresh_count()}};
  if (calls[0].contains("status")) {
    summary["status"] = calls[0]["status"];
    summary["body"] = calls[0]["body"];
  }
  if (concurrency.value() > 1) summary["calls"] = calls;
  if (!output.json_mode() && !text.empty()) {
    std::fputs(text.c_str(), output.out());
    std::fflush(output.out());
  }
  if (first_error) return output.failure(*first_error, summary);
  return output.success(summary, {});
}

int cmd_refresh(OAuthClient& oauth, Output& output) {
  auto tokens = oauth.force_refresh();
  if (!tokens) return output.failure(tokens.error());
  return output.success(token_summary(tokens.value()), token_text("refreshed", tokens.value()));
}

int cmd_status(OAuthClient& oauth, Output& output) {
  auto stored = oauth.stored_tokens();
  if (!stored) return output.failure(stored.error());
  if (!stored.value()) {
    return output.failure(make_error(ErrorKind::kReloginRequired, "not logged in"),
                          {{"logged_in", false}});
  }
  const TokenSet& tokens = *stored.value();
  json j = token_summary(tokens);
  j["logged_in"] = true;
  j["store"] = oauth.store().path();
  std::string text = "logged in (store " + oauth.store().path() + ")";
  if (tokens.expires_at_ms) {
    const auto remaining = (*tokens.expires_at_ms - now_ms()) / 1000;
    j["expires_in_remaining"] = remaining;
    text += remaining > 0 ? "; access token expires in " + std::to_string(remaining) + " s"
                          : "; access token expired";
  } else {
    j["expires_in_remaining"] = nullptr;
    text += "; access token expiry unknown";
  }
  text += tokens.refresh_token.empty() ? "; no refresh token" : "; refresh token stored";
  return output.success(j, text);
}

int cmd_logout(OAuthClient& oauth, Output& output) {
  auto stored = oauth.stored_tokens();
  const bool existed = stored.ok() && stored.value().has_value();
  if (auto removed = oauth.logout(); !removed) return output.failure(removed.error());
  return output.success({{"removed", existed}}, existed ? "logged out" : "was not logged in");
}

}  // namespace

int exit_code_for(const Error& error) {
  switch (error.kind) {
    case ErrorKind::kInvalidArgument:
      return kExitUsage;
    case ErrorKind::kReloginRequired:
      return kExitRelogin;
    case ErrorKind::kTransport:
      return kExitTransport;
    case ErrorKind::kParse:
      return kExitParse;
    case ErrorKind::kHttp:
    case ErrorKind::kOAuth:
      return error.http_status >= 500 ? kExitServer : kExitOther;
    case ErrorKind::kStore:
      return kExitOther;
  }
  return kExitOther;
}

int run(const std::vector<std::string>& args, std::FILE* out, std::FILE* err) {
  auto parsed = parse_args(args);
  if (!parsed) {
    std::fprintf(err, "twoba-client: %s\nTry 'twoba-client --help'.\n",
                 parsed.error().message.c_str());
    return kExitUsage;
  }
  const Invocation& inv = parsed.value();
  if (flag(inv, "--help")) {
    std::fputs(kUsage, out);
    return kExitOk;
  }
  if (flag(inv, "--version")) {
    std::fprintf(out, "twoba-client %s\n", TWOBA_CLIENT_VERSION);
    return kExitOk;
  }
  const std::string command = inv.positional.empty() ? std::string{} : inv.positional[0];
  Output output(flag(inv, "--json"), command, out, err);
  static const std::map<std::string, std::size_t> kArity = {
      {"login", 1}, {"login-code", 1}, {"call", 2}, {"refresh", 1}, {"status", 1}, {"logout", 1}};
  const auto arity = kArity.find(command);
  if (arity == kArity.end()) {
    std::fprintf(err, "twoba-client: %s\nTry 'twoba-client --help'.\n",
                 command.empty() ? "no command given" : ("unknown command " + command).c_str());
    return kExitUsage;
  }
  if (command != "call" && inv.positional.size() != arity->second) {
    return output.failure(usage_error(command + " takes no positional arguments"));
  }
  auto config = make_config(inv);
  if (!config) return output.failure(config.error());
  const bool needs_server = command != "status" && command != "logout";
  if (needs_server && config.value().token_url.empty()) {
    return output.failure(usage_error("--token-url (or TWOBA_TOKEN_URL) is required"));
  }
  if (needs_server && config.value().client_id.empty()) {
    return output.failure(usage_error("--client-id (or TWOBA_CLIENT_ID) is required"));
  }
  OAuthClient oauth(std::move(config).value());
  if (command == "login") return cmd_login(inv, oauth, output);
  if (command == "login-code") return cmd_login_code(inv, oauth, output, err);
  if (command == "call") return cmd_call(inv, oauth, output);
  if (command == "refresh") return cmd_refresh(oauth, output);
  if (command == "status") return cmd_status(oauth, output);
  return cmd_logout(oauth, output);
}

}  // namespace twoba::cli
