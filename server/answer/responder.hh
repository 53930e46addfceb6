// The pure responder: one query in, one reply out, from one consistent store snapshot.
// No sockets, no threads, no allocation per query (zone metadata is decoded once per store
// generation). Follows RFC 1034 §4.3.2, RFC 2308, RFC 5782, RFC 6891, RFC 8020 (docs/answers.md).
#pragma once

#include "dns/wire.hh"
#include "server/answer/access.hh"
#include "server/answer/tsig.hh"
#include "store/store.hh"

#include <algorithm>
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
  // CH TXT id.server / hostname.bind (RFC 4892 §2); empty = REFUSED.
  std::string identity;
  // The EDNS NSID option's payload (RFC 5001), sent to a client that asks; empty = not sent.
  std::string nsid;
  // The store's zones served: when set, only those named (the config's [[zone]] list); others
  // are REFUSED as not ours. Unset: every zone of the store.
  std::optional<std::vector<std::string>> zones;
  // Per zone: who may ask ([[zone.access]]); a zone without a table answers everyone.
  std::vector<ZoneAccess> access;
  // The keyed zones: queries ask `<query>.<key>.<zone>` with a key of the store's.
  std::vector<KeyedZone> keyed;
  KeyQuotas* quotas = &KeyQuotas::global(); // the keys' counters (shared by the workers)
};

// Whether a zone of the store is served under a zone list (Options::zones): unset serves all.
inline bool serves(const std::optional<std::vector<std::string>>& zones, std::string_view zone) {
  return !zones || std::find(zones->begin(), zones->end(), zone) != zones->end();
}

enum class Transport { Udp, Tcp };

// Who asked: for rbldnsd acl datasets (rbldnsd §5.9).
struct Client {
  bool v6 = false;
  uint32_t v4 = 0; // host order
  store::Ip6 addr6{};
};

// The query types counted one by one; the rest are "other".
inline constexpr std::array<uint16_t, 7> kCountedTypes = {1, 16, 28, 255, 6, 2, 15};
inline constexpr std::array<const char*, 8> kCountedTypeNames = {"A",   "TXT", "AAAA", "ANY",
                                                                 "SOA", "NS",  "MX",   "other"};

// Query counters of a zone. tot..out are rbldnsd's statistics (its -s file): answered NOERROR
// (incl. NODATA), NXDOMAIN, other replies and dropped queries, bytes in and out.
struct ZoneStats {
  uint64_t tot = 0, ok = 0, nxd = 0, err = 0, in = 0, out = 0;
  uint64_t udp = 0, tcp = 0;
  uint64_t dropped = 0;   // no reply sent (not a query, acl ignore)
  uint64_t truncated = 0; // TC set (the client retries over TCP)
  // A name below the zone's apex looked up in the lists: listed (an answer from data) or not
  // (NXDOMAIN / NODATA)
  uint64_t listed = 0, unlisted = 0;
  std::array<uint64_t, 16> rcode{};                         // replies by RCODE (header bits)
  std::array<uint64_t, kCountedTypeNames.size()> qtype{};   // queries by type
  std::map<std::string, uint64_t> datasetHits;              // dataset name → answers it listed in
  std::array<uint64_t, kAccessActionNames.size()> access{}; // queries by access rule action
  std::array<uint64_t, kKeyResultNames.size()> keys{};      // a keyed zone's queries by key result
  ZoneStats& operator+=(const ZoneStats& o);
};

class Responder {
public:
  Responder(store::Env& env, Options options);

  // Takes the newest committed store state; call before a batch of answers. now (Unix time) is
  // when the batch is answered: what has expired by then is not served.
  void begin(int64_t now);
  // Releases the snapshot (so LMDB can reuse pages); call after the batch.
  void end();
  // New options (a config reload), between batches; the zones are read again at the next begin.
  void setOptions(Options options);
  // Another store (a mirror's replaced data file), between batches; counters stay.
  void rebind(store::Env& env);

  // Writes the reply to query into out and returns its length; 0 means "send nothing".
  // Without a client, acl datasets are not consulted.
  size_t answer(std::span<const uint8_t> query, std::span<uint8_t> out, Transport transport,
                const Client* client = nullptr);

  // Adds this responder's counters to into (zone name → stats; "" = queries of no zone we serve,
  // "*" = every query). Safe to call from another thread.
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
    size_t counter = 0; // index into d_datasetCounters
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
    const AccessTable* access = nullptr; // who may ask (in d_opt); null: everyone
    const KeyedZone* keyed = nullptr;    // a keyed zone's answers (in d_opt)
  };

private:
  struct Ctx;
  struct Counters { // written only by the worker owning the responder, read by stats()
    // (rbldnsd's tot, ok, nxd and err follow from these: addTo)
    std::atomic<uint64_t> in{0}, out{0};
    std::atomic<uint64_t> udp{0}, tcp{0}, dropped{0}, truncated{0}, listed{0}, unlisted{0};
    std::array<std::atomic<uint64_t>, 16> rcode{};
    std::array<std::atomic<uint64_t>, kCountedTypeNames.size()> qtype{};
    std::array<std::atomic<uint64_t>, kAccessActionNames.size()> access{};
    std::array<std::atomic<uint64_t>, kKeyResultNames.size()> keys{};
    void count(const Ctx& c, size_t reply, Transport transport);
    void addTo(ZoneStats& s) const;
  };
  // answerQuery's stages (responder.cc); a stage that returns size_t has written the reply.
  size_t answerQuery(Ctx& c, Transport transport);
  size_t header(Ctx& c, Transport transport);
  size_t chaos(Ctx& c);
  bool findZone(Ctx& c);
  void selectDatasets(Ctx& c);
  detail::Found genericAt(const Ctx& c, std::string_view key);
  size_t apex(Ctx& c);
  size_t fixedAnswer(Ctx& c, const AccessRule& rule);
  size_t keyCheck(Ctx& c);
  void classify(Ctx& c);
  void domainForm(Ctx& c);
  void lookUp(Ctx& c, detail::Found& found);
  void alwaysListed(Ctx& c, detail::Found& found);
  void lookUpIn(Ctx& c, const Dataset& ds, detail::Found& found);
  void lookUpName(Ctx& c, const Dataset& ds, detail::Found& found);
  bool liveSet(uint32_t set);
  bool nameExists(Ctx& c);
  void refreshZones();

  store::Env* d_env;
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
  // per dataset ("zone/dataset"): answers it listed in
  std::deque<std::atomic<uint64_t>> d_datasetCounters;
  std::map<std::pair<std::string, std::string>, size_t> d_datasetIndex;
  mutable std::mutex d_countersMutex; // guards the indexes and the deques' growth
  Counters d_none;                    // queries of no zone of ours
  int64_t d_now = 0;                  // Unix time, read once per batch
  std::vector<Zone> d_zones;
  // The access keys of the store (when a zone is keyed), per store generation.
  struct Key {
    bool revoked = false;
    uint32_t perSecond = 0;
    uint64_t perDay = 0;
    KeyQuotas::Counter* counter = nullptr;
  };
  std::map<std::string, Key, std::less<>> d_keys;

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
