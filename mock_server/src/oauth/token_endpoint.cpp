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

class TokenRequest {
 public:
  explicit TokenRequest(RequestContext& ctx) : ctx_(ctx), fixture_(*ctx.state->fixture) {}

  void handle() {
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
    const std::string* grant_type = form_.param("grant_type");
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
    if (const std::string* scope = form_.param("scope")) scope_ = *scope;
    if (scope_ && !check_scope()) return;
    reply(*grant,
          grant->handle({ctx_.state->store, fixture_.users, *client_, form_, scope_, ctx_.now}));
  }

 private:
  // Sends a grant's answer and journals it.
  void reply(const GrantType& grant, const GrantResult& result) {
    if (result.error) {
      const GrantError& failed = *result.error;
      if (!failed.username.empty()) ctx_.outcome["username"] = failed.username;
      if (grant.presented_state_key && failed.state)
        ctx_.outcome[grant.presented_state_key] = token_state_name(*failed.state);
      if (failed.grant_id) ctx_.outcome["grant"] = "g" + std::to_string(failed.grant_id);
      return error(400, failed.error, failed.description);
    }
    if (grant.presented_state_key)
      ctx_.outcome[grant.presented_state_key] = token_state_name(result.tokens->presented_state);
    succeed(*result.tokens);
  }

  void error(int status, OAuthError code, const std::string& description) {
    ctx_.outcome["error"] = oauth_error_name(code);
    if (code == OAuthError::kInvalidClient && used_basic_) {
      status = 401;
      ctx_.res.set_header("WWW-Authenticate", "Basic realm=\"2BA\"");
    }
    send_oauth_error(ctx_.res, status, code, description);
  }

  void succeed(const IssuedTokens& tokens) {
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
    set_no_store(ctx_.res);
    send_json(ctx_.res, 200, body);
  }

  // Who the client says it is and the secrets it presented (each acceptable spelling of one).
  struct Presented {
    std::string client_id;
    std::vector<const std::string*> secrets;
  };

  // RFC 6749 §2.3.1: HTTP Basic or client_id (and client_secret) in the body, never both.
  // Replies and returns false when the client is not authenticated.
  bool authenticate_client() {
    std::string basic_error;
    auto basic =
        parse_basic_authorization(ctx_.req.get_header_value("Authorization"), &basic_error);
    if (!basic && !basic_error.empty()) {
      used_basic_ = true;
      return refuse_client(401, OAuthError::kInvalidClient, "malformed_basic", basic_error);
    }
    used_basic_ = basic.has_value();
    basic_ = std::move(basic);
    std::optional<Presented> presented = basic_ ? presented_in_header() : presented_in_body();
    if (!presented) return false;
    ctx_.outcome["client_id"] = presented->client_id;
    auto it = fixture_.clients.find(presented->client_id);
    if (it == fixture_.clients.end()) {
      return refuse_client(400, OAuthError::kInvalidClient, "unknown_client",
                           "The client '" + presented->client_id + "' is unknown.");
    }
    client_ = &it->second;
    return client_->is_public() ? check_no_secret(*presented) : check_secret(*presented);
  }

  std::optional<Presented> presented_in_header() {
    const std::string* body_id = form_.param("client_id");
    if (form_.param("client_secret")) {
      refuse_client(400, OAuthError::kInvalidRequest, "secret_sent_twice",
                    "Client credentials were sent both in the Authorization header and in the "
                    "body; use one method.");
      return std::nullopt;
    }
    if (body_id && *body_id != basic_->client_id && *body_id != basic_->raw_client_id) {
      refuse_client(400, OAuthError::kInvalidRequest, "client_id_mismatch",
                    "The client_id in the body differs from the one in the Authorization header.");
      return std::nullopt;
    }
    ctx_.outcome["client_auth"] = client_auth_method_name(ClientAuthMethod::kSecretBasic);
    ctx_.outcome["basic_form_encoded"] = basic_->client_secret != basic_->raw_client_secret ||
                                         basic_->client_id != basic_->raw_client_id;
    std::string id =
        fixture_.clients.count(basic_->client_id) ? basic_->client_id : basic_->raw_client_id;
    return Presented{std::move(id), {&basic_->client_secret, &basic_->raw_client_secret}};
  }

  std::optional<Presented> presented_in_body() {
    const std::string* body_id = form_.param("client_id");
    const std::string* body_secret = form_.param("client_secret");
    if (!body_id) {
      refuse_client(400, OAuthError::kInvalidClient, "missing_client_id",
                    "Client authentication is missing: send client_id and client_secret in the "
                    "body or use HTTP Basic.");
      return std::nullopt;
    }
    ctx_.outcome["client_auth"] = client_auth_method_name(
        body_secret ? ClientAuthMethod::kSecretPost : ClientAuthMethod::kNone);
    Presented presented{*body_id, {}};
    if (body_secret) presented.secrets = {body_secret};
    return presented;
  }

  bool check_no_secret(const Presented& presented) {
    const auto& secrets = presented.secrets;
    if (secrets.empty() || (secrets.size() == 1 && secrets[0]->empty())) return true;
    return refuse_client(
        400, OAuthError::kInvalidClient, "secret_for_public_client",
        "The client '" + presented.client_id + "' is public and has no secret; send none.");
  }

  bool check_secret(const Presented& presented) {
    for (const std::string* secret : presented.secrets) {
      if (secrets_equal(*secret, *client_->secret)) return true;
    }
    // Say which part failed (a mock may; the real server would not): the usual mistakes are a
    // secret never sent and the secret of another client or environment.
    if (presented.secrets.empty()) {
      return refuse_client(400, OAuthError::kInvalidClient, "missing_secret",
                           "The client_secret of client '" + presented.client_id +
                               "' is missing: send it in the body or use HTTP Basic.");
    }
    const char* where = used_basic_ ? "in the Authorization header (HTTP Basic)" : "in the body";
    return refuse_client(400, OAuthError::kInvalidClient, "wrong_secret",
                         "The client_secret sent " + std::string(where) + " is wrong for client '" +
                             presented.client_id + "'.");
  }

  // Journals why client authentication failed and replies; returns false.
  bool refuse_client(int status, OAuthError code, const char* failure,
                     const std::string& description) {
    ctx_.outcome["client_auth_failure"] = failure;
    error(status, code, description);
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
  std::optional<BasicCredentials> basic_;  // the Authorization header's, when sent
  bool used_basic_ = false;
  std::optional<std::string> scope_;
};

}  // namespace

void handle_token_endpoint(RequestContext& ctx) { TokenRequest(ctx).handle(); }

}  // namespace mock2ba
