#include "oauth/token_endpoint.h"

#include <set>

#include "http/form.h"
#include "oauth/client_auth.h"
#include "oauth/grant_types.h"
#include "util/text_util.h"

namespace mock2ba {
namespace {

const std::set<std::string> kSingleValued = {
    "grant_type",   "username",  "password",      "refresh_token", "code",
    "redirect_uri", "client_id", "client_secret", "scope",         "code_verifier"};
const std::set<std::string> kNone;

// Whether any name occurs twice. Short forms are checked pair by pair; longer ones (rare) are
// assumed to repeat, so that the caller checks them name by name.
bool has_repeated_names(const Form& form) {
  const auto& fields = form.fields();
  if (fields.size() > 16) return true;
  for (size_t i = 0; i < fields.size(); ++i) {
    for (size_t j = i + 1; j < fields.size(); ++j) {
      if (fields[i].first == fields[j].first) return true;
    }
  }
  return false;
}

// Appends a token as a JSON string. Both token formats draw from base64 alphabets
// (A-Z a-z 0-9 - _ + / =), which JSON never escapes.
void append_json_token(std::string& out, std::string_view token) {
  out += '"';
  out += token;
  out += '"';
}

// RFC 6749 §3.1: a parameter sent without a value is treated as omitted.
// Points into the form (no copy); nullptr when absent or empty.
const std::string* form_param(const Form& form, const char* name) {
  const std::string* value = form.find(name);
  return value && !value->empty() ? value : nullptr;
}

class TokenRequest : public GrantRequest {
 public:
  explicit TokenRequest(RequestContext& ctx) : ctx_(ctx), fixture_(*ctx.state->fixture) {}

  void handle() {
    if (ctx_.req.method != "POST") {
      ctx_.res.set_header("Allow", "POST");
      return error(405, OAuthError::kInvalidRequest,
                   "The token endpoint accepts only POST (RFC 6749 §3.2).");
    }
    if (!is_form_content_type(ctx_.req.get_header_value("Content-Type"))) {
      return error(400, OAuthError::kInvalidRequest,
                   "The Content-Type must be application/x-www-form-urlencoded.");
    }
    std::string parse_error;
    auto form = Form::parse(ctx_.req.body, &parse_error);
    if (!form)
      return error(400, OAuthError::kInvalidRequest,
                   "The body is not a valid form: " + parse_error + ".");
    form_ = std::move(*form);
    for (const auto& [name, value] : form_.fields()) {
      if (!is_valid_utf8(name) || !is_valid_utf8(value)) {
        return error(400, OAuthError::kInvalidRequest, "Form values must be UTF-8 once decoded.");
      }
    }
    // Usually no name repeats and the per-name counts are skipped.
    for (const auto& name : has_repeated_names(form_) ? kSingleValued : kNone) {
      if (form_.count(name) > 1) {
        return error(400, OAuthError::kInvalidRequest,
                     "The parameter '" + name + "' is repeated (RFC 6749 §3.2).");
      }
    }
    const std::string* grant_type = form_param(form_, "grant_type");
    if (grant_type) ctx_.outcome["grant_type"] = *grant_type;
    if (!authenticate_client()) return;
    if (!grant_type)
      return error(400, OAuthError::kInvalidRequest, "The grant_type parameter is missing.");
    const GrantType* grant = find_grant_type(*grant_type);
    if (!grant) {
      return error(
          400, OAuthError::kUnsupportedGrantType,
          "The grant type '" + *grant_type + "' is not supported; use " + grant_type_names() + ".");
    }
    if (!client_->grant_types.count(*grant_type)) {
      return error(
          400, OAuthError::kUnauthorizedClient,
          "The client '" + client_->id + "' may not use the grant type '" + *grant_type + "'.");
    }
    if (const std::string* scope = form_param(form_, "scope")) scope_ = *scope;
    if (scope_ && !check_scope()) return;
    grant->handle(*this);
  }

  // GrantRequest, for the grant handlers.
  const std::string* param(const char* name) const override { return form_param(form_, name); }
  const Form& form() const override { return form_; }
  const Client& client() const override { return *client_; }
  const std::optional<std::string>& scope() const override { return scope_; }
  RequestContext& context() override { return ctx_; }

  void error(int status, OAuthError code, const std::string& description) override {
    ctx_.outcome["error"] = oauth_error_name(code);
    if (code == OAuthError::kInvalidClient && used_basic_) {
      status = 401;
      ctx_.res.set_header("WWW-Authenticate", "Basic realm=\"2BA\"");
    }
    send_oauth_error(ctx_.res, status, code, description);
  }

  void finish(const GrantResult& result, const char* state_key) override {
    if (result.error) {
      ctx_.outcome[state_key] = token_state_name(result.error->state);
      if (result.error->grant_id)
        ctx_.outcome["grant"] = "g" + std::to_string(result.error->grant_id);
      return error(400, result.error->error, result.error->description);
    }
    ctx_.outcome[state_key] = token_state_name(result.tokens->presented_state);
    succeed(*result.tokens);
  }

