// TSIG (RFC 8945): verifying a signed request and signing the replies — one message, or each
// message of a zone transfer (§5.3.1) — with hmac-sha256 or hmac-sha1 (§6; HMAC-MD5 refused).
// Pure: bytes in, bytes out; HMAC by OpenSSL. Refuses: unknown keys and algorithms (BADKEY),
// wrong MACs (BADSIG), times outside the fudge (BADTIME), MACs shorter than allowed (FORMERR).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace dnsxl::answer::tsig {

inline constexpr uint16_t kBadSig = 16, kBadKey = 17, kBadTime = 18;
inline constexpr uint16_t kFudge = 300; // seconds (§10)

struct Key {
  std::string name;      // lower case, no trailing dot
  std::string algorithm; // "hmac-sha256" or "hmac-sha1"
  std::string secret;    // raw bytes
};
// A key from its name, algorithm and base64 secret; nullopt + error when unusable.
std::optional<Key> makeKey(std::string_view name, std::string_view algorithm,
                           std::string_view base64, std::string& error);

// The TSIG record of a message, if its last additional record is one.
struct Record {
  size_t offset = 0;              // where the TSIG RR starts in the message
  std::string keyName, algorithm; // lower case, no trailing dot
  uint64_t timeSigned = 0;
  uint16_t fudge = 0;
  std::vector<uint8_t> mac;
  uint16_t originalId = 0, error = 0;
  std::vector<uint8_t> other;
};
enum class Parse { None, Ok, FormErr };
Parse parse(std::span<const uint8_t> message, Record& out);

// Checks a signed request (§5.2): 0 when good, else the TSIG error (kBadKey, kBadSig,
// kBadTime) or -1 for FORMERR. keys: the keys we know.
int verify(std::span<const uint8_t> request, const Record& r, const std::vector<Key>& keys,
           uint64_t now, const Key** matched);

// Signs a reply in place (appends the TSIG RR, bumps ARCOUNT). previousMac: the request's MAC for
// the first reply, the previous reply's MAC for the next ones of a transfer (then only the
// timers are digested, §5.3.1); empty for a request (NOTIFY). error: a TSIG error to report
// (BADTIME: signed, with our time in Other Data). Returns this message's MAC.
std::vector<uint8_t> sign(std::vector<uint8_t>& message, const Key& key, uint16_t originalId,
                          std::span<const uint8_t> previousMac, bool timersOnly, uint64_t now,
                          uint16_t error = 0);

// An unsigned error reply's TSIG RR (BADKEY, BADSIG: §5.2.1, §5.2.2): appended in place.
void appendUnsigned(std::vector<uint8_t>& message, const Record& request, uint16_t error);

} // namespace dnsxl::answer::tsig
