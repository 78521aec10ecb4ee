#include "server/command_line.h"

#include <arpa/inet.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cctype>
#include <climits>
#include <cstdlib>
#include <fstream>

namespace mock2ba {
namespace {

constexpr char kDescription[] =
    "An offline stand-in for 2BA's OAuth2 authorization server (authorize.2ba.nl).";

constexpr char kFooter[] = R"(Prints "READY <base-url>" on stdout once it accepts connections.
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
(installed: share/twoba-mock/doc/ and share/twoba-mock/fixtures/README.md).)";

// CLI11's help laid out as the project's tools print it: usage, description, options, footer.
class HelpFormatter : public CLI::Formatter {
 public:
  std::string make_help(const CLI::App* app, std::string name,
                        CLI::AppFormatMode mode) const override {
    return make_usage(app, std::move(name)) + make_description(app) + make_groups(app, mode) +
           "\n" + make_footer(app);
  }
};

// Validators for CLI11, which prefixes their message with "--flag: ".
CLI::Validator rule(std::function<bool(const std::string&)> ok, const std::string& message) {
  return CLI::Validator(
      [ok = std::move(ok), message](std::string& text) { return ok(text) ? "" : message; }, "");
}

CLI::Validator number(long min, long max) {
  return CLI::Validator(
      [min, max](std::string& text) -> std::string {
        char* end = nullptr;
        const long value = std::strtol(text.c_str(), &end, 10);
        if (!text.empty() && *end == '\0' && value >= min && value <= max) return {};
        return "expected a number from " + std::to_string(min) + " to " + std::to_string(max) +
               ", got '" + text + "'";
      },
      "");
}

CLI::Validator one_of(const std::string& a, const std::string& b) {
  return CLI::Validator(
      [a, b](std::string& text) -> std::string {
        if (text == a || text == b) return {};
        return "expected " + a + " or " + b + ", got '" + text + "'";
      },
      "");
}

bool non_empty(const std::string& text) { return !text.empty(); }

// A DNS name (letters, digits, '-' and '.') or an IP address; brackets around IPv6 are dropped.
bool is_host_name(const std::string& text) {
  std::string bare = text;
  if (bare.size() > 2 && bare.front() == '[' && bare.back() == ']')
    bare = bare.substr(1, bare.size() - 2);
  unsigned char address[sizeof(in6_addr)];
  if (inet_pton(AF_INET6, bare.c_str(), address) == 1) return true;
  if (bare.empty() || bare.size() > 253 || bare.front() == '.' || bare.front() == '-') return false;
  for (char c : bare) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.') return false;
  }
  return bare.find("..") == std::string::npos;
}

// Values that become CommandLine fields after parsing (--quiet wins over --log-format in any
// order).
struct Words {
  std::string log_format = "text";
  std::string control_from = "loopback";
  bool quiet = false;
};

