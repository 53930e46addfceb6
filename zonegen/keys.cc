#include "zonegen/keys.hh"

#include "store/store.hh"
#include "zonegen/apply.hh"
#include "zonegen/requests.hh"

#include <ctime>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace dnsxl::zonegen {

namespace {

bool validKey(const std::string& k) {
  return k.size() >= 8 && k.size() <= 63 &&
         k.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789") == std::string::npos;
}

std::string quotaText(const store::KeyRecord& k) {
  std::string out;
  if (k.perSecond) out += fmt::format("{}/s", k.perSecond);
  if (k.perDay) out += fmt::format("{}{}/day", out.empty() ? "" : ", ", k.perDay);
  return out.empty() ? "no quota" : out;
}

} // namespace

int keyCommand(const config::Config& cfg, const KeyArgs& a) {
  const auto now = static_cast<int64_t>(std::time(nullptr));
  const std::string by = a.by.empty() ? currentUser() : a.by;
  if (a.action == "list") {
    store::Env env(cfg.server.store, {.readOnly = true, .mapSize = cfg.server.mapSize});
    store::Snapshot snap(env);
    nlohmann::json out = nlohmann::json::array();
    size_t n = 0;
    snap.forEachKey([&](const store::KeyRecord& k) {
      ++n;
      if (a.json) {
        out.push_back({{"key", k.name},
                       {"revoked", k.revoked},
                       {"per_second", k.perSecond},
                       {"per_day", k.perDay},
                       {"created", k.created},
                       {"revoked_at", k.revokedAt},
                       {"note", k.note},
                       {"by", k.by}});
        return;
      }
      fmt::print("{}  {}  {}  created {} by {}{}{}\n", k.name, k.revoked ? "revoked" : "active",
                 quotaText(k), utcText(k.created), k.by,
                 k.revoked ? ", revoked " + utcText(k.revokedAt) : "",
                 k.note.empty() ? "" : "  (" + k.note + ")");
    });
    if (a.json)
      fmt::print("{}\n", out.dump(2));
    else if (n == 0)
      fmt::print("no access keys\n");
    return 0;
  }
  std::string name = a.name;
  if (a.action == "add" && name.empty()) name = randomText(24, "abcdefghijklmnopqrstuvwxyz234567");
  if (!validKey(name)) {
    fmt::print(stderr, "dnsxl: key '{}': a key is 8 to 63 of a-z and 0-9 (one DNS label)\n", name);
    return 2;
  }
  store::Env env(cfg.server.store, {.readOnly = false, .mapSize = cfg.server.mapSize});
  store::Writer w(env);
  auto existing = w.key(name);
  if (a.action == "add") {
    if (existing) {
      fmt::print(stderr, "dnsxl: key {} exists already{}\n", name,
                 existing->revoked ? " (revoked: revoked keys stay revoked; make a new one)" : "");
      return 1;
    }
    store::KeyRecord k{name, false, a.perSecond, a.perDay, now, 0, a.note, by};
    w.putKey(k);
    w.commit();
    fmt::print("{}\n", name);
    return 0;
  }
  if (!existing) {
    fmt::print(stderr, "dnsxl: there is no key {}\n", name);
    return 1;
  }
  if (existing->revoked) {
    fmt::print(stderr, "dnsxl: key {} was revoked already ({})\n", name,
               utcText(existing->revokedAt));
    return 1;
  }
  existing->revoked = true;
  existing->revokedAt = now;
  w.putKey(*existing);
  w.commit();
  fmt::print("key {} revoked\n", name);
  return 0;
}

} // namespace dnsxl::zonegen
