// The LMDB store: the only code that includes <lmdb.h> (docs/store.md has the schema)..
// Writer changes everything in one write transaction; Snapshot reads one consistent view.
// Refuses: opening a store of an unknown schema version, keys longer than LMDB allows.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

struct MDB_env;
struct MDB_txn;
struct MDB_cursor;

namespace dnsxl::store {

inline constexpr uint32_t kSchemaVersion = 3;
inline constexpr size_t kMaxTables = 16; // LMDB named tables an Env opens (maxdbs)
// Value-set id 0 means "nothing"; kExcluded marks a domain key that is excluded ("!name").
inline constexpr uint32_t kNoValue = 0;
inline constexpr uint32_t kExcluded = 0xffffffffU;

using Ip6 = std::array<uint8_t, 16>;

class StoreError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

struct Soa {
  std::string mname; // absolute, lower case, no trailing dot
  std::string rname;
  uint32_t serial = 0;
  uint32_t refresh = 3600;
  uint32_t retry = 600;
  uint32_t expire = 604800;
  uint32_t minimum = 300;
  uint32_t ttl = 3600;
};

enum DataKind : uint8_t {
  kIp4 = 1,
  kIp6 = 2,
  kDomain = 4,
  kGeneric = 8,
  kAcl = 16,       // client addresses (rbldnsd acl): ip4/ip6 intervals whose values are actions
  kTestPoints = 32 // the RFC 5782 test entries every zone has
};

// rbldnsd acl actions, in the A field of an acl dataset's values (outside 127/8).
inline constexpr uint32_t kAclIgnore = 0xffffff01U; // drop the query
inline constexpr uint32_t kAclRefuse = 0xffffff02U; // REFUSED
inline constexpr uint32_t kAclEmpty = 0xffffff03U;  // the zone's lists look empty to the client
inline constexpr uint32_t kAclPass = 0xffffff04U;   // normal processing

struct DatasetRecord {
  uint32_t id = 0;
  std::string name;
  uint8_t kinds = 0; // DataKind bits: which tables hold data of this dataset
  uint32_t ttl = 0;
  std::array<std::string, 10> vars; // rbldnsd $0..$9 substitution variables
  int64_t expires = 0;              // Unix time after which the zone is not served; 0 = never
  // rbldnsd combined datasets: the subzones (relative names, "" = the zone itself) this dataset
  // answers below; empty = the zone itself.
  std::vector<std::string> subzones;
  // Entries read from the feed at the last import (the import guard compares the next one).
  uint64_t entries = 0;
  std::vector<std::string> files; // the feed files, as the entries of the dataset refer to them
};

struct ZoneRecord {
  std::string name; // lower case, no trailing dot
  Soa soa;
  std::vector<std::string> ns;
  uint32_t nsTtl = 3600;
  std::vector<DatasetRecord> datasets;
};

// One value of a value set: the A code and an optional TXT template.
struct ValueView {
  uint32_t a = 0;
  bool hasTxt = false;
  std::string_view txt;
  int64_t expires = 0; // Unix time the value stops being served; 0 = never
};

// Encodes a value set (the values an address or name answers with) for the values table.
std::string encodeValueSet(std::span<const std::pair<uint32_t, std::optional<std::string>>> values);
// Expands an rbldnsd TXT template into out (at most cap bytes; returns the length): `$` = subject,
// `$$` = '$', `$0`..`$9` = the dataset's variables (left as written when undefined).
size_t expandTemplate(std::string_view tmpl, std::string_view subject,
                      const std::array<std::string, 10>& vars, char* out, size_t cap);
// Appends one value to an encoded set; expires != 0 adds the time it stops being served.
void appendValue(std::string& out, uint32_t a, const std::optional<std::string>& txt,
                 int64_t expires);

// Iterates an encoded value set without copying. The bytes must outlive the iteration.
class ValueSetReader {
public:
  explicit ValueSetReader(std::string_view bytes) : d_bytes(bytes) {}
  // Returns false at the end or on a malformed record.
  bool next(ValueView& out);

private:
  std::string_view d_bytes;
  size_t d_pos = 0;
};

// An imported entry (table `ent`): what one feed line listed or excluded, and where it came from.
struct EntryRecord {
  enum Kind : uint8_t { V4 = 4, V6 = 6, Name = 0x64 }; // 0x64: 'd'
  Kind kind = V4;
  uint32_t lo4 = 0, hi4 = 0;
  Ip6 lo6{}, hi6{};
  std::string name;  // Name: lower case, no trailing dot
  uint8_t scope = 0; // Name: 0 the name, 1 below it (*.name), 2 both (.name)
  bool excluded = false;
  // The entry's own value (A and TXT template) as a one-value set in the values table: a text
  // that a million entries share is stored once. kNoValue for an exclusion.
  uint32_t value = kNoValue;
  uint16_t file = 0; // index into the dataset's files (DatasetRecord::files)
  uint32_t line = 0;
  // code, reason, ref, listed, expires, evidence, delist, type (the record formats' fields)
  std::array<std::string, 8> fields;
};
// Keys: dataset then a sequence number, so a dataset's entries are one range in import order.
std::string entryKey(uint32_t dataset, uint32_t seq);
// The keys of the entries' index (table `src`) for one entry: an address range as the CIDR
// blocks that make it up (dataset, family, prefix length, network, seq), a name as (dataset,
// 'n', key length, domain key, seq) with its scope as the value. A lookup is then one seek per
// prefix length, or per label of a name, instead of a scan of the dataset's entries.
std::vector<std::pair<std::string, uint8_t>> entryIndexKeys(uint32_t dataset, uint32_t seq,
                                                            const EntryRecord& e);
void forEachIndexKey(uint32_t dataset, uint32_t seq, const EntryRecord& e,
                     const std::function<void(std::string_view key, uint8_t value)>& f);
std::string encodeEntry(const EntryRecord& e);
// The same into out (cleared first); packedFields, when not empty, replaces e.fields: 8 times
// (u16 big-endian length, bytes).
void encodeEntry(std::string& out, const EntryRecord& e, std::string_view packedFields);
EntryRecord decodeEntry(std::string_view bytes);

// A change to what a dataset lists (tables `manual` and `audit`): what, when, why, by whom.
// `manual` keeps the operator's own changes (dnsxl add / delist) in order, so that every import
// applies them again on top of the feeds; `audit` keeps every change, by whichever path.
// An access key of a keyed zone (`dnsxl key add`): queries ask `<query>.<key>.<zone>`, each
// key with its own quotas (per second, per UTC day; 0 = none). Kept in table `keys` by name, in
// the store (so rsync mirrors have them too).
struct KeyRecord {
  std::string name; // 8 to 63 of a-z and 0-9: one DNS label
  bool revoked = false;
  uint32_t perSecond = 0;
  uint64_t perDay = 0;
  int64_t created = 0, revokedAt = 0;
  std::string note, by; // whom it is for; who made it
};
std::string encodeKey(const KeyRecord& k);
KeyRecord decodeKey(std::string_view name, std::string_view bytes);

struct ChangeRecord {
  enum Action : uint8_t {
    Listed = 1,   // a feed import listed (or excluded) the entry
    Unlisted = 2, // a feed import no longer has it
    Added = 3,    // dnsxl add
    Delisted = 4, // dnsxl delist
    Expired = 5,  // its `expires` passed (dnsxl expire)
  };
  Action action = Added;
  int64_t when = 0; // Unix time
  std::string zone, dataset;
  std::string by;     // who: the operator's user name
  std::string source; // "feed.csv:12", "dnsxl add", "changes.txt:3"
  EntryRecord entry;  // the subject, exclusion flag and fields (reason, ref, ...)
  std::string value;  // Listed/Added: the one-value set (A, TXT template, expiry); else empty
};
std::string encodeChange(const ChangeRecord& c);
// The same into out, with c.entry replaced by an entry already encoded (encodeEntry).
void encodeChange(std::string& out, const ChangeRecord& c, std::string_view encodedEntry);
// An encoded entry's identity: the bytes with the value id, file and line zeroed (what two
// imports of the same feed line have in common). Empty for a corrupt record.
// valueId, when given, receives the entry's value set id.
std::string_view entryIdentity(std::string_view encodedEntry, std::string& buf,
                               uint32_t* valueId = nullptr);
ChangeRecord decodeChange(std::string_view bytes);
// The action's name as the audit trail prints it ("listed", "delisted", ...).
std::string_view actionName(ChangeRecord::Action a);

std::string encodeZone(const ZoneRecord& zone);
ZoneRecord decodeZone(std::string_view bytes);

// Domain keys: labels from the root down, lower case, each followed by '\0' ("com\0example\0").
// Returns false if a label is empty or contains '\0'.
bool domainKey(std::string_view dottedName, std::string& out);

class Env {
public:
  struct Options {
    bool readOnly = false;
    size_t mapSize = size_t{16} << 30;
    // Write through a writable map (MDB_WRITEMAP) when no other process reads the store: faster
    // big writes (an import), not imposed on a running server (see env.cc).
    bool writeMapIfAlone = false;
    // Read-only without LMDB's lock file (MDB_NOLOCK): for a mirror's store, which no LMDB
    // writer touches and rsync replaces whole; a replaced file can then be opened beside the
    // old one in the same process. Never with a writer on the store.
    bool noLock = false;
  };
  Env(const std::filesystem::path& dir, Options options);
  ~Env();
  Env(const Env&) = delete;
  Env& operator=(const Env&) = delete;

