// What --state-file keeps of the token store: each record's JSON text, read and written side by
// side, a full snapshot or the changes since the last write, and their restoring.
#include <algorithm>
#include <charconv>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "oauth/token_store.h"
#include "util/text_util.h"

namespace mock2ba {

// Writes the state file's JSON text straight into one string. It is written under the store's
// mutex, so every request waits for it: nlohmann's to_json for the same records took ten times
// as long (210 against 21 ms for a snapshot of 10,000 grants).
class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}
  JsonWriter& key(std::string_view name) {
    comma();
    append_json_string(out_, name);
    out_ += ':';
    fresh_ = true;
    return *this;
  }
  JsonWriter& string(std::string_view value) {
    comma();
    append_json_string(out_, value);
    return *this;
  }
  JsonWriter& number(int64_t value) {
    comma();
    char digits[24];
    out_.append(digits, std::to_chars(digits, digits + sizeof digits, value).ptr);
    return *this;
  }
  JsonWriter& boolean(bool value) {
    comma();
    out_ += value ? "true" : "false";
    return *this;
  }
  JsonWriter& open(char bracket) {
    comma();
    out_ += bracket;
    fresh_ = true;
    return *this;
  }
  JsonWriter& close(char bracket) {
    out_ += bracket;
    fresh_ = false;
    return *this;
  }
  // A value written elsewhere (after key()).
  JsonWriter& raw(const std::string& text) {
    comma();
    out_ += text;
    return *this;
  }
  // A member of the object being written.
  JsonWriter& field(std::string_view name, std::string_view value) {
    return key(name).string(value);
  }
  JsonWriter& field(std::string_view name, int64_t value) { return key(name).number(value); }
  JsonWriter& field(std::string_view name, uint64_t value) {
    return key(name).number(static_cast<int64_t>(value));
  }
  JsonWriter& field(std::string_view name, bool value) { return key(name).boolean(value); }
  // A string literal would be taken for a bool.
  JsonWriter& field(std::string_view name, const char* value) = delete;

 private:
  void comma() {
    if (!fresh_) out_ += ',';
    fresh_ = false;
  }
  std::string& out_;
  bool fresh_ = true;
};

// The tokens of a grant that the state file keeps, each with its record.
struct TokenStore::KeptTokens {
  const RefreshRecord* current = nullptr;  // the current refresh token's, when it is kept
  std::vector<std::pair<const std::string*, const RefreshRecord*>> retired;
  std::vector<std::pair<const std::string*, const AccessRecord*>> access;
  // The access tokens are only those issued since the file last had the grant.
  bool appended_only = false;
};

// Each record as the state file has it, read and written with its fields in the same order.

void from_json(const nlohmann::json& j, TokenStore::Grant& g) {
  j.at("id").get_to(g.id);
  j.at("client_id").get_to(g.client_id);
  j.at("username").get_to(g.username);
  j.at("scope").get_to(g.scope);
  j.at("has_scope").get_to(g.has_scope);
  j.at("wants_refresh").get_to(g.wants_refresh);
  j.at("created_ms").get_to(g.created_ms);
  j.at("revoked").get_to(g.revoked);
  j.at("access_tokens_issued").get_to(g.access_tokens_issued);
  j.at("refresh_tokens_issued").get_to(g.refresh_tokens_issued);
  j.at("refreshes").get_to(g.refreshes);
  j.at("current_refresh_token").get_to(g.current_refresh_token);
  j.at("retired_refresh_tokens").get_to(g.retired_refresh_tokens);
  j.at("access_tokens").get_to(g.access_tokens);
  // "access_tokens_appended" is read by read_image(): it says how to merge, not what is stored.
}