  void succeed(const IssuedTokens& tokens) override {
    auto user = fixture_.users.find(tokens.username);
    const Policy& policy =
        fixture_.policy_for(*client_, user == fixture_.users.end() ? nullptr : &user->second);
    // Written directly rather than through a JSON object: this is the hottest reply. Member order
    // matters: some 2BA clients slice the body, expecting access_token first.
    std::string body;
    body.reserve(96 + tokens.access_token.size() + policy.token_type.size() +
                 (tokens.refresh_token ? tokens.refresh_token->size() : 0) + tokens.scope.size());
    body += "{\"access_token\":";
    append_json_token(body, tokens.access_token);
    body += ",\"token_type\":";
    append_json_string(body, policy.token_type);
    if (policy.include_expires_in) {
      body += ",\"expires_in\":";
      if (policy.expires_in_as_string) body += '"';
      body += std::to_string(tokens.expires_in);
      if (policy.expires_in_as_string) body += '"';
    }
    if (tokens.refresh_token) {
      body += ",\"refresh_token\":";
      append_json_token(body, *tokens.refresh_token);
    }
    if (tokens.has_scope) {
      body += ",\"scope\":";
      append_json_string(body, tokens.scope);
    }
    for (const auto& item : policy.extra_response_fields.items()) {
      body += ',';
      append_json_string(body, item.key());
      body += ':';
      body += item.value().dump();
    }
    body += '}';
    ctx_.outcome["grant"] = "g" + std::to_string(tokens.grant_id);
    ctx_.outcome["username"] = tokens.username;
    ctx_.res.set_header("Cache-Control", "no-store");
    ctx_.res.set_header("Pragma", "no-cache");
    send_json(ctx_.res, 200, body);
  }

 private:
  bool authenticate_client() {
    std::string header = ctx_.req.get_header_value("Authorization");
    std::string basic_error;
    auto basic = parse_basic_authorization(header, &basic_error);
    if (!basic && !basic_error.empty()) {
      used_basic_ = true;
      ctx_.outcome["client_auth_failure"] = "malformed_basic";
      error(401, OAuthError::kInvalidClient, basic_error);
      return false;
    }
    used_basic_ = basic.has_value();
    const std::string* body_id = form_param(form_, "client_id");
    const std::string* body_secret = form_param(form_, "client_secret");
    std::string client_id;
    std::vector<const std::string*> presented;  // acceptable spellings of the secret
    if (basic) {
      if (body_secret) {
        ctx_.outcome["client_auth_failure"] = "secret_sent_twice";
        error(400, OAuthError::kInvalidRequest,
              "Client credentials were sent both in the Authorization header and in the body; use "
              "one method.");
        return false;
      }
      if (body_id && *body_id != basic->client_id && *body_id != basic->raw_client_id) {
        ctx_.outcome["client_auth_failure"] = "client_id_mismatch";
        error(400, OAuthError::kInvalidRequest,
              "The client_id in the body differs from the one in the Authorization header.");
        return false;
      }
      client_id =
          fixture_.clients.count(basic->client_id) ? basic->client_id : basic->raw_client_id;
      presented = {&basic->client_secret, &basic->raw_client_secret};
      ctx_.outcome["client_auth"] = "client_secret_basic";
      ctx_.outcome["basic_form_encoded"] = basic->client_secret != basic->raw_client_secret ||
                                           basic->client_id != basic->raw_client_id;
    } else {
      if (!body_id) {
        ctx_.outcome["client_auth_failure"] = "missing_client_id";
        error(400, OAuthError::kInvalidClient,
              "Client authentication is missing: send client_id and client_secret in the body or "
              "use HTTP Basic.");
        return false;
      }
      client_id = *body_id;
      if (body_secret) presented = {body_secret};
      ctx_.outcome["client_auth"] = body_secret ? "client_secret_post" : "none";
    }
    ctx_.outcome["client_id"] = client_id;
    auto it = fixture_.clients.find(client_id);
    if (it == fixture_.clients.end()) {
      ctx_.outcome["client_auth_failure"] = "unknown_client";
      error(400, OAuthError::kInvalidClient, "The client '" + client_id + "' is unknown.");
      return false;
    }
    client_ = &it->second;
    if (client_->is_public()) {
      if (!presented.empty() && !(presented.size() == 1 && presented[0]->empty())) {
        ctx_.outcome["client_auth_failure"] = "secret_for_public_client";
        error(400, OAuthError::kInvalidClient,
              "The client '" + client_id + "' is public and has no secret; send none.");
        return false;
      }
      return true;
    }
    for (const std::string* secret : presented) {
      if (secrets_equal(*secret, *client_->secret)) return true;
    }
    // Say which part failed (a mock may; the real server would not): the usual mistakes are a
    // secret never sent and the secret of another client or environment.
    const char* where = used_basic_ ? "in the Authorization header (HTTP Basic)" : "in the body";
    if (presented.empty()) {
      ctx_.outcome["client_auth_failure"] = "missing_secret";
      error(400, OAuthError::kInvalidClient,
            "The client_secret of client '" + client_id +
                "' is missing: send it in the body or use HTTP Basic.");
    } else {
      ctx_.outcome["client_auth_failure"] = "wrong_secret";
      error(400, OAuthError::kInvalidClient,
            "The client_secret sent " + std::string(where) + " is wrong for client '" + client_id +
                "'.");
    }
    return false;
  }

  bool check_scope() {
    for (const auto& item : split_spaces(*scope_)) {
      if (!fixture_.scopes.count(item) || !client_->scopes.count(item)) {
        error(400, OAuthError::kInvalidScope,
              "The scope '" + item + "' is unknown or not allowed for this client.");
        return false;
      }
    }
    return true;
  }

  RequestContext& ctx_;
  const Fixture& fixture_;
  Form form_;
  const Client* client_ = nullptr;
  bool used_basic_ = false;
  std::optional<std::string> scope_;
};

}  // namespace

void handle_token_endpoint(RequestContext& ctx) { TokenRequest(ctx).handle(); }

}  // namespace mock2ba
