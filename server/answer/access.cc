#include "server/answer/access.hh"

#include "server/answer/responder.hh"

#include <algorithm>

namespace dnsxl::answer {

void AccessTable::add(bool v6, const uint8_t* address, unsigned length, uint16_t rule) {
  const unsigned bits = v6 ? 128 : 32;
  U128 v = 0;
  for (unsigned i = 0; i < bits / 8; ++i)
    v = v << 8 | address[i];
  length = std::min(length, bits);
  // the host bits (a shift by 128 would be undefined: ::/0 is all host bits)
  const U128 host = length == bits         ? 0
                    : bits - length == 128 ? ~U128{0}
                                           : ((U128{1} << (bits - length)) - 1);
  d_prefixes.push_back({v6, v & ~host, v | host, length, rule});
}

void AccessTable::build() {
  for (const bool v6 : {false, true}) {
    auto& out = v6 ? d_v6 : d_v4;
    out.clear();
    // the boundaries where the longest covering prefix can change
    std::vector<U128> cuts;
    for (const auto& p : d_prefixes)
      if (p.v6 == v6) {
        cuts.push_back(p.lo);
        if (p.hi != ~U128{0}) cuts.push_back(p.hi + 1);
      }
    std::sort(cuts.begin(), cuts.end());
    cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
    for (size_t i = 0; i < cuts.size(); ++i) {
      const U128 lo = cuts[i];
      const U128 hi = i + 1 < cuts.size() ? cuts[i + 1] - 1 : (v6 ? ~U128{0} : 0xffffffffU);
      const Prefix* best = nullptr;
      for (const auto& p : d_prefixes) // the prefixes are few: quadratic is fine, once
        if (p.v6 == v6 && p.lo <= lo && hi <= p.hi && (!best || p.length > best->length)) best = &p;
      if (!best) continue;
      if (!out.empty() && out.back().rule == best->rule && out.back().hi + 1 == lo)
        out.back().hi = hi;
      else
        out.push_back({lo, hi, best->rule});
    }
  }
}

int AccessTable::match(const Client& client) const {
  U128 v = client.v4;
  const auto& ranges = client.v6 ? d_v6 : d_v4;
  if (client.v6) {
    v = 0;
    for (uint8_t b : client.addr6)
      v = v << 8 | b;
  }
  auto it = std::upper_bound(ranges.begin(), ranges.end(), v,
                             [](U128 x, const Range& r) { return x < r.lo; });
  if (it == ranges.begin()) return -1;
  --it;
  return v <= it->hi ? it->rule : -1;
}

KeyQuotas& KeyQuotas::global() {
  static KeyQuotas q;
  return q;
}

KeyQuotas::Counter* KeyQuotas::counter(const std::string& key) {
  std::lock_guard lock(d_mutex);
  auto& c = d_counters[key];
  if (!c) c = std::make_unique<Counter>();
  return c.get();
}

bool KeyQuotas::take(Counter& c, int64_t now, uint32_t perSecond, uint64_t perDay) {
  const auto t = static_cast<uint64_t>(now);
  const uint64_t inSecond = countInWindow(c.second, t & 0xffffffffU, 32);
  const uint64_t inDay = countInWindow(c.day, t / 86400, 40);
  return (perSecond == 0 || inSecond <= perSecond) && (perDay == 0 || inDay <= perDay);
}

} // namespace dnsxl::answer