  bool writeMap() const { return d_writeMap; }
  bool readOnly() const { return d_readOnly; }
  // Writes a compacted copy of the store, as one consistent snapshot, to data.mdb in dir (an
  // existing empty directory): LMDB's compacting copy (mdb_env_copy2, MDB_CP_COMPACT).
  void copyCompact(const std::filesystem::path& dir);
  bool hasEntries() const;
  // What one table (by its name: "dom", "ip4", ...) takes in the map: LMDB's page counts and
  // the bytes its records' nodes take in their leaf pages (header, key, value, pointer).
  struct TableStats {
    size_t entries = 0, leafPages = 0, overflowPages = 0, pageSize = 0, nodeBytes = 0;
  };
  TableStats tableStats(std::string_view table);
  // A read-only process after a writer committed a new generation: drops the store's pages
  // from this process's page tables (madvise MADV_DONTNEED; they stay in the page cache and
  // come back on the next touch). Otherwise the pages of every older generation it read stay
  // counted in its RSS, which grows with each import. Once per generation; any thread.
  void releaseResidentPages(uint64_t generation);
  // The store's data file (data.mdb) and what of it LMDB uses: pages up to the last one written.
  struct Size {
    uint64_t fileBytes = 0; // allocated on disk
    uint64_t usedBytes = 0;
    uint64_t mapBytes = 0; // the map size: the most the store can grow to
  };
  Size size() const;
  const std::filesystem::path& dataFile() const { return d_file; }

private:
  friend class Writer;
  friend class Snapshot;
  MDB_env* raw() const { return d_env; }
  unsigned dbi(int table) const { return d_dbi[static_cast<size_t>(table)]; }
  // Whether a table added after schema 1 exists (a read-only open of an older store lacks it).
  bool has(int table) const { return (d_missing & (1U << table)) == 0; }
  void openTables(MDB_txn* txn, const std::filesystem::path& dir);

