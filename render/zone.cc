#include "render/zone.hh"

#include "dns/byte_order.hh"
#include "dns/wire.hh"

#include <algorithm>
#include <arpa/inet.h>
#include <fmt/format.h>
#include <map>
#include <stdexcept>
#include <unordered_map>

namespace dnsxl::render {

namespace {

__extension__ typedef unsigned __int128 U128;

// One dataset's part of an answer: its value set, looked up as IPv4 (kind 4, also for IPv6
// names that embed an IPv4 address), IPv6 (6) or a domain (0). The responder asks datasets in
// order, IPv4 before IPv6 within one.
struct Item {
  uint16_t ds = 0;
  uint8_t kind = 0;
  uint32_t set = 0;
  bool operator==(const Item&) const = default;
  bool operator<(const Item& o) const {
    return std::tie(ds, kind, set) < std::tie(o.ds, o.kind, o.set);
  }
};
using Answer = std::vector<Item>;

struct TooBig {};

template <typename Addr>
struct Seg {
  Addr lo, hi;
  uint32_t answer; // index into Renderer::d_answers
};

class Renderer {
public:
  Renderer(store::Snapshot& snap, const store::ZoneRecord& zone, int64_t now, uint64_t max,
           const std::function<void(const Record&)>& emit, Stats& stats)
      : d_snap(snap), d_zone(zone), d_now(now), d_max(max), d_emit(emit), d_stats(stats) {}

  void run() {
    apex();
    // Origins: the zone itself and each subzone of a combined dataset; a name belongs to the
    // longest origin that ends it (rbldnsd §5.8), and only that origin's datasets answer it.
    std::vector<std::string> origins;
    for (const auto& ds : d_zone.datasets) {
      if (ds.subzones.empty()) origins.emplace_back();
      for (const auto& s : ds.subzones)
        origins.push_back(s);
    }
    std::sort(origins.begin(), origins.end());
    origins.erase(std::unique(origins.begin(), origins.end()), origins.end());
    d_origins = origins;
    for (const auto& o : origins) {
      d_origin = o;
      d_active.clear();
      for (size_t i = 0; i < d_zone.datasets.size(); ++i) {
        const auto& ds = d_zone.datasets[i];
        if (ds.kinds & store::kAcl) continue;
        const bool here = ds.subzones.empty() ? o.empty()
                                              : std::find(ds.subzones.begin(), ds.subzones.end(),
                                                          o) != ds.subzones.end();
        if (here) d_active.push_back(i);
      }
      ip4();
      ip6();
      domains();
      generic();
    }
  }

private:
  // ---- output ----

  void put(const std::string& owner, uint16_t type, uint32_t ttl, std::string rdata) {
    if (++d_stats.records > d_max) throw TooBig{};
    d_emit(Record{owner, type, ttl, std::move(rdata)});
  }

  std::string ownerOf(std::string rel) const {
    if (d_origin.empty()) return rel;
    return rel.empty() ? d_origin : rel + "." + d_origin;
  }

  void apex() {
    std::string soa;
    dns::encodeName(d_zone.soa.mname, soa);
    dns::encodeName(d_zone.soa.rname, soa);
    for (uint32_t v : {d_zone.soa.serial, d_zone.soa.refresh, d_zone.soa.retry, d_zone.soa.expire,
                       d_zone.soa.minimum})
      bytes::put32(soa, v);
    put("", dns::kTypeSOA, d_zone.soa.ttl, soa);
    for (const auto& ns : d_zone.ns) {
      std::string rd;
      if (dns::encodeName(ns, rd)) put("", dns::kTypeNS, d_zone.nsTtl, rd);
    }
  }

  // Whether a value set still answers (not every value expired).
  bool live(uint32_t set) {
    if (set == store::kNoValue || set == store::kExcluded) return false;
    auto [it, fresh] = d_live.try_emplace(set, false);
    if (fresh) {
      store::ValueSetReader r(d_snap.valueSet(set));
      for (store::ValueView v; r.next(v);)
        if (v.expires == 0 || v.expires > d_now) it->second = true;
    }
    return it->second;
  }

