#include "command_line.h"

#include <unistd.h>

#include <climits>
#include <fstream>

namespace mock2ba {

std::string usage_text() {
  return R"(Usage: mock_server [OPTIONS]
An offline stand-in for 2BA's OAuth2 authorization server (authorize.2ba.nl).

Options:
  --fixture FILE         scenario to serve (default: fixtures/default.json)
  --host ADDR            address to listen on (default 127.0.0.1); off loopback
                         the control API needs --admin-token
  --port N               port (default 8080; 0 takes a free port)
  --tls-cert FILE        serve HTTPS with this PEM certificate ...
  --tls-key FILE         ... and this PEM private key
  --https                serve HTTPS with a certificate for the listening host, signed
                         by a local CA made on first use; prints "CA-FILE <ca.pem>"
                         after the READY line (trust that file in the client)
  --https-dir DIR        where --https keeps its CA and certificate
                         (default: $XDG_CACHE_HOME/twoba-mock or ~/.cache/twoba-mock)
  --admin-token TOKEN    Bearer token the control API (/__mock) requires
  --control-from any     off loopback, open the control API without --admin-token
                         (for a container whose port is published to its host only)
  --log-format FORMAT    per-request log lines on stderr: text (default) or json
  --quiet                no per-request log lines
  --journal-capacity N   requests kept in the journal (default 10000)
  --threads N            event-loop threads (default: one per core but one, at least 1)
  --state-file FILE      keep grants, tokens, codes and the clock offset in FILE across
                         restarts (written atomically before each state-changing reply)
  --help                 show this help
  --version              show the version

Prints "READY <base-url>" on stdout once it accepts connections.
Exit status: 0 after SIGINT/SIGTERM, 1 when it cannot listen, 2 for a bad flag or fixture.

Endpoints (paths match case-insensitively; /s/NAME/... serves NAME.json of the fixture's folder):
  POST /OAuth/Token, /connect/token          token endpoint (password, refresh_token,
                                             authorization_code grants)
  GET  /OAuth/Authorize, /connect/authorize  login page (authorization code flow)
  GET  /.well-known/openid-configuration     discovery document
  GET  /1/json/Product/..., /1/json/TradeItem/...  product API (Authorization: Bearer)
  /__mock/...                                control API: health, reset, clock, requests,
                                             faults, tokens, codes, fixture
  GET  /__mock/openapi.json                  OpenAPI 3 document of every route above

Documentation: README.md, mock_server/README.md and fixtures/README.md
(installed: share/twoba-mock/doc/ and share/twoba-mock/fixtures/README.md).
)";
}

std::string find_default_fixture() {
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  std::vector<std::string> candidates;
  if (n > 0) {
    std::string dir(exe, static_cast<size_t>(n));
    dir = dir.substr(0, dir.rfind('/'));
    candidates.push_back(dir + "/../share/twoba-mock/fixtures/default.json");
  }
  candidates.push_back(TWOBA_INSTALLED_FIXTURE_DIR "/default.json");
  for (const auto& path : candidates) {
    if (std::ifstream(path)) return path;
  }
  return candidates.back();
}

std::optional<CommandLine> parse_command_line(const std::vector<std::string>& args,
                                              const std::string& default_fixture,
                                              std::string* error) {
  CommandLine cl;
  cl.options.fixture_path = default_fixture;
  cl.options.fixture_is_default = true;
  auto number = [&](const std::string& flag, const std::string& text, long min,
                    long max) -> std::optional<long> {
    char* end = nullptr;
    long value = std::strtol(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || value < min || value > max) {
      *error = flag + ": expected a number from " + std::to_string(min) + " to " +
               std::to_string(max) + ", got '" + text + "'";
      return std::nullopt;
    }
    return value;
  };
  for (size_t i = 0; i < args.size(); ++i) {
    std::string flag = args[i];
    std::string value;
    bool inline_value = false;
    if (auto eq = flag.find('='); flag.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
      inline_value = true;
    }
    if (flag == "--help" || flag == "-h") {
      cl.show_help = true;
      continue;
    }
    if (flag == "--version") {
      cl.show_version = true;
      continue;
    }
    if (flag == "--quiet") {
      cl.options.log_format = LogFormat::kNone;
      continue;
    }
    if (flag == "--https") {
      cl.https = true;
      continue;
    }
    static const std::vector<std::string> kValued = {
        "--fixture", "--host",        "--port",       "--tls-cert",
        "--tls-key", "--admin-token", "--log-format", "--journal-capacity",
        "--threads", "--state-file",  "--https-dir",  "--control-from"};
    if (std::find(kValued.begin(), kValued.end(), flag) == kValued.end()) {
      *error = "unknown option '" + flag + "' (see --help)";
      return std::nullopt;
    }
    if (!inline_value) {
      if (i + 1 >= args.size()) {
        *error = flag + " needs a value";
        return std::nullopt;
      }
      value = args[++i];
    }
    if (flag == "--fixture") {
      cl.options.fixture_path = value;
      cl.options.fixture_is_default = false;
    } else if (flag == "--host") {
      cl.options.host = value;
    } else if (flag == "--port") {
      auto port = number(flag, value, 0, 65535);
      if (!port) return std::nullopt;
      cl.options.port = static_cast<int>(*port);
    } else if (flag == "--tls-cert") {
      cl.options.tls_cert = value;
    } else if (flag == "--tls-key") {
      cl.options.tls_key = value;
    } else if (flag == "--admin-token") {
      if (value.size() < 8) {
        *error = "--admin-token: use at least 8 characters";
        return std::nullopt;
      }
      cl.options.admin_token = value;
    } else if (flag == "--log-format") {
      if (value != "text" && value != "json") {
        *error = "--log-format: expected text or json, got '" + value + "'";
        return std::nullopt;
      }
      if (cl.options.log_format != LogFormat::kNone) {
        cl.options.log_format = value == "json" ? LogFormat::kJson : LogFormat::kText;
      }
    } else if (flag == "--journal-capacity") {
      auto n = number(flag, value, 0, 10000000);
      if (!n) return std::nullopt;
      cl.options.journal_capacity = static_cast<size_t>(*n);
    } else if (flag == "--state-file") {
      if (value.empty()) {
        *error = "--state-file: expected a file name";
        return std::nullopt;
      }
      cl.options.state_file = value;
    } else if (flag == "--https-dir") {
      if (value.empty()) {
        *error = "--https-dir: expected a folder";
        return std::nullopt;
      }
      cl.https_dir = value;
    } else if (flag == "--control-from") {
      if (value != "any" && value != "loopback") {
        *error = "--control-from: expected loopback or any, got '" + value + "'";
        return std::nullopt;
      }
      cl.options.control_from_any = value == "any";
    } else if (flag == "--threads") {
      auto n = number(flag, value, 1, 4096);
      if (!n) return std::nullopt;
      cl.options.threads = static_cast<size_t>(*n);
    }
  }
  if (cl.https && (!cl.options.tls_cert.empty() || !cl.options.tls_key.empty())) {
    *error = "--https makes its own certificate: give either --https or --tls-cert/--tls-key";
    return std::nullopt;
  }
  if (!cl.https_dir.empty() && !cl.https) {
    *error = "--https-dir goes with --https";
    return std::nullopt;
  }
  return cl;
}

}  // namespace mock2ba
