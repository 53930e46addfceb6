#include "server/answer/tsig.hh"

#include "dns/byte_order.hh"
#include "dns/wire.hh"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

namespace dnsxl::answer::tsig {

namespace {

constexpr uint16_t kClassAny = 255;

using bytes::get16;
void put16(std::vector<uint8_t>& m, uint16_t v) {
  m.push_back(static_cast<uint8_t>(v >> 8));
  m.push_back(static_cast<uint8_t>(v));
}
void put48(std::vector<uint8_t>& m, uint64_t v) {
  for (int s = 40; s >= 0; s -= 8)
    m.push_back(static_cast<uint8_t>(v >> s));
}
void putName(std::vector<uint8_t>& m, std::string_view dotted) {
  std::string w;
  dns::encodeName(dotted, w);
  m.insert(m.end(), w.begin(), w.end());
}

const char* digestOf(std::string_view algorithm) {
  if (algorithm == "hmac-sha256") return "SHA256";
  if (algorithm == "hmac-sha1") return "SHA1";
  return nullptr;
}
size_t hashSize(std::string_view algorithm) {
  return algorithm == "hmac-sha256" ? 32 : 20;
}

std::vector<uint8_t> hmac(const Key& key, std::span<const uint8_t> data) {
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  EVP_MAC_CTX* ctx = mac ? EVP_MAC_CTX_new(mac) : nullptr;
  std::vector<uint8_t> out(EVP_MAX_MD_SIZE);
  size_t len = 0;
  char digest[16];
  std::snprintf(digest, sizeof digest, "%s", digestOf(key.algorithm));
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_construct_end()};
  const bool ok = ctx &&
                  EVP_MAC_init(ctx, reinterpret_cast<const unsigned char*>(key.secret.data()),
                               key.secret.size(), params) == 1 &&
                  EVP_MAC_update(ctx, data.data(), data.size()) == 1 &&
                  EVP_MAC_final(ctx, out.data(), &len, out.size()) == 1;
  EVP_MAC_CTX_free(ctx);
  EVP_MAC_free(mac);
  out.resize(ok ? len : 0);
  return out;
}

// Reads an uncompressed name at pos as lower-case dotted text.
bool readName(std::span<const uint8_t> m, size_t& pos, std::string& out) {
  out.clear();
  while (pos < m.size()) {
    const uint8_t len = m[pos++];
    if (len == 0) return true;
    if (len > 63 || pos + len > m.size()) return false;
    if (!out.empty()) out.push_back('.');
    for (size_t i = 0; i < len; ++i) {
      char c = static_cast<char>(m[pos + i]);
      out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
    }
    pos += len;
  }
  return false;
}

// The TSIG variables of §4.3.3 (all of them, or the timers only, §5.3.1).
void variables(std::vector<uint8_t>& d, std::string_view keyName, std::string_view algorithm,
               uint64_t time, uint16_t fudge, uint16_t error, std::span<const uint8_t> other,
               bool timersOnly) {
  if (!timersOnly) {
    putName(d, keyName);
    put16(d, kClassAny);
    put16(d, 0);
    put16(d, 0);
    putName(d, algorithm);
  }
  put48(d, time);
  put16(d, fudge);
  if (timersOnly) return;
  put16(d, error);
  put16(d, static_cast<uint16_t>(other.size()));
  d.insert(d.end(), other.begin(), other.end());
}

} // namespace

std::optional<Key> makeKey(std::string_view name, std::string_view algorithm,
                           std::string_view base64, std::string& error) {
  Key k;
  k.name = std::string(name);
  if (!k.name.empty() && k.name.back() == '.') k.name.pop_back();
  for (auto& c : k.name)
    c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  k.algorithm = std::string(algorithm);
  if (!digestOf(k.algorithm)) {
    error = "algorithm must be hmac-sha256 (or hmac-sha1); HMAC-MD5 is not allowed (RFC 8945 §6)";
    return std::nullopt;
  }
  std::string in;
  for (char c : base64)
    if (c != ' ' && c != '\n') in.push_back(c);
  std::vector<unsigned char> raw(in.size() / 4 * 3 + 3);
  const int n = EVP_DecodeBlock(raw.data(), reinterpret_cast<const unsigned char*>(in.data()),
                                static_cast<int>(in.size()));
  if (n < 0 || in.empty() || in.size() % 4 != 0) {
    error = "secret is not base64";
    return std::nullopt;
  }
  size_t len = static_cast<size_t>(n);
  for (size_t i = in.size(); i > 0 && in[i - 1] == '='; --i)
    --len; // EVP_DecodeBlock counts the padding
  k.secret.assign(reinterpret_cast<const char*>(raw.data()), len);
  if (k.secret.size() < hashSize(k.algorithm) / 2) {
    error = "secret is too short (use at least as many bytes as the hash, RFC 8945 §8)";
    return std::nullopt;
  }
  return k;
}