void write(JsonWriter& w, const TokenStore::Grant& g, const TokenStore::KeptTokens& kept) {
  w.open('{')
      .field("id", g.id)
      .field("client_id", g.client_id)
      .field("username", g.username)
      .field("scope", g.scope)
      .field("has_scope", g.has_scope)
      .field("wants_refresh", g.wants_refresh)
      .field("created_ms", g.created_ms)
      .field("revoked", g.revoked)
      .field("access_tokens_issued", g.access_tokens_issued)
      .field("refresh_tokens_issued", g.refresh_tokens_issued)
      .field("refreshes", g.refreshes)
      .field("current_refresh_token",
             kept.current ? std::string_view(g.current_refresh_token) : std::string_view());
  w.key("retired_refresh_tokens").open('[');
  for (const auto& retired : kept.retired) w.string(*retired.first);
  w.close(']').key("access_tokens").open('[');
  for (const auto& access : kept.access) w.string(*access.first);
  w.close(']');
  if (kept.appended_only) w.field("access_tokens_appended", true);
  w.close('}');
}

void from_json(const nlohmann::json& j, TokenStore::AccessRecord& a) {
  j.at("grant").get_to(a.grant_id);
  j.at("expires_ms").get_to(a.expires_ms);
  j.at("revoked").get_to(a.revoked);
}

void write(JsonWriter& w, const TokenStore::AccessRecord& a) {
  w.open('{')
      .field("grant", a.grant_id)
      .field("expires_ms", a.expires_ms)
      .field("revoked", a.revoked)
      .close('}');
}

void from_json(const nlohmann::json& j, TokenStore::RefreshRecord& r) {
  j.at("grant").get_to(r.grant_id);
  j.at("issued_ms").get_to(r.issued_ms);
  j.at("expires_ms").get_to(r.expires_ms);
  j.at("idle_ms").get_to(r.idle_ms);
  j.at("last_used_ms").get_to(r.last_used_ms);
  j.at("rotated_ms").get_to(r.rotated_ms);
  j.at("rotated").get_to(r.rotated);
  j.at("revoked").get_to(r.revoked);
}

void write(JsonWriter& w, const TokenStore::RefreshRecord& r) {
  w.open('{')
      .field("grant", r.grant_id)
      .field("issued_ms", r.issued_ms)
      .field("expires_ms", r.expires_ms)
      .field("idle_ms", r.idle_ms)
      .field("last_used_ms", r.last_used_ms)
      .field("rotated_ms", r.rotated_ms)
      .field("rotated", r.rotated)
      .field("revoked", r.revoked)
      .close('}');
}

void from_json(const nlohmann::json& j, TokenStore::CodeRecord& c) {
  CodeRequest& q = c.request;
  j.at("client_id").get_to(q.client_id);
  j.at("username").get_to(q.username);
  j.at("redirect_uri").get_to(q.redirect_uri);
  j.at("scope").get_to(q.scope);
  j.at("has_scope").get_to(q.has_scope);
  j.at("code_challenge").get_to(q.code_challenge);
  j.at("code_challenge_method").get_to(q.code_challenge_method);
  j.at("expires_ms").get_to(c.expires_ms);
  j.at("used").get_to(c.used);
  j.at("grant").get_to(c.grant_id);
}

void write(JsonWriter& w, const TokenStore::CodeRecord& c) {
  const CodeRequest& q = c.request;
  w.open('{')
      .field("client_id", q.client_id)
      .field("username", q.username)
      .field("redirect_uri", q.redirect_uri)
      .field("scope", q.scope)
      .field("has_scope", q.has_scope)
      .field("code_challenge", q.code_challenge)
      .field("code_challenge_method", q.code_challenge_method)
      .field("expires_ms", c.expires_ms)
      .field("used", c.used)
      .field("grant", c.grant_id)
      .close('}');
}

// Writing: {"next_grant_id", "grants", "access", "refresh", "codes", "per_user_counts"} and, in a
// line of changes, "gone_grants" and "gone_codes". A grant's tokens are gathered in texts of
// their own while the grants are written, and follow them.
class TokenStore::StoreWriter {
 public:
  StoreWriter(TokenStore& store, std::string& out, TimeMs now, const Changes* changes)
      : store_(store),
        now_(now),
        // Tokens and codes that memory would purge by now are left out.
        horizon_(now - kPurgeRetentionMs),
        changes_(changes),
        w_(out) {}