  MDB_env* d_env = nullptr;
  std::filesystem::path d_file; // data.mdb, as /proc/self/maps names it
  std::atomic<uint64_t> d_released{0};
  std::once_flag d_mapFound;
  void* d_mapBase = nullptr;
  size_t d_mapLength = 0;
  std::array<unsigned, kMaxTables> d_dbi{};
  bool d_readOnly = false;
  bool d_writeMap = false;
  unsigned d_missing = 0; // bit per table
};

struct IpInterval4 {
  uint32_t start, end, valueSet;
};
struct IpInterval6 {
  Ip6 start, end;
  uint32_t valueSet;
};
struct DomainEntry {
  uint32_t exact = kNoValue; // value set, kExcluded or kNoValue
  uint32_t wild = kNoValue;  // the same for "*.name" (everything below the name)
};

// All changes of one import: committed together, or not at all.
class Writer {
public:
  explicit Writer(Env& env);
  ~Writer();
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  std::vector<ZoneRecord> zones();
  // Removes every zone, dataset and value: an import replaces the whole served state.
  void clearData();
  void putZone(const ZoneRecord& zone);
  // Interns an encoded value set and returns its id (deduplicated within the store).
  uint32_t internValueSet(std::string_view encoded);
  // An import's intervals: per dataset in increasing order, not overlapping, into a dataset
  // that has none yet (after clearData) — else StoreError. Written a block at a time.
  void putIp4(uint32_t dataset, const IpInterval4& interval);
  void putIp6(uint32_t dataset, const IpInterval6& interval);
  // Writes the intervals put so far; commit, paint and a Snapshot of this writer call it.
  void flushIntervals();
  template <typename Interval>
  struct Pending { // (writer.cc's)
    uint32_t dataset = 0;
    bool any = false;
    decltype(Interval::start) lastEnd{};
    std::vector<Interval> run;
  };
  // An import's names: per dataset in increasing key order into a dataset that has none yet
  // (else StoreError), written a block at a time. putDomain sets one name's entry anywhere.
  void appendDomain(uint32_t dataset, std::string_view key, DomainEntry entry);
  void flushNames(); // writes the names appended so far (as flushIntervals)
  void putDomain(uint32_t dataset, std::string_view key, DomainEntry entry);
  // rbldnsd generic records of one name: (u16 type, u32 ttl, u16 rdlength, rdata)...
  void putGeneric(uint32_t dataset, std::string_view key, std::string_view records);
  // One imported entry with its provenance (see entryKey/encodeEntry); keys in increasing order.
  // Each entry's index keys (table `src`) are written with it: by the import sorted, at commit.
  void putEntry(std::string_view key, std::string_view record);
  // The same when the caller has the entry decoded (an import): its subject is indexed.
  void putEntry(std::string_view key, std::string_view record, const EntryRecord& entry);
  void deleteEntry(std::string_view key);
  void forEachEntry(uint32_t dataset,
                    const std::function<void(std::string_view, std::string_view)>& f);

