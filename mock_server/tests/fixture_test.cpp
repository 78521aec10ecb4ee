#include "oauth/fixture.h"

#include <dirent.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <tuple>
#include <vector>

#include "oauth/grant_types.h"
#include "test_support.h"

namespace mock2ba {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

json minimal() {
  return json::parse(R"({
    "clients": [{"client_id": "c", "client_secret": "s"}],
    "users": [{"username": "u", "password": "p"}]
  })");
}

std::string load_error(const json& document) {
  try {
    parse_fixture(document, "test.json");
  } catch (const FixtureError& e) {
    return e.what();
  }
  return "";
}

TEST(Fixture, DefaultsMatchTheDocumentation) {
  Fixture f = parse_fixture(minimal(), "test.json");
  EXPECT_EQ(f.policy.access_token_lifetime, 3600);
  EXPECT_EQ(f.policy.refresh_token_lifetime, 14 * 24 * 3600);
  EXPECT_TRUE(f.policy.rotate_refresh_tokens);
  EXPECT_EQ(f.policy.reuse, ReusePolicy::kReject);
  EXPECT_EQ(f.policy.token_type, "Bearer");
  const Client& c = f.clients.at("c");
  EXPECT_FALSE(c.is_public());
  EXPECT_EQ(c.grant_types.size(), grant_types().size());  // every grant (GrantTable checks which)
  EXPECT_TRUE(f.users.at("u").has_right("TradeItem"));
  EXPECT_TRUE(f.scopes.count("offline_access"));
}

TEST(Fixture, PublicClientsRequirePkceAndDefaultToCodeGrants) {
  json doc = minimal();
  doc["clients"].push_back({{"client_id", "pub"}});
  Fixture f = parse_fixture(doc, "test.json");
  EXPECT_TRUE(f.clients.at("pub").is_public());
  EXPECT_TRUE(f.clients.at("pub").require_pkce);
  EXPECT_FALSE(f.clients.at("pub").grant_types.count("password"));
  doc["clients"][1]["require_pkce"] = false;
  EXPECT_THAT(load_error(doc), HasSubstr("clients[1].require_pkce"));
}

TEST(Fixture, ClientAndUserPolicyOverridesLayer) {
  json doc = minimal();
  doc["policy"] = {{"access_token_lifetime", 100}, {"token_type", "bearer"}};
  doc["clients"][0]["policy"] = {{"access_token_lifetime", 50}};
  doc["users"][0]["policy"] = {{"rotate_refresh_tokens", false}};
  Fixture f = parse_fixture(doc, "test.json");
  const Client& c = f.clients.at("c");
  EXPECT_EQ(c.policy.access_token_lifetime, 50);
  EXPECT_EQ(c.policy.token_type, "bearer");
  Policy p = f.policy_for(c, &f.users.at("u"));
  EXPECT_FALSE(p.rotate_refresh_tokens);
  EXPECT_EQ(p.access_token_lifetime, 50);
  EXPECT_TRUE(f.policy_for(c, nullptr).rotate_refresh_tokens);
}

TEST(Fixture, SchedulesAndEventsParse) {
  json doc = minimal();
  doc["schedules"] = json::parse(R"([{"token": "refresh_token", "from": 3, "lifetime": 0},
                                     {"token": "access_token", "per": "user", "nth": 2, "lifetime": 5}])");
  doc["events"] = json::parse(R"([{"after": 600, "action": "revoke", "user": "u"}])");
  Fixture f = parse_fixture(doc, "test.json");
  ASSERT_EQ(f.schedules.size(), 2u);
  EXPECT_TRUE(f.schedules[0].matches(TokenKind::kRefresh, 4, false, "u", "c"));
  EXPECT_FALSE(f.schedules[0].matches(TokenKind::kRefresh, 2, false, "u", "c"));
  EXPECT_TRUE(f.schedules[1].matches(TokenKind::kAccess, 2, true, "u", "c"));
  EXPECT_FALSE(f.schedules[1].matches(TokenKind::kAccess, 3, true, "u", "c"));
  ASSERT_EQ(f.events.size(), 1u);
  EXPECT_EQ(f.events[0].after_ms, 600'000);
}

