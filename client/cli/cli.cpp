#include "cli.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <iostream>
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

// Everything the command line says, filled in by CLI11 (flags win over the environment).
struct Invocation {
  ClientConfig config;
  std::string client_auth = "body";
  double connect_timeout_s = 10;
  double read_timeout_s = 30;
  bool json = false;
  // login
  std::string username;
  std::optional<std::string> password;
  bool password_stdin = false;
  // login-code
  int redirect_port = 0;
  bool no_browser = false;
  // call
  std::string path;
  int concurrency = 1;
};

constexpr char kFooter[] = R"(Exit codes: 0 ok, 2 usage, 3 relogin required, 4 transport error,
            5 server error (5xx after retries), 6 other OAuth/HTTP error, 7 parse error.)";

// CLI11's help with the usage line first, as every tool of the project prints it.
class UsageFirstFormatter : public CLI::Formatter {
 public:
  std::string make_help(const CLI::App* app, std::string name,
                        CLI::AppFormatMode mode) const override {
    if (mode == CLI::AppFormatMode::Sub) return make_expanded(app);
    std::string body = make_usage(app, std::move(name)) + "\n" + make_description(app) +
                       make_positionals(app) + make_groups(app, mode) + make_subcommands(app, mode);
    while (!body.empty() && body.back() == '\n') body.pop_back();
    return body + "\n\n" + make_footer(app);
  }
};

// The global options that fill a text member of ClientConfig.
struct TextOption {
  const char* name;
  std::string ClientConfig::*field;
  const char* type;
  const char* env;
  const char* help;
};

constexpr TextOption kTextOptions[] = {
    {"--token-url", &ClientConfig::token_url, "URL", "TWOBA_TOKEN_URL",
     "token endpoint (e.g. https://authorize.2ba.nl/OAuth/Token)"},
    {"--authorize-url", &ClientConfig::authorize_url, "URL", "TWOBA_AUTHORIZE_URL",
     "default: derived from the token URL"},
    {"--api-base", &ClientConfig::api_base, "URL", "TWOBA_API_BASE",
     "e.g. https://api.2ba.nl/1/json"},
    {"--client-id", &ClientConfig::client_id, "ID", "TWOBA_CLIENT_ID", "client identifier"},
    {"--client-secret", &ClientConfig::client_secret, "S", "TWOBA_CLIENT_SECRET",
     "empty for a public client"},
    {"--store", &ClientConfig::store_path, "FILE", "TWOBA_STORE",
     "default $XDG_STATE_HOME/twoba-client/tokens.json"},
    {"--ca-file", &ClientConfig::ca_file, "FILE", "TWOBA_CA_FILE",
     "PEM CA bundle (TLS is always verified)"},
    {"--scope", &ClientConfig::scope, "S", "TWOBA_SCOPE", "scope to request at login"},
};