  void open() { w_.open('{').field("next_grant_id", store_.next_grant_id_); }
  void grants();
  void tokens() {
    refresh_.close('}');
    access_.close('}');
    w_.key("access").raw(access_text_).key("refresh").raw(refresh_text_);
  }
  void codes();
  void per_user_counts();
  void gone();
  void close() { w_.close('}'); }

 private:
  bool full() const { return changes_ == nullptr; }
  // Rotated refresh tokens past their reuse grace period are left out too: after a restart,
  // presenting one gets the same 400 as an unknown token (the journal then says "unknown"
  // instead of "rotated", and reuse no longer revokes the grant).
  bool refresh_kept(const RefreshRecord& r, const Policy& policy) const {
    if ((r.expires_ms != 0 && r.expires_ms <= horizon_) ||
        (r.idle_ms != 0 && r.last_used_ms + r.idle_ms <= horizon_))
      return false;
    return !r.rotated || (policy.reuse == ReusePolicy::kGrace &&
                          now_ - r.rotated_ms <= policy.reuse_grace_period * 1000);
  }
  // Also notes that the file now has the grant's access tokens.
  KeptTokens kept_tokens(Grant& g) const;
  // The grant into the main text, its tokens into their own.
  void write_grant(const Grant& g, const KeptTokens& kept);

  TokenStore& store_;
  const TimeMs now_;
  const TimeMs horizon_;
  const Changes* changes_;  // null: a full snapshot
  JsonWriter w_;
  std::string refresh_text_ = "{";
  std::string access_text_ = "{";
  JsonWriter refresh_{refresh_text_};
  JsonWriter access_{access_text_};
  std::vector<uint64_t> gone_grants_;
  std::vector<const std::string*> gone_codes_;
};

TokenStore::KeptTokens TokenStore::StoreWriter::kept_tokens(Grant& g) const {
  const Policy& policy = store_.policy_locked(g);
  KeptTokens kept;
  for (const auto& t : g.retired_refresh_tokens) {
    auto it = store_.refresh_.find(t);
    if (it != store_.refresh_.end() && refresh_kept(it->second, policy))
      kept.retired.emplace_back(&t, &it->second);
  }
  // A line of changes lists only the access tokens issued since the file last had the grant,
  // unless some of the older ones changed or were purged.
  kept.appended_only = !full() && !changes_->rewrite_access.count(g.id);
  size_t from = kept.appended_only ? std::min(g.access_tokens_on_disk, g.access_tokens.size()) : 0;
  g.access_tokens_on_disk = g.access_tokens.size();
  for (size_t i = from; i < g.access_tokens.size(); ++i) {
    auto it = store_.access_.find(g.access_tokens[i]);
    if (it != store_.access_.end() && it->second.expires_ms > horizon_)
      kept.access.emplace_back(&g.access_tokens[i], &it->second);
  }
  auto current = store_.refresh_.find(g.current_refresh_token);
  if (current != store_.refresh_.end() && refresh_kept(current->second, policy))
    kept.current = &current->second;
  return kept;
}

void TokenStore::StoreWriter::write_grant(const Grant& g, const KeptTokens& kept) {
  write(w_, g, kept);
  if (kept.current) write(refresh_.key(g.current_refresh_token), *kept.current);
  for (const auto& [token, record] : kept.retired) write(refresh_.key(*token), *record);
  for (const auto& [token, record] : kept.access) write(access_.key(*token), *record);
}

void TokenStore::StoreWriter::grants() {
  w_.key("grants").open('[');
  if (full()) {
    // A grant of which nothing can be used or judged any more is left out.
    std::unordered_set<uint64_t> with_codes;
    for (const auto& [code, c] : store_.codes_) {
      if (c.expires_ms > horizon_ && c.grant_id) with_codes.insert(c.grant_id);
    }
    for (auto& [id, g] : store_.grants_) {
      KeptTokens kept = kept_tokens(g);
      bool empty = kept.retired.empty() && kept.access.empty() && !kept.current;
      if (!empty || with_codes.count(id)) write_grant(g, kept);
    }
  } else {
    for (uint64_t id : changes_->grants) {
      auto it = store_.grants_.find(id);
      if (it == store_.grants_.end()) {
        gone_grants_.push_back(id);
      } else {
        write_grant(it->second, kept_tokens(it->second));
      }
    }
  }
  w_.close(']');
}