  // The A and TXT records of an answer at owner; subject(item) is what `$` stands for.
  void answer(const std::string& owner, const Answer& items,
              const std::function<std::string(const Item&)>& subject) {
    std::vector<uint32_t> as;
    std::vector<std::string> txts;
    uint32_t ttl = UINT32_MAX;
    char buf[4000];
    const bool testPointsYield = dataAt(owner, items);
    for (const auto& it : items) {
      const auto& ds = d_zone.datasets[it.ds];
      if (testPointsYield && (ds.kinds & store::kTestPoints)) continue;
      store::ValueSetReader r(d_snap.valueSet(it.set));
      bool any = false;
      std::string subj;
      for (store::ValueView v; r.next(v);) {
        if (v.expires != 0 && v.expires <= d_now) continue;
        any = true;
        if (std::find(as.begin(), as.end(), v.a) == as.end()) as.push_back(v.a);
        if (v.hasTxt) {
          if (subj.empty()) subj = subject(it);
          std::string t(buf, store::expandTemplate(v.txt, subj, ds.vars, buf, sizeof buf));
          if (std::find(txts.begin(), txts.end(), t) == txts.end()) txts.push_back(std::move(t));
        }
      }
      if (any) ttl = std::min(ttl, ds.ttl);
    }
    if (as.empty() && txts.empty()) return;
    if (owner.starts_with("*.")) ++d_stats.wildcards;
    ++d_stats.names;
    const auto full = ownerOf(owner);
    for (uint32_t a : as) {
      std::string rd;
      bytes::put32(rd, a);
      put(full, dns::kTypeA, ttl, rd);
    }
    for (const auto& t : txts) {
      std::string rd;
      for (size_t i = 0; i == 0 || i < t.size(); i += 255) {
        const auto chunk = t.substr(i, 255);
        rd.push_back(static_cast<char>(chunk.size()));
        rd += chunk;
      }
      put(full, dns::kTypeTXT, ttl, rd);
    }
  }

  // Whether the data has something of its own at owner, so that the RFC 5782 test points, which
  // fill in only where it has nothing, yield: a live value of another dataset among items (they
  // hold live sets only) or a generic record at the name.
  bool dataAt(const std::string& owner, const Answer& items) {
    bool testPoint = false, data = false;
    for (const auto& it : items)
      ((d_zone.datasets[it.ds].kinds & store::kTestPoints) ? testPoint : data) = true;
    if (!testPoint || data) return data;
    std::string key; // "2.0.0.127" -> "127\0" "0\0" "0\0" "2\0"
    for (size_t end = owner.size();;) {
      const size_t dot = end == 0 ? std::string::npos : owner.rfind('.', end - 1);
      const size_t start = dot == std::string::npos ? 0 : dot + 1;
      key.append(owner, start, end - start).push_back('\0');
      if (dot == std::string::npos) break;
      end = dot;
    }
    for (size_t i : d_active)
      if ((d_zone.datasets[i].kinds & store::kGeneric) &&
          !d_snap.generic(d_zone.datasets[i].id, key).empty())
        return true;
    return false;
  }

  uint32_t intern(Answer a) {
    auto [it, fresh] =
        d_answerIds.try_emplace(std::move(a), static_cast<uint32_t>(d_answers.size()));
    if (fresh) d_answers.push_back(it->first);
    return it->second;
  }

