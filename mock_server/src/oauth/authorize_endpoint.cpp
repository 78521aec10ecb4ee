#include "oauth/authorize_endpoint.h"

#include <optional>
#include <set>
#include <utility>

#include "http/form.h"
#include "oauth/client_auth.h"
#include "util/text_util.h"

namespace mock2ba {
namespace {

using Params = std::vector<std::pair<std::string, std::string>>;

// The authorization-request parameters, carried through the login form as hidden fields.
const char* const kRequestParams[] = {
    "response_type", "client_id",      "redirect_uri",         "scope",
    "state",         "code_challenge", "code_challenge_method"};

struct UriParts {
  std::string scheme;  // lower-cased
  std::string host;    // lower-cased; IPv6 literals keep their brackets
  std::string port;    // digits, or empty
  std::string rest;    // path, query and fragment as given; "/" when empty
};

std::optional<UriParts> split_uri(const std::string& uri) {
  size_t sep = uri.find("://");
  if (sep == std::string::npos || sep == 0) return std::nullopt;
  UriParts parts;
  parts.scheme = to_lower(uri.substr(0, sep));
  size_t start = sep + 3;
  size_t end = uri.find_first_of("/?#", start);
  std::string authority =
      uri.substr(start, end == std::string::npos ? std::string::npos : end - start);
  if (authority.empty() || authority.find('@') != std::string::npos) return std::nullopt;
  std::string after_host;
  if (authority[0] == '[') {
    size_t close = authority.find(']');
    if (close == std::string::npos) return std::nullopt;
    parts.host = authority.substr(0, close + 1);
    after_host = authority.substr(close + 1);
  } else {
    size_t colon = authority.find(':');
    parts.host = authority.substr(0, colon);
    if (colon != std::string::npos) after_host = authority.substr(colon);
  }
  if (!after_host.empty()) {
    parts.port = after_host.substr(1);
    if (after_host[0] != ':' || parts.port.empty() || parts.port.size() > 5 ||
        parts.port.find_first_not_of("0123456789") != std::string::npos) {
      return std::nullopt;
    }
  }
  parts.host = to_lower(parts.host);
  parts.rest = end == std::string::npos ? "/" : uri.substr(end);
  if (parts.rest[0] != '/') parts.rest.insert(0, "/");
  return parts;
}

bool is_loopback_literal(const std::string& host) {
  return host == "127.0.0.1" || host == "[::1]" || host == "localhost";
}

// Appends query parameters to a redirect URI, keeping the query it already has (RFC 6749 §3.1.2).
std::string with_query(const std::string& uri, const Params& params) {
  std::string out = uri;
  bool open = !out.empty() && (out.back() == '?' || out.back() == '&');
  char separator = out.find('?') == std::string::npos ? '?' : '&';
  for (const auto& [name, value] : params) {
    if (!open) out.push_back(separator);
    open = false;
    separator = '&';
    out += name + "=" + form_encode(value);
  }
  return out;
}

// ---- HTML ----------------------------------------------------------------------------------

constexpr const char* kStyle = R"css(
*{box-sizing:border-box}
html{color-scheme:light}
body{margin:0;min-height:100vh;display:flex;flex-direction:column;align-items:center;justify-content:center;gap:18px;padding:32px 16px;background:#eef2f6;color:#1c2733;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
.card{width:100%;max-width:390px;background:#fff;border:1px solid #dce3ea;border-radius:14px;box-shadow:0 12px 32px rgba(16,42,67,.08),0 2px 6px rgba(16,42,67,.05);padding:32px 32px 26px}
.card.wide{max-width:560px}
.brand{display:flex;align-items:center;gap:12px;margin-bottom:26px}
.logo{display:inline-flex;align-items:center;justify-content:center;width:44px;height:44px;border-radius:11px;background:linear-gradient(135deg,#1670b8,#0d4d80);color:#fff;font-weight:700;font-size:14px;letter-spacing:.3px}
.brand strong{display:block;font-size:16px;color:#0f3a5f;line-height:1.2}
.brand span.sub{display:block;font-size:12px;color:#667788}
h1{font-size:22px;line-height:1.25;margin:0 0 6px}
.lead{margin:0 0 18px;color:#46576a}
label{display:block;font-weight:600;font-size:14px;margin:14px 0 6px}
input[type=text],input[type=password]{width:100%;padding:10px 12px;font:inherit;color:inherit;border:1px solid #b9c5d1;border-radius:8px;background:#fff}
input:focus{outline:none;border-color:#1670b8;box-shadow:0 0 0 3px rgba(22,112,184,.22)}
.actions{display:flex;flex-direction:column;gap:10px;margin-top:24px}
button{font:inherit;font-weight:600;padding:10px 14px;border-radius:8px;cursor:pointer;border:1px solid transparent}
button.primary{background:#1670b8;color:#fff}
button.primary:hover{background:#115d99}
button.secondary{background:#fff;color:#0f3a5f;border-color:#c3ced9}
button.secondary:hover{background:#f4f7fa}
button:focus-visible{outline:3px solid rgba(22,112,184,.4);outline-offset:2px}
.alert{background:#fdeeee;border:1px solid #f2c4c4;color:#8a1c1c;border-radius:8px;padding:10px 12px;margin:0 0 6px;font-size:14px}
.alert.test{background:#fff7e0;border-color:#f1d48a;color:#6b4e00}
.meta{margin:22px 0 0;padding-top:16px;border-top:1px solid #e6ebf0;font-size:13px;color:#5b6b7b}
.meta p{margin:0 0 6px}
.chip{display:inline-block;background:#eef4fa;border:1px solid #d3dfeb;border-radius:999px;padding:0 9px;margin:3px 4px 0 0;font-size:12px;color:#23415c}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:13px;background:#f2f5f8;padding:1px 5px;border-radius:4px;overflow-wrap:anywhere}
code.box{display:block;padding:12px;margin:6px 0 14px;border:1px solid #dce3ea;word-break:break-all;user-select:all}
dl{margin:0}
dt{font-weight:600;font-size:14px;margin-top:10px}
dd{margin:2px 0 0}
footer{font-size:12px;color:#6b7b8b;text-align:center;max-width:390px}
)css";

std::string page(const std::string& title, const std::string& card_class,
                 const std::string& content) {
  return "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
         "<meta name=\"robots\" content=\"noindex\">\n<title>" +
         html_escape(title) + " · 2BA mock</title>\n<style>" + kStyle +
         "</style>\n</head>\n<body>\n<main class=\"" + card_class +
         "\">\n"
         "<div class=\"brand\"><span class=\"logo\" aria-hidden=\"true\">2BA</span>"
         "<span><strong>2BA mock</strong><span class=\"sub\">Authorization "
         "server</span></span></div>\n" +
         content +
         "</main>\n<footer>An offline test server that imitates authorize.2ba.nl. "
         "Never enter real 2BA credentials here.</footer>\n</body>\n</html>\n";
}

// Pages get a strict policy: no scripts, no external assets. form-action is left out on purpose:
// Chromium applies it to the redirect after the form post, which goes to the client.
void send_page(httplib::Response& res, int status, const std::string& html) {
  res.set_header("Content-Security-Policy",
                 "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'");
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("Referrer-Policy", "no-referrer");
  send_html(res, status, html);
}

std::string host_of(const std::string& uri) {
  auto parts = split_uri(uri);
  if (!parts) return uri.substr(0, uri.find(':'));  // a custom scheme: name the scheme
  return parts->host + (parts->port.empty() ? "" : ":" + parts->port);
}

// ---- the authorization request --------------------------------------------------------------

class AuthorizeFlow {
 public:
  explicit AuthorizeFlow(RequestContext& ctx) : ctx_(ctx), fixture_(*ctx.state->fixture) {}

  void handle() {
    const std::string& method = ctx_.req.method;
    if (method == "GET" || method == "HEAD") {
      std::string query;
      if (size_t q = ctx_.req.target.find('?'); q != std::string::npos)
        query = ctx_.req.target.substr(q + 1);
      return start(query);
    }
    // Whatever happens next, the password never reaches the journal.
    ctx_.journal_body = redact_password_fields(ctx_.req.body);
    if (!is_form_content_type(ctx_.req.get_header_value("Content-Type"))) {
      error_page(400, OAuthError::kInvalidRequest,
                 "A POST here must be application/x-www-form-urlencoded.");
      return;
    }
    auto form = parse(ctx_.req.body);
    if (!form) return;
    // A POST without credentials or action is an authorization request itself (OIDC Core §3.1.2.1).
    if (!form->count("action") && !form->count("username") && !form->count("password")) {
      return start_with(*form);
    }
    if (!validate(*form)) return;
    take_login(*form);
  }

 private:
  std::optional<Form> parse(const std::string& text) {
    std::string parse_error;
    auto form = Form::parse(text, &parse_error);
    if (!form) {
      error_page(400, OAuthError::kInvalidRequest,
                 "The request parameters are malformed: " + parse_error + ".");
      return std::nullopt;
    }
    for (const auto& [name, value] : form->fields()) {
      if (!is_valid_utf8(name) || !is_valid_utf8(value)) {
        error_page(400, OAuthError::kInvalidRequest,
                   "The request parameters must be UTF-8 once decoded.");
        return std::nullopt;
      }
    }
    return form;
  }

  void start(const std::string& query) {
    auto form = parse(query);
    if (form) start_with(*form);
  }

  void start_with(const Form& form) {
    if (!validate(form)) return;
    if (fixture_.auto_login) return auto_login(*fixture_.auto_login);
    ctx_.outcome["login"] = "form";
    show_login(200, "", "");
  }

  // Checks the request in RFC 6749 §4.1.2.1 order: until client and redirect_uri are trusted,
  // errors go to a page; after that they go back to the client. Returns false once answered.
  bool validate(const Form& form) {
    return validate_redirect_target(form) && validate_request(form);
  }

  // The client and its redirect_uri; errors are shown on a page. Returns false once answered.
  bool validate_redirect_target(const Form& form) {
    nlohmann::json received = nlohmann::json::object();
    for (const char* name : kRequestParams) {
      if (const std::string* value = form.find(name)) received[name] = *value;
    }
    ctx_.outcome["authorize"] = received;

    for (const char* name : {"client_id", "redirect_uri"}) {
      if (form.count(name) > 1) {
        return error_page(400, OAuthError::kInvalidRequest,
                          std::string("The parameter ") + name + " is repeated.");
      }
    }
    auto client_id = form.param("client_id");
    if (!client_id)
      return error_page(400, OAuthError::kInvalidRequest, "The client_id parameter is missing.");
    ctx_.outcome["client_id"] = *client_id;
    auto client = fixture_.clients.find(*client_id);
    if (client == fixture_.clients.end()) {
      return error_page(400, OAuthError::kInvalidClient,
                        "The client '" + *client_id + "' is not registered.");
    }
    client_ = &client->second;
    auto redirect_uri = form.param("redirect_uri");
    if (!redirect_uri)
      return error_page(400, OAuthError::kInvalidRequest, "The redirect_uri parameter is missing.");
    if (redirect_uri->find('#') != std::string::npos) {
      return error_page(400, OAuthError::kInvalidRequest,
                        "The redirect_uri must not contain a fragment (RFC 6749 §3.1.2).");
    }
    bool registered = false;
    std::vector<std::string> self = self_urls();
    for (const auto& uri : client_->redirect_uris)
      registered = registered || redirect_uri_matches(uri, *redirect_uri, self);
    if (!registered) {
      return error_page(400, OAuthError::kInvalidRequest,
                        "The redirect_uri '" + *redirect_uri +
                            "' is not registered for the client '" + client_->id + "'.");
    }
    redirect_uri_ = *redirect_uri;
    return true;
  }

  // The rest of the request, once the redirect_uri is trusted: errors are redirects (RFC 6749
  // §4.1.2.1). Returns false once answered.
  bool validate_request(const Form& form) {
    state_ = copy_of(form.param("state"));
    for (const char* name :
         {"response_type", "scope", "state", "code_challenge", "code_challenge_method"}) {
      if (form.count(name) > 1) {
        return redirect_error(OAuthError::kInvalidRequest,
                              std::string("The parameter ") + name + " is repeated.");
      }
    }
    auto response_type = form.param("response_type");
    if (!response_type)
      return redirect_error(OAuthError::kInvalidRequest, "The response_type parameter is missing.");
    if (*response_type != "code") {
      return redirect_error(OAuthError::kUnsupportedResponseType,
                            "Only response_type=code is supported.");
    }
    if (!client_->grant_types.count("authorization_code")) {
      return redirect_error(
          OAuthError::kUnauthorizedClient,
          "The client '" + client_->id + "' may not use the authorization code grant.");
    }
    scope_ = copy_of(form.param("scope"));
    if (scope_) {
      for (const auto& item : split_spaces(*scope_)) {
        if (!fixture_.scopes.count(item) || !client_->scopes.count(item)) {
          return redirect_error(
              OAuthError::kInvalidScope,
              "The scope '" + item + "' is unknown or not allowed for this client.");
        }
      }
    }
    code_challenge_ = form.value("code_challenge");
    auto method = form.param("code_challenge_method");
    if (method && code_challenge_.empty()) {
      return redirect_error(OAuthError::kInvalidRequest,
                            "code_challenge_method was sent without a code_challenge.");
    }
    if (method && *method != "S256" && *method != "plain") {
      return redirect_error(OAuthError::kInvalidRequest,
                            "The code_challenge_method must be S256 or plain (RFC 7636 §4.3).");
    }
    if (!code_challenge_.empty() && !is_pkce_value(code_challenge_)) {
      return redirect_error(
          OAuthError::kInvalidRequest,
          "The code_challenge must be 43-128 unreserved characters (RFC 7636 §4.2).");
    }
    if (client_->require_pkce && code_challenge_.empty()) {
      return redirect_error(
          OAuthError::kInvalidRequest,
          "The client '" + client_->id + "' must use PKCE: send a code_challenge.");
    }
    if (!code_challenge_.empty()) code_challenge_method_ = method ? *method : "plain";
    return true;
  }

  // The mock's own base URL as the client may know it: the configured one and the Host it used.
  std::vector<std::string> self_urls() const {
    std::vector<std::string> urls{ctx_.base_url};
    std::string host = ctx_.req.get_header_value("Host");
    auto base = split_uri(ctx_.base_url);
    if (!host.empty() && base) {
      std::string prefix = base->rest == "/" ? "" : base->rest;
      urls.push_back(base->scheme + "://" + host + prefix);
    }
    return urls;
  }

  void take_login(const Form& form) {
    if (form.value("action") == "cancel") {
      ctx_.outcome["login"] = "cancel";
      redirect_error(OAuthError::kAccessDenied, "The user cancelled the login.");
      return;
    }
    std::string username = form.value("username");
    const std::string* password = form.find("password");
    if (!username.empty()) ctx_.outcome["username"] = username;
    if (username.empty() || !password || password->empty()) {
      ctx_.outcome["login"] = "missing_credentials";
      return show_login(200, username, "Enter your user name and password.");
    }
    auto user = fixture_.users.find(username);
    if (user == fixture_.users.end() || !secrets_equal(*password, user->second.password)) {
      ctx_.outcome["login"] = "wrong_password";
      return show_login(200, username, "The user name or password is incorrect.");
    }
    ctx_.outcome["login"] = "ok";
    issue_code(username);
  }

  void auto_login(const std::string& username) {
    ctx_.outcome["login"] = "auto_login";
    ctx_.outcome["username"] = username;
    issue_code(username);
  }

  void issue_code(const std::string& username) {
    CodeRequest request{client_->id,           username,           redirect_uri_,
                        scope_.value_or(""),   scope_.has_value(), code_challenge_,
                        code_challenge_method_};
    auto [code, expires] = ctx_.state->store.create_code(request, ctx_.now);
    Params params{{"code", code}};
    if (state_) params.emplace_back("state", *state_);
    redirect(with_query(redirect_uri_, params));
  }

  bool redirect_error(OAuthError code, const std::string& description) {
    const char* error = oauth_error_name(code);
    ctx_.outcome["error"] = error;
    Params params{{"error", error}, {"error_description", description}};
    if (state_) params.emplace_back("state", *state_);
    redirect(with_query(redirect_uri_, params));
    return false;
  }

  void redirect(const std::string& location) {
    ctx_.res.set_header("Location", location);
    std::string note;
    if (ctx_.outcome.value("login", "") == "auto_login") {
      note =
          "<p class=\"alert test\">Test-only: the fixture option <code>auto_login</code> logged in "
          "<strong>" +
          html_escape(ctx_.outcome.value("username", "")) +
          "</strong> without the login form.</p>\n";
    }
    send_page(
        ctx_.res, 302,
        page("Redirecting", "card",
             "<h1>Redirecting…</h1>\n" + note + "<p class=\"lead\">Continue to <a href=\"" +
                 html_escape(location) + "\">" + html_escape(host_of(location)) + "</a>.</p>\n"));
  }

  bool error_page(int status, OAuthError code, const std::string& description) {
    const std::string error = oauth_error_name(code);
    ctx_.outcome["error"] = error;
    ctx_.outcome["error_page"] = true;
    std::string content =
        "<h1>This sign-in link does not work</h1>\n"
        "<p class=\"lead\">The application sent an authorization request that cannot be accepted, "
        "so you "
        "are not sent back to it.</p>\n<p class=\"alert\" role=\"alert\">" +
        html_escape(description) + "</p>\n<div class=\"meta\"><p>Error code: <code>" +
        html_escape(error) +
        "</code></p><p>Developers: see RFC 6749 §4.1.2.1. An unknown client or an unregistered "
        "redirect_uri is never redirected to.</p></div>\n";
    send_page(ctx_.res, status, page("Sign-in error", "card", content));
    return false;
  }

  void show_login(int status, const std::string& username, const std::string& message) {
    std::string hidden;
    auto add_hidden = [&hidden](const char* name, const std::string& value) {
      hidden += "<input type=\"hidden\" name=\"" + std::string(name) + "\" value=\"" +
                html_escape(value) + "\">\n";
    };
    add_hidden("response_type", "code");
    add_hidden("client_id", client_->id);
    add_hidden("redirect_uri", redirect_uri_);
    if (scope_) add_hidden("scope", *scope_);
    if (state_) add_hidden("state", *state_);
    if (!code_challenge_.empty()) {
      add_hidden("code_challenge", code_challenge_);
      add_hidden("code_challenge_method", code_challenge_method_);
    }
    bool focus_password = !username.empty();
    std::string content = "<h1>Log in</h1>\n<p class=\"lead\"><strong>" +
                          html_escape(client_->name) +
                          "</strong> wants to access your 2BA account.</p>\n";
    if (!message.empty())
      content += "<p class=\"alert\" role=\"alert\">" + html_escape(message) + "</p>\n";
    content += "<form method=\"post\" action=\"" + html_escape(ctx_.req.path) + "\">\n" + hidden +
               "<label for=\"username\">User name</label>\n"
               "<input type=\"text\" id=\"username\" name=\"username\" autocomplete=\"username\" "
               "autocapitalize=\"none\" spellcheck=\"false\" required value=\"" +
               html_escape(username) + "\"" + (focus_password ? "" : " autofocus") +
               ">\n"
               "<label for=\"password\">Password</label>\n"
               "<input type=\"password\" id=\"password\" name=\"password\" "
               "autocomplete=\"current-password\" "
               "required" +
               (focus_password ? " autofocus" : "") +
               ">\n"
               // Log in comes first in the form, so Enter submits it (HTML implicit submission).
               "<div class=\"actions\">\n"
               "<button type=\"submit\" class=\"primary\" name=\"action\" value=\"login\">Log "
               "in</button>\n"
               "<button type=\"submit\" class=\"secondary\" name=\"action\" value=\"cancel\" "
               "formnovalidate>"
               "Cancel</button>\n</div>\n</form>\n<div class=\"meta\">\n";
    if (scope_) {
      content += "<p>Requested access: ";
      for (const auto& item : split_spaces(*scope_))
        content += "<span class=\"chip\">" + html_escape(item) + "</span>";
      content += "</p>\n";
    }
    content += "<p>After you log in you return to <code>" + html_escape(host_of(redirect_uri_)) +
               "</code>.</p>\n</div>\n";
    send_page(ctx_.res, status, page("Log in", "card", content));
  }

  RequestContext& ctx_;
  const Fixture& fixture_;
  const Client* client_ = nullptr;
  std::string redirect_uri_;
  std::optional<std::string> state_;
  std::optional<std::string> scope_;
  std::string code_challenge_;
  std::string code_challenge_method_;
};

}  // namespace

bool redirect_uri_matches(const std::string& registered, const std::string& candidate,
                          const std::vector<std::string>& self_urls) {
  if (registered == "self") {
    for (const auto& url : self_urls) {
      if (candidate == url || candidate == url + "/") return true;
    }
    return false;
  }
  if (registered == candidate) return true;
  auto r = split_uri(registered);
  auto c = split_uri(candidate);
  // RFC 8252 §7.3: native apps listen on a port the OS picks, so loopback ports are not compared.
  return r && c && r->scheme == "http" && c->scheme == "http" && is_loopback_literal(r->host) &&
         r->host == c->host && r->rest == c->rest;
}

std::string redact_password_fields(const std::string& body) {
  std::string out;
  size_t pos = 0;
  while (pos <= body.size()) {
    size_t amp = body.find('&', pos);
    if (amp == std::string::npos) amp = body.size();
    std::string field = body.substr(pos, amp - pos);
    size_t eq = field.find('=');
    auto name = form_decode(field.substr(0, eq));
    if (name && *name == "password" && eq != std::string::npos && eq + 1 < field.size()) {
      field = field.substr(0, eq + 1) + "%5Bredacted%5D";
    }
    if (pos > 0) out.push_back('&');
    out += field;
    pos = amp + 1;
  }
  return out;
}

void handle_authorize_endpoint(RequestContext& ctx) { AuthorizeFlow(ctx).handle(); }

void handle_base_page(RequestContext& ctx) {
  std::string query;
  if (size_t q = ctx.req.target.find('?'); q != std::string::npos)
    query = ctx.req.target.substr(q + 1);
  auto form = Form::parse(query, nullptr);
  auto get = [&form](const char* name) -> std::string {
    std::string value = form ? form->value(name) : "";
    return is_valid_utf8(value) ? value : "";
  };
  std::string code = get("code"), error = get("error"), state = get("state");
  std::string state_html = form && form->find("state")
                               ? "<dt>state</dt><dd><code>" + html_escape(state) + "</code></dd>\n"
                               : "";
  if (!code.empty()) {
    ctx.outcome["received"] = "code";
    std::string content =
        "<h1>Authorization code received</h1>\n<p class=\"lead\">This page is the mock's own base "
        "URL, "
        "which 2BA's sample applications use as their redirect_uri.</p>\n"
        "<dl><dt>code</dt><dd><code class=\"box\">" +
        html_escape(code) + "</code></dd>\n" + state_html +
        "</dl>\n<div class=\"meta\"><p>Exchange it with <code>POST " + html_escape(ctx.base_url) +
        "/OAuth/Token</code>: <code>grant_type=authorization_code</code>, this <code>code</code>, "
        "the same "
        "<code>redirect_uri</code>, your client credentials and, with PKCE, the "
        "<code>code_verifier</code>. "
        "A code works once and expires after a few minutes.</p></div>\n";
    return send_page(ctx.res, 200, page("Code received", "card wide", content));
  }
  if (!error.empty()) {
    ctx.outcome["received"] = "error";
    std::string content =
        "<h1>Authorization failed</h1>\n<p class=\"alert\" role=\"alert\"><code>" +
        html_escape(error) + "</code> " + html_escape(get("error_description")) + "</p>\n<dl>" +
        state_html + "</dl>\n";
    return send_page(ctx.res, 200, page("Authorization failed", "card wide", content));
  }
  std::string base = html_escape(ctx.base_url);
  std::string content =
      "<h1>2BA mock authorization server</h1>\n<p class=\"lead\">An offline stand-in for "
      "authorize.2ba.nl, for testing 2BA clients.</p>\n<dl>\n"
      "<dt>Authorization endpoint</dt><dd><code>" +
      base +
      "/OAuth/Authorize</code></dd>\n"
      "<dt>Token endpoint</dt><dd><code>" +
      base +
      "/OAuth/Token</code></dd>\n"
      "<dt>Discovery</dt><dd><a href=\"" +
      base + "/.well-known/openid-configuration\"><code>" + base +
      "/.well-known/openid-configuration</code></a></dd>\n</dl>\n";
  send_page(ctx.res, 200, page("2BA mock", "card wide", content));
}

}  // namespace mock2ba
