// A hash map split into shards, so that growing it never rehashes everything at once.
#ifndef MOCK2BA_SHARDED_MAP_H_
#define MOCK2BA_SHARDED_MAP_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iterator>
#include <stdexcept>
#include <type_traits>
#include <unordered_map>
#include <utility>

namespace mock2ba {

// std::unordered_map rehashes all its nodes when it grows; at 100,000 tokens that took 35 ms
// under the token store's lock, and every request in flight waited (p99 at 64 connections
// went from ~3 to ~13 ms). With 1,024 shards each rehash moves 1/1024 of the nodes: with 64, the
// shards of 150,000 tokens still took 0.5-0.9 ms each to rehash. Empty shards allocate nothing
// (about 56 KB of map headers per map). The interface is
// the subset of std::unordered_map the token store uses; iteration visits shard after shard.
template <typename Key, typename Value, typename Hash = std::hash<Key>>
class ShardedMap {
  static constexpr int kShardBits = 10;
  static constexpr size_t kShards = size_t{1} << kShardBits;
  using Shard = std::unordered_map<Key, Value, Hash>;

  template <bool kConst>
  class Iterator {
    using Map = std::conditional_t<kConst, const ShardedMap, ShardedMap>;
    using Inner =
        std::conditional_t<kConst, typename Shard::const_iterator, typename Shard::iterator>;

   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = typename Shard::value_type;
    using difference_type = std::ptrdiff_t;
    using pointer = std::conditional_t<kConst, const value_type*, value_type*>;
    using reference = std::conditional_t<kConst, const value_type&, value_type&>;

    Iterator() = default;
    Iterator(Map* map, size_t shard, Inner it) : map_(map), shard_(shard), it_(it) { skip_empty(); }
    // A const iterator from a mutable one.
    template <bool kOther, typename = std::enable_if_t<kConst && !kOther>>
    Iterator(const Iterator<kOther>& other)  // NOLINT(google-explicit-constructor)
        : map_(other.map_), shard_(other.shard_), it_(other.it_) {}

    reference operator*() const { return *it_; }
    pointer operator->() const { return &*it_; }
    Iterator& operator++() {
      ++it_;
      skip_empty();
      return *this;
    }
    bool operator==(const Iterator& other) const {
      return shard_ == other.shard_ && (shard_ == kShards || it_ == other.it_);
    }
    bool operator!=(const Iterator& other) const { return !(*this == other); }

   private:
    friend class ShardedMap;
    template <bool>
    friend class Iterator;

    // Moves past the end of exhausted shards; the end of the last shard is the map's end.
    void skip_empty() {
      while (shard_ < kShards && it_ == map_->shards_[shard_].end()) {
        if (++shard_ < kShards) it_ = map_->shards_[shard_].begin();
      }
    }

    Map* map_ = nullptr;
    size_t shard_ = kShards;
    Inner it_{};
  };

 public:
  using iterator = Iterator<false>;
  using const_iterator = Iterator<true>;
  using value_type = typename Shard::value_type;

  iterator begin() { return iterator(this, 0, shards_[0].begin()); }
  iterator end() { return iterator(this, kShards, {}); }
  const_iterator begin() const { return const_iterator(this, 0, shards_[0].begin()); }
  const_iterator end() const { return const_iterator(this, kShards, {}); }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  iterator find(const Key& key) {
    size_t s = shard_of(key);
    auto it = shards_[s].find(key);
    return it == shards_[s].end() ? end() : iterator(this, s, it);
  }
  const_iterator find(const Key& key) const {
    size_t s = shard_of(key);
    auto it = shards_[s].find(key);
    return it == shards_[s].end() ? end() : const_iterator(this, s, it);
  }
  size_t count(const Key& key) const { return shards_[shard_of(key)].count(key); }
  Value& at(const Key& key) { return shards_[shard_of(key)].at(key); }
  const Value& at(const Key& key) const { return shards_[shard_of(key)].at(key); }

  Value& operator[](const Key& key) {
    Shard& shard = shards_[shard_of(key)];
    size_t before = shard.size();
    Value& value = shard[key];
    size_ += shard.size() - before;
    return value;
  }
  template <typename K, typename... Args>
  std::pair<iterator, bool> try_emplace(K&& key, Args&&... args) {
    size_t s = shard_of(key);
    auto [it, inserted] = shards_[s].try_emplace(std::forward<K>(key), std::forward<Args>(args)...);
    if (inserted) ++size_;
    return {iterator(this, s, it), inserted};
  }
  template <typename K, typename V>
  std::pair<iterator, bool> emplace(K&& key, V&& value) {
    return try_emplace(std::forward<K>(key), std::forward<V>(value));
  }
  template <typename K, typename V>
  std::pair<iterator, bool> insert_or_assign(K&& key, V&& value) {
    size_t s = shard_of(key);
    auto [it, inserted] = shards_[s].insert_or_assign(std::forward<K>(key), std::forward<V>(value));
    if (inserted) ++size_;
    return {iterator(this, s, it), inserted};
  }

  size_t erase(const Key& key) {
    size_t erased = shards_[shard_of(key)].erase(key);
    size_ -= erased;
    return erased;
  }
  // Erases the element at `pos`; returns the element after it.
  iterator erase(iterator pos) {
    --size_;
    return iterator(this, pos.shard_, shards_[pos.shard_].erase(pos.it_));
  }
  void clear() {
    for (Shard& shard : shards_) shard.clear();
    size_ = 0;
  }

 private:
  size_t shard_of(const Key& key) const {
    // The top bits pick the shard; the shard's own buckets use the hash modulo a prime.
    // Mixed first: std::hash of an integer is the integer itself, and grant ids count up.
    return static_cast<size_t>((static_cast<uint64_t>(Hash{}(key)) * 0x9E3779B97F4A7C15ull) >>
                               (64 - kShardBits));
  }

  std::array<Shard, kShards> shards_;
  size_t size_ = 0;
};

}  // namespace mock2ba

#endif  // MOCK2BA_SHARDED_MAP_H_
