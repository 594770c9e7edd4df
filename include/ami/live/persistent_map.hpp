// A persistent hash map (a hash array mapped trie): copying one is O(1) and shares every
// node; changing a copy copies only the nodes on the path to the entry, O(log32 n). Nodes
// and entries that no other copy holds are changed in place, so a map nobody has copied
// costs little more than a mutable one.
//
// Copies may be read from any thread while another thread changes its own copy. One copy
// is not safe for concurrent writes (as for any standard container).
#pragma once

#include <atomic>
#include <bitset>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ami::live {

// Hashes std::string and std::string_view alike (the standard guarantees they agree), so
// maps keyed by std::string can be searched with a view.
struct string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

template <class K, class V, class Hash = string_hash, class Equal = std::equal_to<>>
class persistent_map {
  struct leaf {
    K key;
    V value;
  };
  struct entry {
    std::size_t hash;
    std::shared_ptr<leaf> item;
  };
  // Below the last level of hash bits every entry of a node has the same hash; such a
  // node keeps its entries unindexed (a collision list).
  struct node {
    std::uint32_t datamap = 0;  // which of the 32 slots hold an entry
    std::uint32_t nodemap = 0;  // which hold a child node
    std::vector<entry> entries;
    std::vector<std::shared_ptr<node>> children;
  };

  static constexpr unsigned level_bits = 5;
  static constexpr unsigned hash_bits = std::numeric_limits<std::size_t>::digits;

 public:
  using key_type = K;
  using mapped_type = V;

