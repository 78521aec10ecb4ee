// libFuzzer harness: the fixture loader, then a password grant and refreshes with whatever
// policy the fixture set (lifetimes feed clock arithmetic).
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "oauth/fixture.h"
#include "oauth/token_store.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto document = nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded()) return 0;
  std::shared_ptr<const mock2ba::Fixture> fixture;
  try {
    fixture =
        std::make_shared<const mock2ba::Fixture>(mock2ba::parse_fixture(document, "fuzz.json"));
  } catch (const mock2ba::FixtureError& e) {
    if (std::string(e.what()).rfind("fuzz.json: ", 0) != 0) std::abort();  // names the file
    return 0;
  }
  mock2ba::TokenStore store(fixture);
  const mock2ba::TimeMs now = 1700000000000;
  for (const auto& [client_id, client] : fixture->clients) {
    for (const auto& [username, user] : fixture->users) {
      (void)fixture->policy_for(client, &user);
      auto issued = store.issue_for_password(client, user, "", false, now);
      if (issued.access_token.empty()) std::abort();
      std::optional<std::string> refresh = issued.refresh_token;
      for (int i = 0; i < 3 && refresh; ++i) {
        auto result = store.refresh(*refresh, client, std::nullopt, now + i * 1000);
        refresh = result.tokens ? result.tokens->refresh_token : std::nullopt;
      }
      (void)store.check_access(issued.access_token, now);
    }
  }
  (void)store.describe(std::nullopt, std::nullopt, now);
  store.purge(now + 100000000);
  return 0;
}