  // Combines the datasets' intervals into disjoint segments, each with the answer of every
  // dataset there. in: (item without set, lo, hi, set) sorted by lo per item source.
  template <typename Addr>
  struct Piece {
    Addr lo, hi;
    Item item;
  };
  template <typename Addr>
  std::vector<Seg<Addr>> combine(std::vector<Piece<Addr>>& pieces) {
    std::vector<Addr> bounds; // starts of elementary segments
    for (const auto& p : pieces) {
      bounds.push_back(p.lo);
      if (p.hi != static_cast<Addr>(~Addr{0})) bounds.push_back(p.hi + 1);
    }
    std::sort(bounds.begin(), bounds.end());
    bounds.erase(std::unique(bounds.begin(), bounds.end()), bounds.end());
    // For each elementary segment, the pieces covering it: sweep with pieces sorted by lo.
    std::sort(pieces.begin(), pieces.end(),
              [](const auto& a, const auto& b) { return a.lo < b.lo; });
    std::vector<Seg<Addr>> out;
    std::vector<const Piece<Addr>*> open;
    size_t next = 0;
    for (size_t i = 0; i < bounds.size(); ++i) {
      const Addr lo = bounds[i];
      const bool last = i + 1 == bounds.size();
      const Addr hi = last ? static_cast<Addr>(~Addr{0}) : static_cast<Addr>(bounds[i + 1] - 1);
      std::erase_if(open, [&](const Piece<Addr>* p) { return p->hi < lo; });
      while (next < pieces.size() && pieces[next].lo <= lo)
        open.push_back(&pieces[next++]);
      Answer a;
      for (const auto* p : open)
        if (p->lo <= lo && p->hi >= lo) a.push_back(p->item);
      if (a.empty()) continue;
      std::sort(a.begin(), a.end());
      const uint32_t id = intern(std::move(a));
      if (!out.empty() && out.back().answer == id && out.back().hi + 1 == lo)
        out.back().hi = hi;
      else
        out.push_back({lo, hi, id});
    }
    return out;
  }

  // ---- addresses: blocks of 256 (IPv4 octets) or 16 (IPv6 nibbles) ----

  // The segments meeting [lo, hi]: indices [first, last).
  template <typename Addr>
  static std::pair<size_t, size_t> meeting(const std::vector<Seg<Addr>>& segs, Addr lo, Addr hi,
                                           size_t from, size_t to) {
    auto b = std::lower_bound(segs.begin() + static_cast<long>(from),
                              segs.begin() + static_cast<long>(to), lo,
                              [](const Seg<Addr>& s, Addr v) { return s.hi < v; });
    auto e = std::upper_bound(b, segs.begin() + static_cast<long>(to), hi,
                              [](Addr v, const Seg<Addr>& s) { return v < s.lo; });
    return {static_cast<size_t>(b - segs.begin()), static_cast<size_t>(e - segs.begin())};
  }

  // Renders the block of `level` labels starting at lo (size: 2^(bits - width*level)).
  // Spec: Family::width (bits per label), Family::labels (labels of a full address).
  template <typename F>
  void block(F& fam, int level, typename F::Addr lo, size_t from, size_t to) {
    using Addr = typename F::Addr;
    const int shift = F::kBits - F::kWidth * level;
    const Addr hi = static_cast<Addr>(lo | ((Addr{1} << shift) - 1));
    auto [b, e] = meeting(fam.segs, lo, hi, from, to);
    if (b == e) return;
    const auto& segs = fam.segs;
    if (level == F::kLabels) {
      fam.exact(*this, lo, segs[b].answer);
      return;
    }
    const bool wildOk = fam.wildcardAllowed(lo, level);
    const bool uniform = e - b == 1 && segs[b].lo <= lo && segs[b].hi >= hi;
    if (uniform && wildOk) {
      fam.wild(*this, lo, level, segs[b].answer);
      return;
    }
    bool covered = segs[b].lo <= lo && segs[e - 1].hi >= hi;
    for (size_t i = b; covered && i + 1 < e; ++i)
      covered = segs[i].hi + 1 == segs[i + 1].lo;
    const Addr childSize = Addr{1} << (shift - F::kWidth);
    constexpr unsigned kChildren = 1U << F::kWidth;
    if (covered && wildOk) {
      // Every address answers: the most common answer of the uniform children is the wildcard,
      // the other children are rendered below it (their names block it).
      std::vector<int64_t> childAnswer(kChildren, -1);
      std::map<uint32_t, unsigned> votes;
      for (unsigned c = 0; c < kChildren; ++c) {
        const Addr clo = lo + childSize * c, chi = clo + (childSize - 1);
        auto [cb, ce] = meeting(segs, clo, chi, b, e);
        if (ce - cb == 1) {
          childAnswer[c] = segs[cb].answer;
          ++votes[segs[cb].answer];
        }
      }
      int64_t best = -1;
      unsigned most = 0;
      for (const auto& [a, n] : votes)
        if (n > most) most = n, best = a;
      if (best >= 0) {
        fam.wild(*this, lo, level, static_cast<uint32_t>(best));
        for (unsigned c = 0; c < kChildren; ++c)
          if (childAnswer[c] != best)
            block(fam, level + 1, static_cast<Addr>(lo + childSize * c), b, e);
        return;
      }
    }
    for (unsigned c = 0; c < kChildren; ++c)
      block(fam, level + 1, static_cast<Addr>(lo + childSize * c), b, e);
  }