void TokenStore::StoreWriter::codes() {
  w_.key("codes").open('{');
  if (full()) {
    for (const auto& [code, c] : store_.codes_) {
      if (c.expires_ms > horizon_) write(w_.key(code), c);
    }
  } else {
    for (const auto& code : changes_->codes) {
      auto it = store_.codes_.find(code);
      if (it != store_.codes_.end() && it->second.expires_ms > horizon_) {
        write(w_.key(code), it->second);
      } else {
        gone_codes_.push_back(&code);
      }
    }
  }
  w_.close('}');
}

void TokenStore::StoreWriter::per_user_counts() {
  auto put = [&](const std::string& user, const std::pair<int64_t, int64_t>& counts) {
    w_.key(user).open('[').number(counts.first).number(counts.second).close(']');
  };
  w_.key("per_user_counts").open('{');
  if (full()) {
    for (const auto& [user, counts] : store_.per_user_counts_) put(user, counts);
  } else {
    for (const auto& user : changes_->users) {
      auto it = store_.per_user_counts_.find(user);
      if (it != store_.per_user_counts_.end()) put(user, it->second);
    }
  }
  w_.close('}');
}

void TokenStore::StoreWriter::gone() {
  w_.key("gone_grants").open('[');
  for (uint64_t id : gone_grants_) w_.number(static_cast<int64_t>(id));
  w_.close(']').key("gone_codes").open('[');
  for (const std::string* code : gone_codes_) w_.string(*code);
  w_.close(']');
}

void TokenStore::write_store_locked(std::string& out, TimeMs now, const Changes* changes) {
  StoreWriter writer(*this, out, now, changes);
  writer.open();
  writer.grants();  // gathers the grants' tokens, written next
  writer.tokens();
  writer.codes();
  writer.per_user_counts();
  if (changes) writer.gone();
  writer.close();
}

void TokenStore::write_snapshot(std::string& out, TimeMs now) {
  std::lock_guard<std::mutex> lock(mutex_);
  write_store_locked(out, now, nullptr);
  tracking_ = true;
  changes_ = Changes{};
}

bool TokenStore::write_changes(std::string& out, TimeMs now) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!tracking_) return false;
  write_store_locked(out, now, &changes_);
  changes_ = Changes{};
  return true;
}

// Reading: a snapshot or a line of changes, read whole before the store is touched.

struct TokenStore::Image {
  uint64_t next_grant_id = 1;
  std::vector<Grant> grants;
  std::vector<std::pair<std::string, AccessRecord>> access;
  std::vector<std::pair<std::string, RefreshRecord>> refresh;
  std::vector<std::pair<std::string, CodeRecord>> codes;
  std::vector<std::pair<std::string, std::pair<int64_t, int64_t>>> per_user_counts;
  std::vector<uint64_t> gone_grants;
  std::vector<std::string> gone_codes;
  // Grants whose record lists only access tokens to add to those the grant has.
  std::unordered_set<uint64_t> appended_access;
};