// The command line's grammar: global options (each with its environment variable) before or
// after the command, and each command's own options after it.
void define(CLI::App& app, Invocation& inv) {
  app.description("A reference OAuth2 client for 2BA (authorize.2ba.nl) and its mock.");
  app.footer(kFooter);
  app.fallthrough();  // global options may follow the command too
  app.require_subcommand(1);
  app.set_help_flag("-h,--help", "print this help and exit");
  app.set_version_flag("--version", std::string("twoba-client ") + TWOBA_CLIENT_VERSION,
                       "print the version and exit");
  auto formatter = std::make_shared<UsageFirstFormatter>();
  formatter->column_width(36);
  formatter->label("OPTIONS", "options");
  formatter->label("SUBCOMMAND", "COMMAND");
  app.formatter(formatter);

  for (const TextOption& o : kTextOptions) {
    app.add_option(o.name, inv.config.*o.field, o.help)->type_name(o.type)->envname(o.env);
  }
  app.add_option("--client-auth", inv.client_auth, "where client credentials go (default body)")
      ->check(CLI::IsMember({"body", "basic"}).description(""))
      ->type_name("body|basic")
      ->envname("TWOBA_CLIENT_AUTH");
  const CLI::Validator seconds(
      [](std::string& text) -> std::string {
        char* end = nullptr;
        const double value = std::strtod(text.c_str(), &end);
        if (end != text.c_str() && *end == '\0' && value > 0 && value <= 86400) return {};
        return "needs a number of seconds above 0 and at most 86400, got '" + text + "'";
      },
      "");
  app.add_option("--connect-timeout", inv.connect_timeout_s, "seconds, at most 86400 (default 10)")
      ->check(seconds)
      ->type_name("S")
      ->envname("TWOBA_CONNECT_TIMEOUT");
  app.add_option("--read-timeout", inv.read_timeout_s, "seconds, at most 86400 (default 30)")
      ->check(seconds)
      ->type_name("S")
      ->envname("TWOBA_READ_TIMEOUT");
  app.add_flag("--json", inv.json, "print one JSON object as the result (TWOBA_JSON=1)")
      ->envname("TWOBA_JSON");

  CLI::App* login =
      app.add_subcommand("login", "password grant; the password is used once and never stored");
  login->add_option("--username", inv.username, "user name")->type_name("U")->required();
  CLI::Option* password =
      login->add_option("--password", inv.password, "the password")->type_name("P");
  CLI::Option* password_stdin = login->add_flag("--password-stdin", inv.password_stdin,
                                                "read the password from one line of stdin instead");
  password->excludes(password_stdin);
  login->callback([password, password_stdin] {
    if (password->count() == 0 && password_stdin->count() == 0) {
      throw CLI::ValidationError("login needs one of --password, --password-stdin");
    }
  });

  CLI::App* login_code =
      app.add_subcommand("login-code",
                         "authorization code + PKCE S256 + state via a loopback redirect\n"
                         "http://127.0.0.1:PORT/callback; --no-browser prints one line\n"
                         "\"AUTHORIZE <url>\" on stdout and waits for the redirect");
  login_code
      ->add_option("--redirect-port", inv.redirect_port,
                   "listen port, 0 to 65535 (default 0: any free one)")
      ->check(CLI::Range(0, 65535).description(""))
      ->type_name("N");
  login_code->add_flag("--no-browser", inv.no_browser,
                       "print the URL instead of opening a browser");

  CLI::App* call =
      app.add_subcommand("call",
                         "GET api-base+PATH with the Bearer token and print the body;\n"
                         "N threads share one refresh");
  call->add_option("PATH", inv.path, "path and query, e.g. /Product/Search?query=Niko")->required();
  call->add_option("--concurrency", inv.concurrency, "1 to 256 threads call at once (default 1)")
      ->check(CLI::Range(1, 256).description(""))
      ->type_name("N");

  app.add_subcommand("refresh", "refresh now (rotates the refresh token)");
  app.add_subcommand("status", "show whether tokens are stored and when they expire");
  app.add_subcommand("logout", "delete the token store");
  for (CLI::App* command : app.get_subcommands({})) command->group("Commands");
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

// What CLI11 cannot say: defaults computed from other values, and seconds as durations.
void finish_config(Invocation& inv) {
  ClientConfig& config = inv.config;
  if (config.authorize_url.empty()) config.authorize_url = derive_authorize_url(config.token_url);
  if (config.store_path.empty()) config.store_path = default_store_path();
  config.client_auth = inv.client_auth == "basic" ? ClientAuth::kBasic : ClientAuth::kBody;
  const auto millis = [](double seconds) {
    return std::chrono::milliseconds(std::llround(seconds * 1000));
  };
  config.connect_timeout = millis(inv.connect_timeout_s);
  config.read_timeout = millis(inv.read_timeout_s);
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
  j["expires_in"] = tokens.expires_in ? json(tokens.expires_in->count()) : json(nullptr);
  j["scope"] = tokens.scope.empty() ? json(nullptr) : json(tokens.scope);
  return j;
}

std::string token_text(const std::string& what, const TokenSet& tokens) {
  std::string text = what;
  if (tokens.expires_in)
    text += "; access token valid for " + std::to_string(tokens.expires_in->count()) + " s";
  text += tokens.refresh_token.empty() ? "; no refresh token" : "; refresh token stored";
  return text;
}

Result<std::string> read_password_line() {
  std::string line;
  if (!std::getline(std::cin, line) && line.empty()) {
    return Error::invalid_argument("--password-stdin: no password on standard input");
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

int cmd_login(const Invocation& inv, OAuthClient& oauth, Output& output) {
  std::string password;
  if (inv.password_stdin) {
    auto line = read_password_line();
    if (!line) return output.failure(line.error());
    password = *std::move(line);
  } else {
    password = inv.password.value_or(std::string{});
  }
  auto tokens = oauth.login_password(inv.username, password);
  if (!tokens) return output.failure(tokens.error());
  return output.success(token_summary(*tokens), token_text("logged in", *tokens));
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
  BrowserLoginOptions options;
  options.redirect_port = inv.redirect_port;
  options.present = [&](const std::string& url) {
    if (inv.no_browser) {
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
  return output.success(token_summary(*tokens), token_text("logged in", *tokens));
}

json body_json(const std::string& body) {
  json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
  return parsed.is_discarded() ? json(body) : parsed;
}

Error api_status_error(int status) {
  return Error::http(status, "API answered HTTP " + std::to_string(status));
}

int cmd_call(const Invocation& inv, OAuthClient& oauth, Output& output) {
  ApiClient api(oauth);
  std::vector<std::optional<Result<HttpResponse>>> results(inv.concurrency);
  std::vector<std::thread> threads;
  for (int i = 0; i < inv.concurrency; ++i) {
    threads.emplace_back([&, i] { results[i] = api.get(inv.path); });
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
  if (inv.concurrency > 1) summary["calls"] = calls;
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
  return output.success(token_summary(*tokens), token_text("refreshed", *tokens));
}

int cmd_status(OAuthClient& oauth, Output& output) {
  auto stored = oauth.stored_tokens();
  if (!stored) return output.failure(stored.error());
  if (!*stored) {
    return output.failure(Error::relogin_required("not logged in"), {{"logged_in", false}});
  }
  const TokenSet& tokens = **stored;
  json j = token_summary(tokens);
  j["logged_in"] = true;
  j["store"] = oauth.config().store_path;
  std::string text = "logged in (store " + oauth.config().store_path + ")";
  if (tokens.expires_at) {
    const auto remaining = std::chrono::duration_cast<std::chrono::seconds>(
                               *tokens.expires_at - std::chrono::system_clock::now())
                               .count();
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
  const bool existed = stored.value_or(std::nullopt).has_value();
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
  Invocation inv;
  CLI::App app("", "twoba-client");
  define(app, inv);
  try {
    // CLI11 takes the arguments last to first.
    std::vector<std::string> reversed(args.rbegin(), args.rend());
    app.parse(reversed);
  } catch (const CLI::CallForVersion& e) {
    std::fprintf(out, "%s\n", e.what());
    return kExitOk;
  } catch (const CLI::CallForHelp&) {
    // Top-level help shows every command with its options; a command's help shows its own.
    const auto& parsed = app.get_subcommands();
    const std::string text = parsed.empty() ? app.help("", CLI::AppFormatMode::All)
                                            : parsed.front()->help("twoba-client");
    std::fputs(text.c_str(), out);
    return kExitOk;
  } catch (const CLI::ParseError& e) {
    const auto& parsed = app.get_subcommands();
    std::string message = e.what();
    if (parsed.empty()) {  // say which word was not a command
      const std::vector<std::string> rest = app.remaining();
      if (rest.empty()) message = "no command given";
      if (!rest.empty() && rest.front().rfind('-', 0) != 0)
        message = "unknown command " + rest.front();
    }
    if (app.get_option("--json")->count() > 0) {
      Output(true, parsed.empty() ? "" : parsed.front()->get_name(), out, err)
          .failure(Error::invalid_argument(message));
      return kExitUsage;
    }
    std::fprintf(err, "twoba-client: %s\nTry 'twoba-client --help'.\n", message.c_str());
    return kExitUsage;
  }
  const std::string command = app.get_subcommands().front()->get_name();
  finish_config(inv);
  Output output(inv.json, command, out, err);
  const bool needs_server = command != "status" && command != "logout";
  if (needs_server && inv.config.token_url.empty()) {
    return output.failure(Error::invalid_argument("--token-url (or TWOBA_TOKEN_URL) is required"));
  }
  if (needs_server && inv.config.client_id.empty()) {
    return output.failure(Error::invalid_argument("--client-id (or TWOBA_CLIENT_ID) is required"));
  }
  OAuthClient oauth(inv.config);
  if (command == "login") return cmd_login(inv, oauth, output);
  if (command == "login-code") return cmd_login_code(inv, oauth, output, err);
  if (command == "call") return cmd_call(inv, oauth, output);
  if (command == "refresh") return cmd_refresh(oauth, output);
  if (command == "status") return cmd_status(oauth, output);
  return cmd_logout(oauth, output);
}

}  // namespace twoba::cli