  // IPv4 names: 4 decimal labels.
  struct V4 {
    using Addr = uint32_t;
    static constexpr int kBits = 32, kWidth = 8, kLabels = 4;
    std::vector<Seg<Addr>> segs;
    static std::string labels(uint32_t a, int level) { // "c.b.a" for the first `level` octets
      std::string s;
      for (int i = level - 1; i >= 0; --i) {
        if (!s.empty()) s.push_back('.');
        s += std::to_string((a >> (24 - 8 * i)) & 0xff);
      }
      return s;
    }
    // Under labels that are all one digit, a wildcard would also answer IPv6 names (nibbles):
    // RFC 5782 §2.4, Exim's warning about `*.3.list` matching 3::/4.
    static bool wildcardAllowed(uint32_t a, int level) {
      for (int i = 0; i < level; ++i)
        if (((a >> (24 - 8 * i)) & 0xff) > 9) return true;
      return false;
    }
    static std::string text(uint32_t a) {
      in_addr x{htonl(a)};
      char buf[INET_ADDRSTRLEN];
      inet_ntop(AF_INET, &x, buf, sizeof buf);
      return buf;
    }
    void exact(Renderer& r, uint32_t a, uint32_t ans) {
      r.answer(labels(a, 4), r.d_answers[ans], [&](const Item&) { return text(a); });
    }
    void wild(Renderer& r, uint32_t a, int level, uint32_t ans) {
      const auto subject = fmt::format("{}/{}", text(a), 8 * level);
      r.answer("*." + labels(a, level), r.d_answers[ans], [&](const Item&) { return subject; });
    }
  };

