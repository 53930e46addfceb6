// The pure responder: one query in, one reply out, from one consistent store snapshot.
// No sockets, no threads, no allocation per query (zone metadata is decoded once per store
// generation). Follows RFC 1034 §4.3.2, RFC 2308, RFC 5782, RFC 6891, RFC 8020 (docs/answers.md).
#pragma once

#include "dns/wire.hh"
#include "server/answer/tsig.hh"
#include "store/store.hh"

#include <array>
#include <atomic>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace dnsxl::answer {

namespace detail {
struct Found;
}

struct Options {
  uint16_t ednsUdpMax = 1232; // our cap on UDP replies (dnsflagday.net/2020)
  // CH TXT version.bind / version.server answer; empty = REFUSED like any other CH query.
  std::string version;
  // The TSIG keys we know: a query signed with one (a secondary's SOA check) gets a signed reply,
  // or the TSIG error (RFC 8945 §5.2, §5.3). Empty: TSIG records are not looked at.
  std::vector<tsig::Key> tsigKeys;
};

enum class Transport { Udp, Tcp };

// Who asked: for rbldnsd acl datasets (rbldnsd §5.9).
struct Client {
  bool v6 = false;
  uint32_t v4 = 0; // host order
  store::Ip6 addr6{};
};

// rbldnsd's statistics per zone (its -s file): answered NOERROR (incl. NODATA), NXDOMAIN, other
// replies and dropped queries, bytes in and out.
struct ZoneStats {
  uint64_t tot = 0, ok = 0, nxd = 0, err = 0, in = 0, out = 0;
  ZoneStats& operator+=(const ZoneStats& o) {
    tot += o.tot, ok += o.ok, nxd += o.nxd, err += o.err, in += o.in, out += o.out;
    return *this;
  }
};

class Responder {
public:
  Responder(store::Env& env, Options options);

  // Takes the newest committed store state; call before a batch of answers. now (Unix time) is
  // when the batch is answered: what has expired by then is not served.
  void begin(int64_t now);
  // Releases the snapshot (so LMDB can reuse pages); call after the batch.
  void end();

  // Writes the reply to query into out and returns its length; 0 means "send nothing".
  // Without a client, acl datasets are not consulted.
  size_t answer(std::span<const uint8_t> query, std::span<uint8_t> out, Transport transport,
                const Client* client = nullptr);

  // Adds this responder's counters to into (zone name → stats; "*" = every query). Safe to call
  // from another thread.
  void addStats(std::map<std::string, ZoneStats>& into) const;

  // Convenience for tests and tools: begin, answer, end.
  size_t answerOne(std::span<const uint8_t> query, std::span<uint8_t> out, Transport transport,
                   int64_t now, const Client* client = nullptr) {
    begin(now);
    size_t n = answer(query, out, transport, client);
    end();
    return n;
  }

  struct Subzone {
    std::string wire; // lower-case labels without the root; empty = the zone itself
    size_t labels = 0;
  };
  struct Dataset {
    uint32_t id;
    uint8_t kinds;
    uint32_t ttl;
    std::array<std::string, 10> vars;
    std::vector<Subzone> subzones;
  };
  struct Zone {
    std::string wire; // lower-case wire name
    std::string soaRdata;
    std::string negSoa; // the SOA record of negative answers after its owner (one copy)
    uint32_t soaTtl, negTtl;
    std::vector<std::string> nsRdata;
    uint32_t nsTtl;
    std::vector<Dataset> datasets;
    int64_t expires; // the earliest dataset expiry ($TIMESTAMP), 0 = never
    size_t counters; // index into d_counters (kept across store generations)
    bool names;      // a dataset other than the test points holds names (dnset, generic)
  };

private:
  struct Counters { // written only by the worker owning the responder, read by stats()
    std::atomic<uint64_t> tot{0}, ok{0}, nxd{0}, err{0}, in{0}, out{0};
    void count(size_t query, size_t reply, uint8_t rcode);
  };
  // answerQuery's stages (responder.cc); a stage that returns size_t has written the reply.
  struct Ctx;
  size_t answerQuery(Ctx& c, Transport transport);
  size_t header(Ctx& c, Transport transport);
  size_t chaos(Ctx& c);
  bool findZone(Ctx& c);
  void selectDatasets(Ctx& c);
  detail::Found genericAt(const Ctx& c, std::string_view key);
  size_t apex(Ctx& c);
  void classify(Ctx& c);
  void domainForm(Ctx& c);
  void lookUp(Ctx& c, detail::Found& found);
  void alwaysListed(Ctx& c, detail::Found& found);
  void lookUpIn(Ctx& c, const Dataset& ds, detail::Found& found);
  void lookUpName(Ctx& c, const Dataset& ds, detail::Found& found);
  bool liveSet(uint32_t set);
  bool nameExists(Ctx& c);
  void refreshZones();

  store::Env& d_env;
  store::Snapshot d_snap;
  Options d_opt;
  // The acl action for client in an acl dataset (0 when no entry matches); for an always-listed
  // entry, its value set.
  uint32_t aclAction(uint32_t dataset, const Client& client, std::string_view& valueSet);

  static constexpr uint64_t kNoGeneration = ~uint64_t{0};
  uint64_t d_generation = kNoGeneration;
  std::optional<Dataset> d_globalAcl; // rbldnsd's `:acl:file`, checked for every query
  std::deque<Counters> d_counters;    // per zone name, stable addresses
  std::map<std::string, size_t> d_counterIndex;
  mutable std::mutex d_countersMutex; // guards d_counterIndex and the deque's growth
  Counters d_all;                     // every query, also those for no zone
  int64_t d_now = 0;                  // Unix time, read once per batch
  std::vector<Zone> d_zones;

  // The ancestors a dnset lookup asks about (is there a `*.name` entry?) are mostly the same
  // few: `com`, `net`, a popular parent. Their entries are kept per store generation (every
  // commit bumps it), in a small direct-mapped table: an unlisted name then costs one seek.
  struct AncestorSlot {
    uint64_t generation = kNoGeneration;
    uint32_t dataset = 0;
    uint8_t len = 0;
    char key[22];
    bool found = false;
    store::DomainEntry entry{};
  };
  std::optional<store::DomainEntry> ancestor(uint32_t dataset, std::string_view key);
  std::vector<AncestorSlot> d_ancestors = std::vector<AncestorSlot>(512);
};

} // namespace dnsxl::answer