struct BadFixture {
  const char* name;
  const char* patch;     // merged into the minimal fixture
  const char* expected;  // must appear in the message
};

class BadFixtureTest : public ::testing::TestWithParam<BadFixture> {};

TEST_P(BadFixtureTest, NamesFileAndKey) {
  json doc = minimal();
  doc.merge_patch(json::parse(GetParam().patch));
  std::string message = load_error(doc);
  EXPECT_THAT(message, HasSubstr("test.json: "));
  EXPECT_THAT(message, HasSubstr(GetParam().expected));
}

INSTANTIATE_TEST_SUITE_P(
    Table, BadFixtureTest,
    ::testing::Values(
        BadFixture{"TopLevelTypo", R"({"polcy": {}})", "polcy: unknown key"},
        BadFixture{"PolicyTypo", R"({"policy": {"acces_token_lifetime": 5}})",
                   "policy.acces_token_lifetime: unknown key"},
        BadFixture{"LifetimeAsString", R"({"policy": {"access_token_lifetime": "5"}})",
                   "policy.access_token_lifetime: expected an integer"},
        BadFixture{"ZeroAccessLifetime", R"({"policy": {"access_token_lifetime": 0}})",
                   "policy.access_token_lifetime"},
        BadFixture{"NegativeRefreshLifetime", R"({"policy": {"refresh_token_lifetime": -1}})",
                   "policy.refresh_token_lifetime"},
        BadFixture{"BadReuse", R"({"policy": {"reuse": "forgive"}})",
                   "policy.reuse: expected one of"},
        BadFixture{"GraceWithoutPeriod", R"({"policy": {"reuse": "grace"}})", "reuse_grace_period"},
        BadFixture{"RotateNotBool", R"({"policy": {"rotate_refresh_tokens": "yes"}})",
                   "policy.rotate_refresh_tokens"},
        BadFixture{"ReservedExtraField",
                   R"({"policy": {"extra_response_fields": {"access_token": "x"}}})",
                   "extra_response_fields.access_token"},
        BadFixture{"BadTokenFormat", R"({"policy": {"token_format": "jwt"}})",
                   "policy.token_format"},
        BadFixture{"NoClients", R"({"clients": []})", "clients: expected a non-empty list"},
        BadFixture{"UsersNotList", R"({"users": {"u": "p"}})", "users"},
        BadFixture{"BadSchedule", R"({"schedules": [{"token": "refresh_token", "lifetime": 0}]})",
                   "schedules[0]: give exactly one of \"nth\" and \"from\""},
        BadFixture{
            "ScheduleUnknownUser",
            R"({"schedules": [{"token": "access_token", "nth": 1, "lifetime": 1, "user": "x"}]})",
            "schedules[0].user: no such user"},
        BadFixture{"EventNoTarget", R"({"events": [{"after": 5, "action": "revoke"}]})",
                   "events[0]: give exactly one of \"user\" and \"client\""},
        BadFixture{"EventBadAction",
                   R"({"events": [{"after": 5, "action": "delete", "user": "u"}]})",
                   "events[0].action"},
        BadFixture{"ClockTypo", R"({"clock": {"frozn": true}})", "clock.frozn: unknown key"},
        BadFixture{"ProductWithoutGtin",
                   R"({"products": [{"Id": 1, "ManufacturerGLN": "1", "Productcode": "x"}]})",
                   "products[0].GTIN: missing"},
        BadFixture{"ScopesNotStrings", R"({"scopes": [1]})", "scopes[0]"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Fixture, ClientErrorsNameTheClient) {
  json doc = minimal();
  doc["clients"][0]["grant_types"] = {"password", "urn:example:no-such-grant"};
  EXPECT_THAT(load_error(doc), HasSubstr("clients[0].grant_types[1]: unknown grant type "
                                         "\"urn:example:no-such-grant\""));
  doc = minimal();
  doc["clients"].push_back(doc["clients"][0]);
  EXPECT_THAT(load_error(doc), HasSubstr("clients[1].client_id: duplicate client"));
  doc = minimal();
  doc["users"][0]["rights"] = {"Everything"};
  EXPECT_THAT(load_error(doc), HasSubstr("users[0].rights[0]: unknown right"));
}

// The reader refuses every key its parsing code never asked about, in every kind of object: a
// key that nothing reads cannot be accepted and silently ignored.
// The keys a policy may have, as an unknown key's error lists them (in the order they are read).
const char kPolicyKeys[] =
    "access_token_lifetime, refresh_token_lifetime, refresh_token_idle_lifetime, "
    "rotate_refresh_tokens, reuse, reuse_grace_period, return_refresh_token_on_refresh, "
    "code_lifetime, token_type, refresh_token_requires_offline_access, include_expires_in, "
    "expires_in_as_string, extra_response_fields or token_format";

// Nothing resembles "read_by_nothing", so the error lists the keys the object may have.
TEST(Fixture, AKeyNoReaderAsksForIsRefusedInEveryObject) {
  const std::tuple<const char*, const char*, std::string> kPlaces[] = {
      {"", "",
       "description, policy, scopes, users, clients, auto_login, schedules, events, clock, "
       "products or trade_items"},
      {"/policy", "policy.", kPolicyKeys},
      {"/clients/0", "clients[0].",
       "client_id, client_secret, name, grant_types, redirect_uris, scopes, require_pkce or "
       "policy"},
      {"/clients/0/policy", "clients[0].policy.", kPolicyKeys},
      {"/users/0", "users[0].", "username, password, rights or policy"},
      {"/users/0/policy", "users[0].policy.", kPolicyKeys},
      {"/schedules/0", "schedules[0].",
       "token, per, nth, from, user, client, lifetime or idle_lifetime"},
      {"/events/0", "events[0].", "at, after, action, user or client"},
      {"/clock", "clock.", "start or frozen"},
  };
  for (const auto& [pointer, path, expected] : kPlaces) {
    json doc = minimal();
    doc["policy"] = json::object();
    doc["clients"][0]["policy"] = json::object();
    doc["users"][0]["policy"] = json::object();
    doc["schedules"] = json::parse(R"([{"token": "refresh_token", "nth": 1, "lifetime": 5}])");
    doc["events"] = json::parse(R"([{"after": 5, "action": "revoke", "user": "u"}])");
    doc["clock"] = json::object();
    ASSERT_EQ(load_error(doc), "") << "the document without the key must load";
    doc[json::json_pointer(pointer)]["read_by_nothing"] = 1;
    EXPECT_EQ(load_error(doc), std::string("test.json: ") + path +
                                   "read_by_nothing: unknown key (expected " + expected + ")")
        << pointer;
  }
}

// A misspelt key is named, with the key it resembles, even where the key it stands for is
// required or its absence breaks a rule before the whole object has been read.
TEST(Fixture, AMisspeltKeyIsNamedWithWhatItResembles) {
  json doc = minimal();
  doc["users"][0].erase("username");
  doc["users"][0]["usrname"] = "u";
  EXPECT_THAT(load_error(doc),
              HasSubstr("users[0].usrname: unknown key (did you mean \"username\"?)"));
  doc = minimal();
  doc["clients"].push_back({{"client_id", "pub"}, {"require_pkc", false}});
  EXPECT_THAT(load_error(doc),
              HasSubstr("clients[1].require_pkc: unknown key (did you mean \"require_pkce\"?)"));
  doc = minimal();
  doc["policy"] = {{"acces_token_lifetime", 5}};
  EXPECT_THAT(load_error(doc), HasSubstr("policy.acces_token_lifetime: unknown key (did you mean "
                                         "\"access_token_lifetime\"?)"));
  doc = minimal();
  doc["policy"] = {{"colour", 5}};
  EXPECT_EQ(load_error(doc),  // nothing resembles it
            std::string("test.json: policy.colour: unknown key (expected ") + kPolicyKeys + ")");
  doc = minimal();
  doc["products"] = json::parse(R"([{"Id": 1, "GTIN": "1", "ManufacturerGLN": "1",
                                     "Productcode": "x", "Gtin2": "free-form data"}])");
  EXPECT_EQ(load_error(doc), "") << "a product record's other keys are data";
}