  // IPv6 names: 32 nibble labels. IPv4 data answers the v4-mapped and 6to4 names too.
  struct V6 {
    using Addr = U128;
    static constexpr int kBits = 128, kWidth = 4, kLabels = 32;
    std::vector<Seg<Addr>> segs;
    static std::string labels(U128 a, int level) {
      std::string s;
      for (int i = level - 1; i >= 0; --i) {
        if (!s.empty()) s.push_back('.');
        s.push_back("0123456789abcdef"[static_cast<unsigned>(a >> (124 - 4 * i)) & 0xf]);
      }
      return s;
    }
    // A wildcard of fewer than 4 labels, all digits, would answer IPv4 names (4 labels).
    static bool wildcardAllowed(U128 a, int level) {
      if (level >= 4) return true;
      for (int i = 0; i < level; ++i)
        if (((a >> (124 - 4 * i)) & 0xf) > 9) return true;
      return false;
    }
    static store::Ip6 bytes(U128 a) {
      store::Ip6 b{};
      for (size_t i = 16; i-- > 0;) {
        b[i] = static_cast<uint8_t>(a & 0xff);
        a >>= 8;
      }
      return b;
    }
    static std::string text(U128 a) {
      char buf[INET6_ADDRSTRLEN];
      const auto b = bytes(a);
      inet_ntop(AF_INET6, b.data(), buf, sizeof buf);
      return buf;
    }
    // The IPv4 address an IPv6 address embeds (v4-mapped, 6to4).
    static uint32_t embedded(U128 a) {
      if ((a >> 32) == 0xffff) return static_cast<uint32_t>(a);
      return static_cast<uint32_t>(a >> 80);
    }
    void exact(Renderer& r, U128 a, uint32_t ans) {
      r.answer(labels(a, 32), r.d_answers[ans],
               [&](const Item& it) { return it.kind == 4 ? V4::text(embedded(a)) : text(a); });
    }
    void wild(Renderer& r, U128 a, int level, uint32_t ans) {
      const int len = 4 * level;
      const U128 last = a | ((U128{1} << (128 - len)) - 1);
      const auto v6 = fmt::format("{}/{}", text(a), len);
      r.answer("*." + labels(a, level), r.d_answers[ans], [&](const Item& it) {
        if (it.kind != 4) return v6;
        const uint32_t lo = embedded(a), hi = embedded(last), span = hi - lo;
        if (lo == hi) return V4::text(lo);
        if (((span + 1) & span) == 0 && (lo & span) == 0) { // an aligned block: CIDR
          int p = 32;
          for (uint32_t s = span; s; s >>= 1)
            --p;
          return fmt::format("{}/{}", V4::text(lo), p);
        }
        return V4::text(lo) + "-" + V4::text(hi);
      });
    }
  };

  void ip4() {
    std::vector<Piece<uint32_t>> pieces;
    for (size_t i : d_active) {
      const auto& ds = d_zone.datasets[i];
      if (!(ds.kinds & store::kIp4)) continue;
      d_snap.forEachIp4(ds.id, [&](const store::IpInterval4& iv) {
        if (live(iv.valueSet))
          pieces.push_back({iv.start, iv.end, Item{static_cast<uint16_t>(i), 4, iv.valueSet}});
      });
    }
    V4 fam;
    fam.segs = combine(pieces);
    d_ip4Pieces = pieces; // the IPv6 side maps them into ::ffff:0:0/96 and 2002::/16
    for (unsigned c = 0; c < 256; ++c)
      block(fam, 1, c << 24, 0, fam.segs.size());
  }

  void ip6() {
    std::vector<Piece<U128>> pieces;
    for (size_t i : d_active) {
      const auto& ds = d_zone.datasets[i];
      if (!(ds.kinds & store::kIp6)) continue;
      d_snap.forEachIp6(ds.id, [&](const store::IpInterval6& iv) {
        if (!live(iv.valueSet)) return;
        U128 lo = 0, hi = 0;
        for (size_t b = 0; b < 16; ++b) {
          lo = lo << 8 | iv.start[b];
          hi = hi << 8 | iv.end[b];
        }
        pieces.push_back({lo, hi, Item{static_cast<uint16_t>(i), 6, iv.valueSet}});
      });
    }
    for (const auto& p : d_ip4Pieces) {
      pieces.push_back({U128{0xffff} << 32 | p.lo, U128{0xffff} << 32 | p.hi, p.item});
      const U128 six = U128{0x2002} << 112;
      pieces.push_back(
          {six | U128{p.lo} << 80, six | U128{p.hi} << 80 | ((U128{1} << 80) - 1), p.item});
    }
    V6 fam;
    fam.segs = combine(pieces);
    for (unsigned c = 0; c < 16; ++c)
      block(fam, 1, U128{c} << 124, 0, fam.segs.size());
  }

  // ---- domains ----

  static std::string dotted(std::string_view key) { // "com\0example\0" -> "example.com"
    std::string out;
    size_t start = 0;
    while (start < key.size()) {
      size_t end = key.find('\0', start);
      if (end == std::string_view::npos) end = key.size();
      out = out.empty() ? std::string(key.substr(start, end - start))
                        : std::string(key.substr(start, end - start)) + "." + out;
      start = end + 1;
    }
    return out;
  }

