// Removal requests (`dnsxl web`'s form, `dnsxl requests`): an LMDB environment of their own,
// requests.mdb beside the store's data.mdb. Not a table of the zone store, for three reasons:
// they hold personal data (a contact address, the requester's IP) that snapshots, rsync mirrors
// and zone transfers must never carry; filing one must not wait for an import's write
// transaction; and a mirror's data.mdb replaced by rsync must not take them with it.
// Every change of a request is an event in its record (who, when, what): the request's audit.
#pragma once

#include "store/store.hh"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace dnsxl::store {

struct RequestEvent {
  int64_t at = 0;
  std::string what; // "filed", "code mailed to abuse@example.net", "confirmed", "approved: ..."
  std::string by;   // "web 192.0.2.7", an operator's user name
};

struct RequestRecord {
  enum State : uint8_t { Unconfirmed = 0, Open = 1, Approved = 2, Denied = 3 };
  uint64_t id = 0; // 1, 2, ... in the order filed
  int64_t filed = 0;
  State state = Unconfirmed;
  std::string subject;               // the address or domain, as looked up
  std::string contact;               // the requester's e-mail address
  std::string text;                  // what the requester wrote
  std::string client;                // the address the request came from
  std::string proof;                 // "sent from 192.0.2.0/24", "code mailed to abuse@example.net"
  std::string viewKeyHash, codeHash; // SHA-256 (hex) of the status page's key, of the code
  uint32_t codeAttempts = 0;         // wrong codes given
  int64_t decided = 0;
  std::string decidedBy, decision; // the operator and the reason given
  std::vector<RequestEvent> events;
};

const char* stateName(RequestRecord::State s); // "unconfirmed", "open", "approved", "denied"

std::string encodeRequest(const RequestRecord& r);
RequestRecord decodeRequest(std::string_view bytes); // throws StoreError when corrupt

class RequestStore {
public:
  // Opens (creating, unless readOnly) the environment in file (a single file, and file-lock).
  explicit RequestStore(const std::filesystem::path& file, bool readOnly = false);
  ~RequestStore();
  RequestStore(const RequestStore&) = delete;
  RequestStore& operator=(const RequestStore&) = delete;

  // Files r in one write transaction: admit sees every request and returns why r is refused
  // (empty: admitted); r gets the next id. Returns the id, or nullopt with refusal set.
  std::optional<uint64_t>
  add(RequestRecord r, const std::function<std::string(const std::vector<RequestRecord>&)>& admit,
      std::string& refusal);
  // Read-modify-write of one request in one transaction: f returns whether to write. Returns
  // false when there is no request id (or f declined).
  bool update(uint64_t id, const std::function<bool(RequestRecord&)>& f);
  std::optional<RequestRecord> get(uint64_t id) const;
  std::vector<RequestRecord> all() const; // in id order

  static std::filesystem::path defaultPath(const std::filesystem::path& storeDir) {
    return storeDir / "requests.mdb";
  }

private:
  MDB_env* d_env = nullptr;
  unsigned d_dbi = 0;
  bool d_readOnly = false;
};

} // namespace dnsxl::store
