// libFuzzer harness: HTTP Basic client credentials and the base64 underneath them.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "oauth/client_auth.h"
#include "util/text_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);
  for (const std::string& header : {input, "Basic " + input}) {
    std::string error;
    auto creds = mock2ba::parse_basic_authorization(header, &error);
    if (creds) {
      if (creds->client_id.empty()) std::abort();
      // The client_id ends at the first colon, so it never contains one.
      if (creds->raw_client_id.find(':') != std::string::npos) std::abort();
    } else if (mock2ba::iequals(header.substr(0, 6), "basic ") && error.empty()) {
      std::abort();  // a malformed Basic header is an error, not "not Basic"
    }
  }
  auto round_trip = mock2ba::base64_decode(mock2ba::base64_encode(input));
  if (!round_trip || *round_trip != input) std::abort();
  (void)mock2ba::is_valid_utf8(input);
  return 0;
}