  // Whether a relative name lies in a longer origin than the current one (answered there).
  bool shadowed(const std::string& name) const {
    for (const auto& o : d_origins) {
      if (o.size() <= d_origin.size() || o == d_origin) continue;
      std::string rel = d_origin.empty() ? o : o.substr(0, o.size() - d_origin.size() - 1);
      if (name == rel || name.ends_with("." + rel)) return true;
    }
    return false;
  }

  struct Wild {
    uint32_t set = store::kNoValue; // kNoValue: none above; kExcluded: stopped
    std::string base;
  };

  // Depth-first over the name tree (key order is tree order): a stack of the nodes on the path,
  // each with what its datasets' closest "below" entries say for names under it.
  struct Node {
    std::string key, name;
    std::vector<Wild> below;  // per dataset index (all of d_zone.datasets)
    bool ownWildcard = false; // a `*.name` entry of its own lists names below it
    bool hasChildren = false;
    bool answered = false; // its own answer has records
  };
  using Keys = std::map<std::string, std::vector<std::pair<size_t, store::DomainEntry>>>;

  void domains() {
    Keys keys; // key -> per active dataset entry
    for (size_t i : d_active) {
      const auto& ds = d_zone.datasets[i];
      if (!(ds.kinds & store::kDomain)) continue;
      d_snap.forEachDomain(ds.id, [&](std::string_view key, store::DomainEntry e) {
        keys[std::string(key)].emplace_back(i, e);
      });
    }
    std::vector<Node> stack;
    for (const auto& [key, entries] : keys) {
      if (shadowed(dotted(key))) continue;
      // leave the nodes that are not ancestors of this key
      while (!stack.empty() && !(key.size() > stack.back().key.size() &&
                                 key.compare(0, stack.back().key.size(), stack.back().key) == 0))
        leave(stack);
      // enter the ancestors that are not keys (empty non-terminals), then the key
      size_t pos = stack.empty() ? 0 : stack.back().key.size();
      for (size_t z = key.find('\0', pos); z != std::string::npos && z + 1 < key.size();
           z = key.find('\0', z + 1))
        enter(stack, keys, key.substr(0, z + 1));
      enter(stack, keys, key);
    }
    while (!stack.empty())
      leave(stack);
  }

  // The wildcard a node's `*.name` entries (its own, or carried down from above) answer.
  Answer wildcardOf(const Node& node) {
    Answer items;
    for (size_t i = 0; i < node.below.size(); ++i)
      if (node.below[i].set != store::kNoValue && node.below[i].set != store::kExcluded &&
          live(node.below[i].set))
        items.push_back(Item{static_cast<uint16_t>(i), 0, node.below[i].set});
    return items;
  }

  // Leaves a node: its wildcard, and for a name that answers nothing but would be caught by a
  // wildcard above (or exists only through the wildcard that carries the one above past it), a
  // CNAME to a name that does not exist, so that it answers NXDOMAIN as dnsxld does (RFC 6604).
  // A name with a `*.name` entry of its own is an empty non-terminal in both (RFC 4592 §2.2.2,
  // RFC 8020): no CNAME.
  void leave(std::vector<Node>& stack) {
    Node node = std::move(stack.back());
    stack.pop_back();
    const auto below = wildcardOf(node);
    if (!below.empty())
      answer("*." + node.name, below, [&node](const Item& it) { return node.below[it.ds].base; });
    const bool caught = !stack.empty() && !wildcardOf(stack.back()).empty();
    if (!node.answered && !node.hasChildren && !node.ownWildcard && (!below.empty() || caught)) {
      std::string rd;
      dns::encodeName(std::string(kNoSuchName) + "." + d_zone.name, rd);
      put(ownerOf(node.name), 5, d_zone.soa.minimum, rd);
    }
    if (!stack.empty()) stack.back().hasChildren = true;
  }