  persistent_map() = default;

  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }

  // True when both maps share their root: equal without looking further.
  bool same_as(const persistent_map& other) const noexcept {
    return root_ == other.root_ && size_ == other.size_;
  }

  template <class Q>
  const V* find(const Q& key) const noexcept {
    const std::size_t h = Hash{}(key);
    const node* n = root_.get();
    unsigned shift = 0;
    while (n != nullptr) {
      if (shift >= hash_bits) return find_collision(*n, h, key);
      const std::uint32_t bit = slot_bit(h, shift);
      if ((n->datamap & bit) != 0) {
        const entry& e = n->entries[index(n->datamap, bit)];
        return e.hash == h && Equal{}(e.item->key, key) ? &e.item->value : nullptr;
      }
      if ((n->nodemap & bit) == 0) return nullptr;
      n = n->children[index(n->nodemap, bit)].get();
      shift += level_bits;
    }
    return nullptr;
  }

  template <class Q>
  bool contains(const Q& key) const noexcept {
    return find(key) != nullptr;
  }

  // The value of `key` for changing it, or nullptr when absent. Copies the path to it
  // (and the entry) unless this map holds them alone.
  template <class Q>
  V* find_mutable(const Q& key) {
    if (find(key) == nullptr) return nullptr;
    return &locate(key)->value;
  }

  // The value of `key`, default-constructed first when absent (`inserted` says which).
  template <class Q>
  V& upsert(const Q& key, bool* inserted = nullptr) {
    const std::size_t before = size_;
    V& v = locate(key)->value;
    if (inserted != nullptr) *inserted = size_ != before;
    return v;
  }

  // Sets `key` to `value`; true when the key was new.
  template <class Q>
  bool insert_or_assign(const Q& key, V value) {
    bool inserted = false;
    upsert(key, &inserted) = std::move(value);
    return inserted;
  }

  // Removes `key`; false when it was absent (nothing is copied then).
  template <class Q>
  bool erase(const Q& key) {
    if (find(key) == nullptr) return false;
    erase_in(root_, Hash{}(key), key, 0);
    --size_;
    if (size_ == 0) root_.reset();
    return true;
  }

  void clear() noexcept {
    root_.reset();
    size_ = 0;
  }

  // Calls f(key, value) for every entry, in no particular order.
  template <class F>
  void for_each(F&& f) const {
    if (root_) visit(*root_, f);
  }

  // Equal entries (keys and values compared with ==), whatever the shapes.
  friend bool operator==(const persistent_map& a, const persistent_map& b) {
    if (a.same_as(b)) return true;
    if (a.size_ != b.size_) return false;
    bool equal = true;
    a.for_each([&](const K& k, const V& v) {
      if (!equal) return;
      const V* other = b.find(k);
      equal = other != nullptr && *other == v;
    });
    return equal;
  }
  friend bool operator!=(const persistent_map& a, const persistent_map& b) { return !(a == b); }

 private:
  static std::uint32_t slot_bit(std::size_t h, unsigned shift) noexcept {
    return std::uint32_t{1} << ((h >> shift) & 31U);
  }
  static std::size_t index(std::uint32_t map, std::uint32_t bit) noexcept {
    return std::bitset<32>(map & (bit - 1)).count();
  }

  template <class Q>
  static const V* find_collision(const node& n, std::size_t h, const Q& key) noexcept {
    for (const entry& e : n.entries) {
      if (e.hash == h && Equal{}(e.item->key, key)) return &e.item->value;
    }
    return nullptr;
  }

  // A node or entry held by this map alone may change in place; otherwise it is copied
  // first. The fence pairs with the release in the other holders' decrements, so their
  // last reads happen before these writes.
  template <class T>
  static T* writable(std::shared_ptr<T>& p) {
    if (p.use_count() == 1) {
      std::atomic_thread_fence(std::memory_order_acquire);
      return p.get();
    }
    p = std::make_shared<T>(*p);
    return p.get();
  }

  template <class Q>
  static entry make_entry(std::size_t h, const Q& key) {
    return entry{h, std::make_shared<leaf>(leaf{K(key), V{}})};
  }

  // Puts `e` into the empty node `n` whose level starts at `shift`.
  static void place(node& n, entry e, unsigned shift) {
    if (shift < hash_bits) n.datamap = slot_bit(e.hash, shift);
    n.entries.push_back(std::move(e));
  }

  template <class Q>
  leaf* locate(const Q& key) {
    const std::size_t h = Hash{}(key);
    if (!root_) root_ = std::make_shared<node>();
    node* n = writable(root_);
    unsigned shift = 0;
    for (;;) {
      if (shift >= hash_bits) {
        for (entry& e : n->entries) {
          if (e.hash == h && Equal{}(e.item->key, key)) return writable(e.item);
        }
        n->entries.push_back(make_entry(h, key));
        ++size_;
        return n->entries.back().item.get();
      }
      const std::uint32_t bit = slot_bit(h, shift);
      if ((n->datamap & bit) != 0) {
        const std::size_t i = index(n->datamap, bit);
        entry& e = n->entries[i];
        if (e.hash == h && Equal{}(e.item->key, key)) return writable(e.item);
        // Two keys share this slot: push the resident one down into a new child.
        auto child = std::make_shared<node>();
        place(*child, std::move(e), shift + level_bits);
        n->entries.erase(n->entries.begin() + static_cast<std::ptrdiff_t>(i));
        n->datamap ^= bit;
        const std::size_t ci = index(n->nodemap, bit);
        n->nodemap |= bit;
        n = n->children
                .insert(n->children.begin() + static_cast<std::ptrdiff_t>(ci), std::move(child))
                ->get();
        shift += level_bits;
        continue;
      }
      if ((n->nodemap & bit) != 0) {
        n = writable(n->children[index(n->nodemap, bit)]);
        shift += level_bits;
        continue;
      }
      const std::size_t i = index(n->datamap, bit);
      n->datamap |= bit;
      auto it = n->entries.insert(n->entries.begin() + static_cast<std::ptrdiff_t>(i),
                                  make_entry(h, key));
      ++size_;
      return it->item.get();
    }
  }

  // Removes a key known to be present below `p`. A child left with one entry and no
  // children is folded into its parent, so the trie stays as shallow as its keys allow.
  template <class Q>
  static void erase_in(std::shared_ptr<node>& p, std::size_t h, const Q& key, unsigned shift) {
    node* n = writable(p);
    if (shift >= hash_bits) {
      for (auto it = n->entries.begin(); it != n->entries.end(); ++it) {
        if (it->hash == h && Equal{}(it->item->key, key)) {
          n->entries.erase(it);
          return;
        }
      }
      return;
    }
    const std::uint32_t bit = slot_bit(h, shift);
    if ((n->datamap & bit) != 0) {
      n->entries.erase(n->entries.begin() + static_cast<std::ptrdiff_t>(index(n->datamap, bit)));
      n->datamap ^= bit;
      return;
    }
    const std::size_t ci = index(n->nodemap, bit);
    erase_in(n->children[ci], h, key, shift + level_bits);
    node& child = *n->children[ci];
    if (!child.children.empty() || child.entries.size() > 1) return;
    n->nodemap ^= bit;
    if (child.entries.size() == 1) {
      entry moved = child.entries.front();
      n->children.erase(n->children.begin() + static_cast<std::ptrdiff_t>(ci));
      n->entries.insert(n->entries.begin() + static_cast<std::ptrdiff_t>(index(n->datamap, bit)),
                        std::move(moved));
      n->datamap |= bit;
    } else {
      n->children.erase(n->children.begin() + static_cast<std::ptrdiff_t>(ci));
    }
  }

  template <class F>
  static void visit(const node& n, F& f) {
    for (const entry& e : n.entries) f(e.item->key, e.item->value);
    for (const auto& c : n.children) visit(*c, f);
  }

  std::shared_ptr<node> root_;
  std::size_t size_ = 0;
};

}  // namespace ami::live