  // Changes in place (dnsxl add / delist / expire, and an import applying the manual changes).
  // The encoded value set of an id, as this transaction sees it; empty if unknown.
  std::string valueSet(uint32_t id);
  // The same without a copy: valid until the next write of this transaction.
  std::string_view valueSetView(uint32_t id);
  // An imported entry by its key (entryKey); empty if there is none.
  std::string entry(std::string_view key);
  // Gives every part of [lo, hi] the set f(its set) — kNoValue for the parts nothing lists, and
  // f returning kNoValue unlists a part. Outside [lo, hi] nothing changes. Returns whether some
  // part of [lo, hi] was listed before.
  bool paintIp4(uint32_t dataset, uint32_t lo, uint32_t hi,
                const std::function<uint32_t(uint32_t)>& f);
  bool paintIp6(uint32_t dataset, const Ip6& lo, const Ip6& hi,
                const std::function<uint32_t(uint32_t)>& f);
  std::optional<DomainEntry> domain(uint32_t dataset, std::string_view key);
  void deleteDomain(uint32_t dataset, std::string_view key);
  // Removes every name strictly below key; returns how many.
  size_t deleteDomainsBelow(uint32_t dataset, std::string_view key);

  // The manual changes, in the order they were made (sequence numbers from 1).
  uint64_t putManual(const ChangeRecord& c);
  void deleteManual(uint64_t seq);
  std::vector<std::pair<uint64_t, ChangeRecord>> manualChanges();
  // Appends to the audit trail; pruneAudit drops what is older than `before` (Unix time).
  // The IXFR journal (RFC 1995): per zone, in the order of the changes, what each serial change
  // did to the zone's records (payload: render/zone.hh's encoding).
  void putJournal(std::string_view zone, uint32_t from, uint32_t to, int64_t when,
                  std::string_view payload);
  // Drops a zone's oldest journal entries until what is left holds at most maxBytes, and those
  // written before `before` (Unix time).
  void pruneJournal(std::string_view zone, size_t maxBytes, int64_t before);
  void putAudit(const ChangeRecord& c);
  void putAuditEncoded(std::string_view bytes); // encodeChange's bytes
  // Access keys: written whole; read by name.
  void putKey(const KeyRecord& k);
  std::optional<KeyRecord> key(std::string_view name);
  size_t pruneAudit(int64_t before);
  void commit();

private:
  friend class Snapshot; // a Snapshot of this writer reads its transaction
  MDB_txn* rawTxn() const { return d_txn; }
  Env& d_env;
  MDB_txn* d_txn = nullptr;
  uint32_t d_nextValueId = 1;
  std::unordered_map<std::string, uint32_t> d_valueIds;
  uint64_t d_nextAudit = 0; // 0: not read yet
  std::string d_buf;
  Pending<IpInterval4> d_pending4;
  Pending<IpInterval6> d_pending6;
  struct PendingNames {
    uint32_t dataset = 0;
    bool any = false;
    std::string last;
    std::vector<std::pair<std::string, DomainEntry>> run;
  } d_pendingNames;
  std::set<uint32_t> d_staleFilters; // datasets whose names changed: filters to write at commit
  // index keys to write, unsorted: those of up to kSize bytes (addresses, short names) in place
  struct SrcKey {
    static constexpr size_t kSize = 30;
    std::array<char, kSize> key;
    uint8_t len, value;
  };
  std::vector<SrcKey> d_pendingSrc;
  std::vector<std::pair<std::string, uint8_t>> d_pendingSrcLong;
  void queueIndexKeys(std::string_view entryKey, const EntryRecord& e);
  bool d_srcEmpty = false; // the table was emptied in this transaction and not written since
  void flushSrc();
};

// A consistent read-only view. renew() moves it to the newest committed state; reset() releases
// it. Lookups return views into LMDB memory, valid until the next reset/renew.
class Snapshot {
public:
  explicit Snapshot(Env& env);
  // Reads through a Writer's transaction (its changes included); must end before the commit.
  Snapshot(Env& env, Writer& writer);
  ~Snapshot();
  Snapshot(const Snapshot&) = delete;
  Snapshot& operator=(const Snapshot&) = delete;