TEST(Fixture, FileErrorsNameTheFile) {
  try {
    load_fixture_file("/nonexistent/fixture.json");
    FAIL() << "expected a FixtureError";
  } catch (const FixtureError& e) {
    EXPECT_THAT(e.what(), HasSubstr("/nonexistent/fixture.json: cannot open"));
  }
}

TEST(Fixture, EveryShippedFixtureLoads) {
  DIR* dir = opendir(TWOBA_FIXTURE_DIR);
  ASSERT_NE(dir, nullptr);
  int loaded = 0;
  while (dirent* entry = readdir(dir)) {
    std::string name = entry->d_name;
    if (name.size() < 5 || name.substr(name.size() - 5) != ".json") continue;
    EXPECT_NO_THROW(load_fixture_file(std::string(TWOBA_FIXTURE_DIR) + "/" + name)) << name;
    ++loaded;
  }
  closedir(dir);
  EXPECT_GE(loaded, 10);
}

struct FixtureCase {
  std::string name;
  std::string text;
  std::string key;  // the key path the message must name
};

TEST(FixtureFileErrors, NameTheFileAndTheKey) {
  testing::TempDir dir;
  const std::string users = R"("users":[{"username":"u","password":"p"}])";
  const std::string clients = R"("clients":[{"client_id":"c","client_secret":"s"}])";
  std::vector<FixtureCase> table = {
      {"not JSON", "{\"users\": [", "not valid JSON"},
      {"top level a list", "[]", "expected an object"},
      {"users a string", "{\"users\":\"u\"," + clients + "}", "users"},
      {"unknown top-level key", "{" + users + "," + clients + ",\"polcy\":{}}", "polcy"},
      {"unknown client key", "{" + users + R"(,"clients":[{"client_id":"c","secret":"s"}]})",
       "clients[0].secret"},
      {"lifetime a string",
       "{" + users + "," + clients + R"(,"policy":{"access_token_lifetime":"1h"}})",
       "policy.access_token_lifetime"},
      {"lifetime zero", "{" + users + "," + clients + R"(,"policy":{"access_token_lifetime":0}})",
       "policy.access_token_lifetime"},
      {"unknown reuse policy", "{" + users + "," + clients + R"(,"policy":{"reuse":"sometimes"}})",
       "policy.reuse"},
      {"schedule nth and from",
       "{" + users + "," + clients +
           R"(,"schedules":[{"token":"refresh_token","nth":1,"from":2,"lifetime":0}]})",
       "schedules[0]"},
      {"event for an unknown user",
       "{" + users + "," + clients + R"(,"events":[{"after":5,"action":"revoke","user":"ghost"}]})",
       "events[0].user"},
      {"duplicate user",
       R"({"users":[{"username":"u","password":"p"},{"username":"u","password":"q"}],)" + clients +
           "}",
       "users[1].username"},
      {"clock start huge",
       "{" + users + "," + clients + R"(,"clock":{"start":18446744073709551615}})", "clock.start"},
  };
  for (const auto& c : table) {
    SCOPED_TRACE(c.name);
    std::string path = dir.file("bad.json");
    testing::write_file(path, c.text);
    try {
      load_fixture_file(path);
      ADD_FAILURE() << "loaded a bad fixture";
    } catch (const FixtureError& e) {
      std::string message = e.what();
      EXPECT_NE(message.find(path), std::string::npos) << message;
      EXPECT_NE(message.find(c.key), std::string::npos) << message;
    }
  }
}

}  // namespace
}  // namespace mock2ba
