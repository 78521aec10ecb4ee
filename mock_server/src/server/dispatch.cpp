// MockServer::dispatch and its steps: what happens to one request after HTTP parsing.
#include <chrono>

#include "control/control_api.h"
#include "http/form.h"
#include "oauth/endpoints.h"
#include "product/product_api.h"
#include "server/server.h"
#include "server/state_persistence.h"
#include "util/text_util.h"

namespace mock2ba {
namespace {

// Asks the client to close after this reply (cpp-httplib adds the header itself when the request
// asked for it; a second copy would be malformed).
void ask_to_close(const httplib::Request& req, httplib::Response& res) {
  if (!iequals(req.get_header_value("Connection"), "close")) res.set_header("Connection", "close");
}

// A NUL or other control byte (besides tab) cannot appear in a header (RFC 9110 §5.5).
bool has_control_bytes(const std::string& text) {
  for (unsigned char c : text) {
    if ((c < 0x20 && c != '\t') || c == 0x7F) return true;
  }
  return false;
}

}  // namespace

bool MockServer::validate(const httplib::Request& req, httplib::Response& res) const {
  for (const auto& [name, value] : req.headers) {
    if (has_control_bytes(name) || has_control_bytes(value)) {
      ask_to_close(req, res);
      send_oauth_error(res, 400, OAuthError::kInvalidRequest,
                       "A header contains a NUL or control byte.");
      return false;
    }
  }
  if (req.path.find('\0') != std::string::npos || !is_valid_utf8(req.path) ||
      !is_valid_utf8(req.target)) {
    send_oauth_error(res, 400, OAuthError::kInvalidRequest,
                     "The path or query is not valid UTF-8 or contains a NUL byte.");
    return false;
  }
  return true;
}

std::optional<Fault> MockServer::take_fault(const RequestContext& ctx, Scenario& scenario) const {
  if (!scenario.faults().has_any()) return std::nullopt;
  std::string grant_type;
  if (is_token_route(ctx.route)) {
    if (auto form = Form::parse(ctx.req.body, nullptr)) grant_type = form->value("grant_type");
  }
  return scenario.faults().take(ctx.route, grant_type);
}

bool MockServer::fault_before(RequestContext& ctx, const Fault& fault, bool* dropped) const {
  // Cut short when the server stops, so a long delay never holds up shutdown.
  if (fault.delay_ms > 0) http_->sleep_for(std::chrono::milliseconds(fault.delay_ms));
  if (fault.after_commit) return false;
  if (fault.drop) {
    *dropped = true;
    return true;
  }
  if (!fault.status) return false;
  send_fault_reply(ctx.res, fault);
  return true;
}

void MockServer::fault_after(RequestContext& ctx, const Fault& fault, bool* dropped) const {
  if (!fault.after_commit) return;
  if (fault.status) {
    ctx.res.headers.clear();
    send_fault_reply(ctx.res, fault);
  } else {
    *dropped = true;
  }
}

void MockServer::send_fault_reply(httplib::Response& res, const Fault& fault) {
  res.status = *fault.status;
  // 204 and 304 carry no body (faults with one are refused when set).
  if (!status_allows_body(*fault.status)) {
    res.body.clear();
    return;
  }
  res.set_content(fault.body.value_or(""), "application/json;charset=UTF-8");
}

void MockServer::serve_control(RequestContext& ctx, Scenario& scenario) {
  if (!control_access_.admit(ctx.req, ctx.res)) return;
  handle_control_api(ctx, scenario);
  if (state_file_ && &scenario == root_.get() && commits_state(ctx.req)) state_file_->commit();
}

void MockServer::route(RequestContext& ctx) const {
  if (const Endpoint* endpoint = find_endpoint(ctx.route)) return serve_endpoint(*endpoint, ctx);
  if (is_product_api_route(ctx.route)) return handle_product_api(ctx);
  send_json(ctx.res, 404,
            nlohmann::json{{"error", "not_found"},
                           {"error_description", "No endpoint " + ctx.req.path + "."}}
                .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void MockServer::record(RequestContext& ctx, Scenario& scenario, httplib::Request& req,
                        const std::optional<Fault>& fault, bool dropped,
                        std::chrono::steady_clock::time_point started) const {
  const httplib::Response& res = ctx.res;
  JournalEntry entry;
  entry.time_ms = ctx.now;
  entry.real_time_ms = real_now_ms();
  entry.method = req.method;
  entry.path = req.path;
  if (auto q = req.target.find('?'); q != std::string::npos) entry.query = req.target.substr(q + 1);
  entry.headers = std::move(req.headers);
  entry.body = ctx.journal_body ? std::move(*ctx.journal_body) : std::move(req.body);
  entry.status = dropped ? 0 : res.status;
  entry.response_headers = res.headers;
  entry.response_body = dropped ? "" : res.body;
  if (fault) entry.fault = fault->id;
  if (dropped) ctx.outcome["dropped"] = true;
  double latency =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  log_.write(req, res, scenario.name(), ctx.outcome, latency);
  entry.outcome = std::move(ctx.outcome);
  scenario.journal().record(std::move(entry));
}

// The steps of one request: validate, resolve the scenario, (control API apart) fault before,
// route, fault after, then record it in the journal and the log.
void MockServer::dispatch(httplib::Request& req, httplib::Response& res, ConnectionEffect* effect) {
  auto started = std::chrono::steady_clock::now();
  if (!validate(req, res)) return;
  auto target = resolve_scenario(req, res);
  if (!target) return;
  Scenario& scenario = *target->scenario;
  RequestContext ctx{req, res, scenario.state(), std::move(target->base), std::move(target->route)};
  ctx.now = ctx.state->clock.now_ms();
  if (is_control_route(ctx.route)) return serve_control(ctx, scenario);

  ctx.state->fire_due_events();
  std::optional<Fault> fault = take_fault(ctx, scenario);
  bool dropped = false;
  if (!fault || !fault_before(ctx, *fault, &dropped)) {
    route(ctx);
    if (fault) fault_after(ctx, *fault, &dropped);
  }
  if (fault) {
    for (const auto& [name, value] : fault->headers) res.set_header(name.c_str(), value);
    ctx.outcome["fault"] = fault->id;
  }
  // A state change is on disk before its reply leaves, so a token that got a 200 survives kill -9.
  if (state_file_ && target->scenario == root_ && commits_state(req)) state_file_->commit();
  record(ctx, scenario, req, fault, dropped, started);
  if (dropped) *effect = ConnectionEffect::kClose;
}

}  // namespace mock2ba