  void renew();
  void reset();
  // Moves to another store (a mirror's data file replaced by rsync): reads go there from the
  // next renew(); the index is dropped. Released (as after reset()).
  void rebind(Env& env);

  // Changes with every commit; lets readers cache decoded zone records.
  uint64_t generation();
  // When the last commit was made (Unix time); 0 for a store written before it was recorded.
  int64_t lastCommit();
  std::vector<ZoneRecord> zones();

  // The interval containing addr, if any.
  std::optional<IpInterval4> ip4(uint32_t dataset, uint32_t addr);
  std::optional<IpInterval6> ip6(uint32_t dataset, const Ip6& addr);
  // Whether any listed address lies in [lo, hi] (one seek).
  bool ip4Any(uint32_t dataset, uint32_t lo, uint32_t hi);
  bool ip6Any(uint32_t dataset, const Ip6& lo, const Ip6& hi);
  std::optional<DomainEntry> domain(uint32_t dataset, std::string_view key);
  // domain() and domainBelow() in one seek: the entry of key, and whether a name below it has
  // one (the next key in order starts with key).
  std::optional<DomainEntry> domainAndBelow(uint32_t dataset, std::string_view key, bool& below);
  // Whether some key of the dataset lies strictly below key.
  bool domainBelow(uint32_t dataset, std::string_view key);
  // Whether the dataset's name filter lets key through to the search (it holds every name and
  // the names above them, and ~1% of other keys); true without a filter (a writer's snapshot, a
  // store of schema 2) and for keys that do not end a label.
  bool nameFilterPasses(uint32_t dataset, std::string_view key);
  // Whether a generic record's name lies strictly below key.
  bool genericBelow(uint32_t dataset, std::string_view key);
  // The generic records of a name (see Writer::putGeneric); empty if there are none.
  std::string_view generic(uint32_t dataset, std::string_view key);
  // The encoded value set; empty if the id is unknown.
  std::string_view valueSet(uint32_t id);
  // Every imported entry of a dataset (key, record), in key order.
  void forEachEntry(uint32_t dataset,
                    const std::function<void(std::string_view, std::string_view)>& f);
  // Whether the entries' index is complete (written by an import of this dnsxl; a store
  // imported by an older one has none until its next import).
  bool hasEntryIndex();
  // The entries (key, record) that cover an address, or a name (the name's own entries, and
  // the `*.name` / `.name` entries of the names above it), through the index: in no particular
  // order, each once.
  void entriesCovering4(uint32_t dataset, uint32_t addr,
                        const std::function<void(std::string_view, std::string_view)>& f);
  void entriesCovering6(uint32_t dataset, const Ip6& addr,
                        const std::function<void(std::string_view, std::string_view)>& f);
  void entriesCoveringName(uint32_t dataset, std::string_view name,
                           const std::function<void(std::string_view, std::string_view)>& f);
  // Every interval, name or generic record set of a dataset, in key order (zone rendering).
  void forEachIp4(uint32_t dataset, const std::function<void(const IpInterval4&)>& f);
  void forEachIp6(uint32_t dataset, const std::function<void(const IpInterval6&)>& f);
  void forEachDomain(uint32_t dataset,
                     const std::function<void(std::string_view key, DomainEntry)>& f);
  void forEachGeneric(uint32_t dataset,
                      const std::function<void(std::string_view key, std::string_view)>& f);
  struct JournalEntry {
    uint32_t from = 0, to = 0;
    int64_t when = 0;
    std::string_view payload;
  };
  // A zone's journal, oldest first.
  std::vector<JournalEntry> journal(std::string_view zone);
  // The manual changes in force, and the audit trail, oldest first.
  void forEachManual(const std::function<void(uint64_t, const ChangeRecord&)>& f);
  void forEachAudit(const std::function<void(uint64_t, const ChangeRecord&)>& f);
  // The access keys, in name order (none in a store written before keys existed).
  void forEachKey(const std::function<void(const KeyRecord&)>& f);

  // Where each interval block of a dataset lies in the map, for the committed state this
  // snapshot reads (LMDB's transaction id): built at a dataset's first lookup, dropped when
  // renew() moves to another state. A lookup is then a binary search over the blocks' starts
  // and one within the block, instead of LMDB's seek through its tree (interval_block.hh,
  // name_filter.hh).
  struct Index;

private:
  Env* d_env;
  MDB_txn* d_txn = nullptr;
  bool below(size_t cursor, uint32_t dataset, std::string_view key);
  std::unique_ptr<Index> d_index; // none for a writer's transaction
  size_t d_indexTxn = 0;

  std::array<MDB_cursor*, 4> d_cursors{};
  bool d_live = false;
  bool d_borrowed = false;
};

} // namespace dnsxl::store