TokenStore::Image TokenStore::read_image(const nlohmann::json& s) const {
  Image image;
  try {
    image.next_grant_id = s.value("next_grant_id", uint64_t{1});
    for (const auto& j : s.at("grants")) {
      Grant g = j.get<Grant>();
      if (j.value("access_tokens_appended", false)) image.appended_access.insert(g.id);
      if (fixture_->clients.count(g.client_id)) {
        image.grants.push_back(std::move(g));
      } else {
        image.gone_grants.push_back(g.id);  // the fixture changed: forget the grant
      }
    }
    for (const auto& [token, j] : s.at("access").items())
      image.access.emplace_back(token, j.get<AccessRecord>());
    for (const auto& [token, j] : s.at("refresh").items())
      image.refresh.emplace_back(token, j.get<RefreshRecord>());
    for (const auto& [code, j] : s.at("codes").items())
      image.codes.emplace_back(code, j.get<CodeRecord>());
    for (const auto& [user, counts] : s.at("per_user_counts").items()) {
      image.per_user_counts.emplace_back(
          user, std::pair{counts.at(0).get<int64_t>(), counts.at(1).get<int64_t>()});
    }
    if (auto gone = s.find("gone_grants"); gone != s.end()) {
      for (const auto& id : *gone) image.gone_grants.push_back(id.get<uint64_t>());
    }
    if (auto gone = s.find("gone_codes"); gone != s.end()) {
      for (const auto& code : *gone) image.gone_codes.push_back(code.get<std::string>());
    }
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(std::string("malformed token store: ") + e.what());
  }
  return image;
}

void TokenStore::erase_grant_locked(uint64_t id) {
  auto it = grants_.find(id);
  if (it == grants_.end()) return;
  for (const auto& t : it->second.access_tokens) access_.erase(t);
  for (const auto& t : it->second.retired_refresh_tokens) refresh_.erase(t);
  refresh_.erase(it->second.current_refresh_token);
  grants_.erase(it);
}

void TokenStore::merge_locked(Image& image) {
  for (uint64_t id : image.gone_grants) {
    erase_grant_locked(id);
    mark_grant_locked(id);
  }
  for (auto& g : image.grants) {
    uint64_t id = g.id;
    auto old = grants_.find(id);
    if (old != grants_.end() && image.appended_access.count(id)) {
      // Kept out of the erase below, which takes the grant's replaced refresh tokens.
      std::vector<std::string> access = std::move(old->second.access_tokens);
      old->second.access_tokens.clear();
      access.insert(access.end(), std::make_move_iterator(g.access_tokens.begin()),
                    std::make_move_iterator(g.access_tokens.end()));
      g.access_tokens = std::move(access);
    }
    erase_grant_locked(id);
    mark_grant_locked(id);
    next_grant_id_ = std::max(next_grant_id_, id + 1);
    grants_[id] = std::move(g);
  }
  // Tokens only of grants that exist (a grant of a client the fixture lost took its tokens).
  for (auto& [token, a] : image.access) {
    if (grants_.count(a.grant_id)) access_.insert_or_assign(std::move(token), a);
  }
  for (auto& [token, r] : image.refresh) {
    if (grants_.count(r.grant_id)) refresh_.insert_or_assign(std::move(token), r);
  }
  for (const auto& code : image.gone_codes) {
    codes_.erase(code);
    if (tracking_) changes_.codes.insert(code);
  }
  for (auto& [code, c] : image.codes) {
    if (tracking_) changes_.codes.insert(code);
    codes_.insert_or_assign(std::move(code), std::move(c));
  }
  for (auto& [user, counts] : image.per_user_counts) {
    if (tracking_) changes_.users.insert(user);
    per_user_counts_[std::move(user)] = counts;
  }
  next_grant_id_ = std::max({next_grant_id_, image.next_grant_id, uint64_t{1}});
  earliest_expiry_ms_ = std::numeric_limits<TimeMs>::min();  // sweep soon
}

void TokenStore::restore(const nlohmann::json& s) {
  Image image = read_image(s);
  std::lock_guard<std::mutex> lock(mutex_);
  grants_ = {};
  access_ = {};
  refresh_ = {};
  codes_.clear();
  per_user_counts_.clear();
  next_grant_id_ = 1;
  // Replaced as a whole: only a full snapshot describes it now.
  tracking_ = false;
  changes_.grants.clear();
  changes_.codes.clear();
  changes_.users.clear();
  changes_.rewrite_access.clear();
  merge_locked(image);
}

void TokenStore::apply_changes(const nlohmann::json& changes) {
  Image image = read_image(changes);
  std::lock_guard<std::mutex> lock(mutex_);
  merge_locked(image);
}

}  // namespace mock2ba