Parse parse(std::span<const uint8_t> m, Record& out) {
  if (m.size() < dns::kHeaderSize) return Parse::None;
  const uint16_t qd = get16(m.data() + 4);
  const size_t rrs = size_t{get16(m.data() + 6)} + get16(m.data() + 8) + get16(m.data() + 10);
  if (get16(m.data() + 10) == 0) return Parse::None;
  size_t pos = dns::kHeaderSize;
  for (uint16_t i = 0; i < qd; ++i)
    if (!dns::skipName(m, pos) || (pos += 4) > m.size()) return Parse::FormErr;
  size_t last = 0;
  uint16_t lastType = 0;
  for (size_t i = 0; i < rrs; ++i) {
    last = pos;
    if (!dns::skipName(m, pos) || pos + 10 > m.size()) return Parse::FormErr;
    lastType = get16(m.data() + pos);
    if (lastType == dns::kTypeTSIG && i + 1 != rrs) return Parse::FormErr; // §5.2: last only
    pos += 10 + size_t{get16(m.data() + pos + 8)};
    if (pos > m.size()) return Parse::FormErr;
  }
  if (lastType != dns::kTypeTSIG) return Parse::None;
  out = {};
  out.offset = last;
  pos = last;
  if (!readName(m, pos, out.keyName) || pos + 10 > m.size()) return Parse::FormErr;
  if (get16(m.data() + pos + 2) != kClassAny) return Parse::FormErr;
  const size_t end = pos + 10 + size_t{get16(m.data() + pos + 8)};
  pos += 10;
  if (!readName(m, pos, out.algorithm) || pos + 10 > end) return Parse::FormErr;
  for (int i = 0; i < 6; ++i)
    out.timeSigned = out.timeSigned << 8 | m[pos + static_cast<size_t>(i)];
  out.fudge = get16(m.data() + pos + 6);
  const size_t macLen = get16(m.data() + pos + 8);
  pos += 10;
  if (pos + macLen + 6 > end) return Parse::FormErr;
  out.mac.assign(m.begin() + static_cast<long>(pos), m.begin() + static_cast<long>(pos + macLen));
  pos += macLen;
  out.originalId = get16(m.data() + pos);
  out.error = get16(m.data() + pos + 2);
  const size_t otherLen = get16(m.data() + pos + 4);
  pos += 6;
  if (pos + otherLen != end) return Parse::FormErr;
  out.other.assign(m.begin() + static_cast<long>(pos), m.begin() + static_cast<long>(end));
  return Parse::Ok;
}

int verify(std::span<const uint8_t> request, const Record& r, const std::vector<Key>& keys,
           uint64_t now, const Key** matched) {
  const Key* key = nullptr;
  for (const auto& k : keys)
    if (k.name == r.keyName && k.algorithm == r.algorithm) key = &k;
  if (!key) return kBadKey; // §5.2.1
  const size_t full = hashSize(key->algorithm);
  if (r.mac.size() > full || r.mac.size() < std::max<size_t>(10, full / 2)) return -1; // §5.2.2.1
  std::vector<uint8_t> d(request.begin(), request.begin() + static_cast<long>(r.offset));
  d[0] = static_cast<uint8_t>(r.originalId >> 8);
  d[1] = static_cast<uint8_t>(r.originalId);
  const uint16_t ar = static_cast<uint16_t>(get16(d.data() + 10) - 1);
  d[10] = static_cast<uint8_t>(ar >> 8);
  d[11] = static_cast<uint8_t>(ar);
  variables(d, r.keyName, r.algorithm, r.timeSigned, r.fudge, r.error, r.other, false);
  const auto mac = hmac(*key, d);
  if (mac.size() < r.mac.size() || CRYPTO_memcmp(mac.data(), r.mac.data(), r.mac.size()) != 0)
    return kBadSig; // §5.2.2
  *matched = key;
  const uint64_t skew = now > r.timeSigned ? now - r.timeSigned : r.timeSigned - now;
  if (skew > r.fudge) return kBadTime; // §5.2.3
  return 0;
}

namespace {

// Appends the TSIG RR (RFC 8945 §4.2) to message and counts it in ARCOUNT.
void appendRecord(std::vector<uint8_t>& message, const std::string& keyName,
                  const std::string& algorithm, uint64_t timeSigned, uint16_t fudge,
                  std::span<const uint8_t> mac, uint16_t originalId, uint16_t error,
                  std::span<const uint8_t> other) {
  putName(message, keyName);
  put16(message, dns::kTypeTSIG);
  put16(message, kClassAny);
  put16(message, 0); // TTL 0
  put16(message, 0);
  std::vector<uint8_t> rdata;
  putName(rdata, algorithm);
  put48(rdata, timeSigned);
  put16(rdata, fudge);
  put16(rdata, static_cast<uint16_t>(mac.size()));
  rdata.insert(rdata.end(), mac.begin(), mac.end());
  put16(rdata, originalId);
  put16(rdata, error);
  put16(rdata, static_cast<uint16_t>(other.size()));
  rdata.insert(rdata.end(), other.begin(), other.end());
  put16(message, static_cast<uint16_t>(rdata.size()));
  message.insert(message.end(), rdata.begin(), rdata.end());
  const uint16_t ar = static_cast<uint16_t>(get16(message.data() + 10) + 1);
  message[10] = static_cast<uint8_t>(ar >> 8);
  message[11] = static_cast<uint8_t>(ar);
}

} // namespace

std::vector<uint8_t> sign(std::vector<uint8_t>& message, const Key& key, uint16_t originalId,
                          std::span<const uint8_t> previousMac, bool timersOnly, uint64_t now,
                          uint16_t error) {
  std::vector<uint8_t> other;
  if (error == kBadTime) put48(other, now); // §5.2.3: our time
  std::vector<uint8_t> d;
  if (!previousMac.empty()) {
    put16(d, static_cast<uint16_t>(previousMac.size()));
    d.insert(d.end(), previousMac.begin(), previousMac.end());
  }
  d.insert(d.end(), message.begin(), message.end());
  variables(d, key.name, key.algorithm, now, kFudge, error, other, timersOnly);
  const auto mac = hmac(key, d);
  appendRecord(message, key.name, key.algorithm, now, kFudge, mac, originalId, error, other);
  return mac;
}

void appendUnsigned(std::vector<uint8_t>& message, const Record& r, uint16_t error) {
  appendRecord(message, r.keyName, r.algorithm, r.timeSigned, r.fudge, {}, r.originalId, error, {});
}

} // namespace dnsxl::answer::tsig