// The grammar: one definition per flag drives parsing, validation and the help text.
void define(CLI::App& app, CommandLine& cl, Words& words) {
  app.description(kDescription);
  app.footer(kFooter);
  app.allow_extras();  // reported below as "unknown option", naming the word
  app.set_help_flag();
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  auto formatter = std::make_shared<HelpFormatter>();
  formatter->column_width(25);
  app.formatter(formatter);

  ServerOptions& o = cl.options;
  app.add_option("--fixture", o.fixture_path, "scenario to serve (default: fixtures/default.json)")
      ->type_name("FILE");
  app.add_option("--host", o.host,
                 "address to listen on (default 127.0.0.1); off loopback\n"
                 "the control API needs --admin-token")
      ->type_name("ADDR");
  app.add_option("--port", o.port, "port (default 8080; 0 takes a free port)")
      ->check(number(0, 65535))
      ->type_name("N");
  app.add_option("--tls-cert", o.tls_cert, "serve HTTPS with this PEM certificate ...")
      ->type_name("FILE");
  app.add_option("--tls-key", o.tls_key, "... and this PEM private key")->type_name("FILE");
  app.add_flag("--https", cl.https,
               "serve HTTPS with a certificate for the listening host, signed\n"
               "by a local CA made on first use; prints \"CA-FILE <ca.pem>\"\n"
               "after the READY line (trust that file in the client)");
  app.add_option("--https-dir", cl.https_dir,
                 "where --https keeps its CA and certificate\n"
                 "(default: $XDG_CACHE_HOME/twoba-mock or ~/.cache/twoba-mock)")
      ->check(rule(non_empty, "expected a folder"))
      ->type_name("DIR");
  app.add_option("--admin-token", o.admin_token, "Bearer token the control API (/__mock) requires")
      ->check(rule([](const std::string& text) { return text.size() >= 8; },
                   "use at least 8 characters"))
      ->type_name("TOKEN");
  app.add_option("--public-host", o.public_hosts,
                 "a name clients reach the mock by (a CI service's alias): the\n"
                 "control API accepts it as Host, and --https certifies it;\n"
                 "repeat it, or list names in $TWOBA_PUBLIC_HOST (a,b)")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->delimiter(',')
      ->envname("TWOBA_PUBLIC_HOST")
      ->check(rule(is_host_name, "expected a host name or IP address, without port or scheme"))
      ->type_name("NAME");
  app.add_option("--control-from", words.control_from,
                 "off loopback, open the control API without --admin-token\n"
                 "(for a container whose port is published to its host only)")
      ->check(one_of("loopback", "any"))
      ->type_name("any");
  app.add_option("--log-format", words.log_format,
                 "per-request log lines on stderr: text (default) or json")
      ->check(one_of("text", "json"))
      ->type_name("FORMAT");
  app.add_flag("--quiet", words.quiet, "no per-request log lines");
  app.add_option("--journal-capacity", o.journal_capacity,
                 "requests kept in the journal (default 10000)")
      ->check(number(0, 10000000))
      ->type_name("N");
  app.add_option("--threads", o.threads,
                 "event-loop threads (default: one per core but one, at least 1)")
      ->check(number(1, 4096))
      ->type_name("N");
  app.add_option("--state-file", o.state_file,
                 "keep grants, tokens, codes and the clock offset in FILE across\n"
                 "restarts (written atomically before each state-changing reply)")
      ->check(rule(non_empty, "expected a file name"))
      ->type_name("FILE");
  app.add_flag("-h,--help", cl.show_help, "show this help");
  app.add_flag("--version", cl.show_version, "show the version");
}

}  // namespace

std::string usage_text() {
  CommandLine cl;
  Words words;
  CLI::App app("", "mock_server");
  define(app, cl, words);
  return app.help();
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
  Words words;
  CLI::App app("", "mock_server");
  define(app, cl, words);
  try {
    std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 takes them last first
    app.parse(reversed);
  } catch (const CLI::ArgumentMismatch& e) {
    // CLI11 says "--port: 1 required N missing"; the flag is the part before the colon.
    const std::string message = e.what();
    *error = message.substr(0, message.find(':')) + " needs a value";
    return std::nullopt;
  } catch (const CLI::ParseError& e) {
    *error = e.what();
    return std::nullopt;
  }
  if (const auto extra = app.remaining(); !extra.empty()) {
    *error =
        "unknown option '" + extra.front().substr(0, extra.front().find('=')) + "' (see --help)";
    return std::nullopt;
  }
  cl.options.fixture_is_default = app.get_option("--fixture")->count() == 0;
  if (cl.options.fixture_is_default) cl.options.fixture_path = default_fixture;
  cl.options.log_format = words.quiet                  ? LogFormat::kNone
                          : words.log_format == "json" ? LogFormat::kJson
                                                       : LogFormat::kText;
  cl.options.control_from_any = words.control_from == "any";
  for (auto& name : cl.options.public_hosts) {
    // Compared with the Host header's host, which has no brackets.
    if (name.front() == '[') name = name.substr(1, name.size() - 2);
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
