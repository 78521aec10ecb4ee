#include "product/product_api.h"

#include <algorithm>
#include <functional>
#include <map>

#include "http/form.h"
#include "util/text_util.h"

namespace mock2ba {
namespace {

// Sends 2BA's web-service error body {"IsError":true,"ErrorMessage":…,"Status":…}.
void send_api_error(httplib::Response& res, int status, const std::string& status_text,
                    const std::string& message) {
  nlohmann::ordered_json body = {
      {"IsError", true}, {"ErrorMessage", message}, {"Status", status_text}};
  send_json(res, status, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

using nlohmann::json;

constexpr char kPrefix[] = "/1/json/";

struct Call {
  RequestContext& ctx;
  const Fixture& fixture;
  const ProductCatalog& catalog;
  Form query;

  std::optional<std::string> arg(const char* name) const {
    // 2BA's parameters are matched case-insensitively, like the rest of its ASP.NET routes.
    for (const auto& [k, v] : query.fields()) {
      if (iequals(k, name) && !v.empty()) return v;
    }
    return std::nullopt;
  }
  bool bad_request(const std::string& message) {
    send_api_error(ctx.res, 400, "BadRequest", message);
    return false;
  }
  void not_found(const std::string& message) { send_api_error(ctx.res, 404, "NotFound", message); }
  void ok(const json& body) { send_json(ctx.res, 200, body.dump()); }
  void ok(const std::string& body) { send_json(ctx.res, 200, body); }
};

std::string text_of(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  return v.dump();
}

// Clients left-pad 13-digit EANs to 14-digit GTINs; compare numerically-padded forms.
std::optional<std::string> normalise_gtin(const std::string& gtin) {
  if (gtin.size() < 8 || gtin.size() > 14 || !std::all_of(gtin.begin(), gtin.end(), ::isdigit))
    return std::nullopt;
  return std::string(14 - gtin.size(), '0') + gtin;
}

const json* trade_item(const Fixture& f, const std::string& gln, const std::string& id) {
  for (const auto& t : f.trade_items) {
    if (text_of(t["SupplierGLN"]) == gln && text_of(t["SuppliersTradeItemId"]) == id) return &t;
  }
  return nullptr;
}

bool valid_gln(const std::string& gln) {
  return gln.size() == 13 && std::all_of(gln.begin(), gln.end(), ::isdigit);
}

void search(Call& c) {
  auto query = c.arg("query");
  if (!query) return (void)c.bad_request("The parameter 'query' is required.");
  std::string needle = to_lower(*query);
  // {"Products":[…],"TotalCount":n}, as dumping that object would write it.
  std::string body = "{\"Products\":[";
  size_t count = 0;
  for (size_t i = 0; i < c.catalog.haystack.size(); ++i) {
    if (c.catalog.haystack[i].find(needle) == std::string::npos) continue;
    if (count++) body += ',';
    body += c.catalog.summary[i];
  }
  body += "],\"TotalCount\":" + std::to_string(count) + "}";
  c.ok(body);
}

void details_by_gtin(Call& c, bool features_optional) {
  auto gtin = c.arg("gtin");
  if (!gtin) return (void)c.bad_request("The parameter 'gtin' is required.");
  auto normalised = normalise_gtin(*gtin);
  if (!normalised) return (void)c.bad_request("The parameter 'gtin' must be 8 to 14 digits.");
  bool include_features = true;
  if (features_optional) {
    std::string flag = to_lower(c.arg("includeFeatures").value_or("false"));
    if (flag != "true" && flag != "false") {
      return (void)c.bad_request("The parameter 'includeFeatures' must be true or false.");
    }
    include_features = flag == "true";
  }
  auto product = c.catalog.by_gtin.find(*normalised);
  if (product == c.catalog.by_gtin.end())
    return c.not_found("No product with GTIN " + *normalised + ".");
  c.ok(include_features ? c.catalog.full[product->second] : c.catalog.summary[product->second]);
}

std::optional<std::pair<std::string, std::string>> gln_and_trade_item(Call& c) {
  auto gln = c.arg("gln");
  auto id = c.arg("tradeItemId");
  if (!gln || !id)
    return c.bad_request("The parameters 'gln' and 'tradeItemId' are required."), std::nullopt;
  if (!valid_gln(*gln))
    return c.bad_request("The parameter 'gln' must be a 13-digit GLN."), std::nullopt;
  return std::make_pair(*gln, *id);
}

void product_by_trade_item(Call& c) {
  auto key = gln_and_trade_item(c);
  if (!key) return;
  const json* item = trade_item(c.fixture, key->first, key->second);
  if (item && item->contains("ProductId")) {
    for (size_t i = 0; i < c.fixture.products.size(); ++i) {
      if (c.fixture.products[i]["Id"] == (*item)["ProductId"]) return c.ok(c.catalog.full[i]);
    }
  }
  c.not_found("No product for trade item " + key->second + " of supplier " + key->first + ".");
}

void trade_item_details(Call& c) {
  auto key = gln_and_trade_item(c);
  if (!key) return;
  const json* item = trade_item(c.fixture, key->first, key->second);
  if (!item)
    return c.not_found("No trade item " + key->second + " of supplier " + key->first + ".");
  c.ok(*item);
}

void trade_items_for_gln(Call& c) {
  auto gln = c.arg("gln");
  if (!gln) return (void)c.bad_request("The parameter 'gln' is required.");
  if (!valid_gln(*gln)) return (void)c.bad_request("The parameter 'gln' must be a 13-digit GLN.");
  json items = json::array();
  for (const auto& t : c.fixture.trade_items) {
    if (text_of(t["SupplierGLN"]) == *gln) items.push_back(t);
  }
  c.ok({{"TradeItems", items}});
}

struct Operation {
  const char* right;
  std::function<void(Call&)> run;
};

const std::map<std::string, Operation>& operations() {
  static const std::map<std::string, Operation> kOperations = {
      {"product/search", {"Product", search}},
      {"product/detailsforproduct", {"Product", [](Call& c) { details_by_gtin(c, false); }}},
      {"product/detailsbygtina", {"Product", [](Call& c) { details_by_gtin(c, true); }}},
      {"product/detailsbyglnandtradeitemid", {"Product", product_by_trade_item}},
      {"tradeitem/forgln", {"TradeItem", trade_items_for_gln}},
      {"tradeitem/detailsbyglnandtradeitemida", {"TradeItem", trade_item_details}},
  };
  return kOperations;
}

void unauthorized(RequestContext& ctx, const std::string& message, bool invalid_token) {
  // RFC 6750 §3.1: no error code when the request carried no token at all.
  ctx.res.set_header("WWW-Authenticate", invalid_token
                                             ? "Bearer realm=\"2BA\", error=\"invalid_token\""
                                             : "Bearer realm=\"2BA\"");
  send_api_error(ctx.res, 401, "Unauthorized", message);
}

}  // namespace

ProductCatalog::ProductCatalog(const Fixture& fixture) {
  for (const auto& p : fixture.products) {
    size_t index = full.size();
    full.push_back(p.dump());
    json without = p;
    without.erase("Features");
    summary.push_back(without.dump());
    std::string text;
    for (const char* key :
         {"Description", "LongDescription", "Brand", "ManufacturerName", "Productcode", "GTIN"}) {
      if (p.contains(key)) text += to_lower(text_of(p[key])) + "\n";
    }
    haystack.push_back(std::move(text));
    if (auto gtin = normalise_gtin(text_of(p["GTIN"]))) by_gtin.emplace(*gtin, index);
  }
}

const ProductCatalog& ScenarioState::products() {
  std::call_once(products_once_,
                 [this] { products_ = std::make_shared<const ProductCatalog>(*fixture); });
  return *products_;
}

bool is_product_api_route(const std::string& lower_route) {
  return starts_with(lower_route, kPrefix);
}

std::vector<std::string> product_api_routes() {
  std::vector<std::string> out;
  for (const auto& [name, op] : operations()) out.push_back(kPrefix + name);
  return out;
}

void handle_product_api(RequestContext& ctx) {
  const std::string name = ctx.route.substr(sizeof kPrefix - 1);
  auto op = operations().find(name);
  if (op == operations().end()) {
    return send_api_error(ctx.res, 404, "NotFound",
                          "There is no service function '" + ctx.req.path + "'.");
  }
  if (ctx.req.method != "GET") {
    ctx.res.set_header("Allow", "GET");
    return send_api_error(ctx.res, 405, "MethodNotAllowed",
                          "This service function accepts only GET.");
  }
  std::string raw_query;
  if (auto q = ctx.req.target.find('?'); q != std::string::npos)
    raw_query = ctx.req.target.substr(q + 1);
  std::string parse_error;
  auto query = Form::parse(raw_query, &parse_error);
  if (!query)
    return send_api_error(ctx.res, 400, "BadRequest",
                          "The query string is malformed: " + parse_error + ".");

  std::string header = ctx.req.get_header_value("Authorization");
  std::optional<std::string> header_token;
  if (header.size() > 7 && iequals(std::string_view(header).substr(0, 7), "bearer "))
    header_token = header.substr(7);
  const std::string* query_token = query->find("access_token");
  ctx.outcome["token_source"] = header_token && query_token ? "header+query"
                                : header_token              ? "header"
                                : query_token               ? "query"
                                                            : "none";
  if (header_token && query_token) {
    ctx.outcome["token_state"] = "ambiguous";
    ctx.res.set_header("WWW-Authenticate", "Bearer realm=\"2BA\", error=\"invalid_request\"");
    return send_api_error(
        ctx.res, 400, "BadRequest",
        "The access token was sent both in the header and in the query; use one method.");
  }
  if (!header_token && !query_token) {
    ctx.outcome["token_state"] = "missing";
    return unauthorized(ctx, "No access token: send Authorization: Bearer <token>.", false);
  }
  AccessCheck check =
      ctx.state->store.check_access(header_token ? *header_token : *query_token, ctx.now);
  ctx.outcome["token_state"] =
      check.state == TokenState::kActive ? "valid" : token_state_name(check.state);
  if (check.state != TokenState::kActive) {
    const char* why = check.state == TokenState::kExpired   ? "The access token has expired."
                      : check.state == TokenState::kRevoked ? "The access token has been revoked."
                                                            : "The access token is not valid.";
    return unauthorized(ctx, why, true);
  }
  ctx.outcome["username"] = check.username;
  ctx.outcome["client_id"] = check.client_id;
  ctx.outcome["grant"] = "g" + std::to_string(check.grant_id);
  const Fixture& fixture = *ctx.state->fixture;
  auto user = fixture.users.find(check.username);
  if (user == fixture.users.end() || !user->second.has_right(op->second.right)) {
    ctx.outcome["error"] = "no_right";
    return unauthorized(
        ctx, "The user is not authorized for this service (" + std::string(op->second.right) + ").",
        false);
  }
  Call call{ctx, fixture, ctx.state->products(), std::move(*query)};
  op->second.run(call);
}

}  // namespace mock2ba
