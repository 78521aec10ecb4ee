#include "oauth/request_context.h"

namespace mock2ba {

void send_oauth_error(httplib::Response& res, int status, OAuthError error,
                      const std::string& description) {
  nlohmann::ordered_json body = {{"error", oauth_error_name(error)},
                                 {"error_description", description}};
  set_no_store(res);
  // Replace, not throw, on bytes that are not UTF-8: a description may quote the request.
  send_json(res, status, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace mock2ba