  // Enters a name: its own answer (its exact entry, else the closest "below" entry above it),
  // and what its `*.name` entries say for the names under it.
  void enter(std::vector<Node>& stack, const Keys& keys, const std::string& key) {
    const size_t n = d_zone.datasets.size();
    Node node;
    node.key = key;
    node.name = dotted(key);
    node.below = stack.empty() ? std::vector<Wild>(n) : stack.back().below;
    Answer own;
    std::vector<std::string> subjects(n);
    std::vector<const store::DomainEntry*> entry(n, nullptr);
    if (auto it = keys.find(key); it != keys.end())
      for (const auto& [i, e] : it->second)
        entry[i] = &e;
    for (size_t i : d_active) {
      if (!(d_zone.datasets[i].kinds & store::kDomain)) continue;
      if (entry[i] && entry[i]->exact != store::kNoValue) {
        if (entry[i]->exact != store::kExcluded && live(entry[i]->exact)) {
          own.push_back(Item{static_cast<uint16_t>(i), 0, entry[i]->exact});
          subjects[i] = node.name;
        }
      } else if (!stack.empty()) {
        const auto& w = stack.back().below[i];
        if (w.set != store::kNoValue && w.set != store::kExcluded && live(w.set)) {
          own.push_back(Item{static_cast<uint16_t>(i), 0, w.set});
          subjects[i] = w.base;
        }
      }
      if (entry[i] && entry[i]->wild != store::kNoValue) {
        node.below[i] = Wild{entry[i]->wild, node.name};
        if (live(entry[i]->wild)) node.ownWildcard = true;
      }
    }
    if (!own.empty()) {
      const auto before = d_stats.records;
      answer(node.name, own, [&](const Item& x) { return subjects[x.ds]; });
      node.answered = d_stats.records > before;
    }
    stack.push_back(std::move(node));
  }

  // ---- generic records ----

  void generic() {
    for (size_t i : d_active) {
      const auto& ds = d_zone.datasets[i];
      if (!(ds.kinds & store::kGeneric)) continue;
      d_snap.forEachGeneric(ds.id, [&](std::string_view key, std::string_view recs) {
        const auto owner = ownerOf(dotted(key));
        const auto* p = reinterpret_cast<const uint8_t*>(recs.data());
        for (size_t pos = 0; pos + 8 <= recs.size();) {
          const uint16_t type = bytes::get16(p + pos);
          const uint32_t ttl = bytes::get32(p + pos + 2);
          const size_t len = bytes::get16(p + pos + 6);
          if (pos + 8 + len > recs.size()) break;
          put(owner, type, ttl, std::string(recs.substr(pos + 8, len)));
          pos += 8 + len;
        }
      });
    }
  }

  store::Snapshot& d_snap;
  const store::ZoneRecord& d_zone;
  int64_t d_now;
  uint64_t d_max;
  const std::function<void(const Record&)>& d_emit;
  Stats& d_stats;
  std::string d_origin;
  std::vector<std::string> d_origins;
  std::vector<size_t> d_active;
  std::unordered_map<uint32_t, bool> d_live;
  std::vector<Answer> d_answers{Answer{}};
  std::map<Answer, uint32_t> d_answerIds;
  std::vector<Piece<uint32_t>> d_ip4Pieces;
};

} // namespace

bool renderZone(store::Snapshot& snap, const store::ZoneRecord& zone, int64_t now,
                uint64_t maxRecords, const std::function<void(const Record&)>& emit, Stats& stats,
                std::string& error) {
  Renderer r(snap, zone, now, maxRecords, emit, stats);
  try {
    r.run();
  } catch (const TooBig&) {
    error = fmt::format("zone {} needs more than {} records as a master file (wildcards cover "
                        "only octet- or nibble-aligned blocks); use the rsync snapshot instead",
                        zone.name, maxRecords);
    return false;
  }
  return true;
}

} // namespace dnsxl::render
