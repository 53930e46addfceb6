// Big-endian (network order) integers: the one set of helpers that the wire format, the store's
// encodings, the zone renderer and the transfer code share. Header-only, no dependencies.
// Reads go through memcpy: nothing here assumes alignment (LMDB guarantees 2 bytes at most).
#pragma once

#include <cstdint>
#include <cstring>
#include <string>

namespace dnsxl::bytes {

inline uint16_t get16(const void* p) {
  uint8_t b[2];
  std::memcpy(b, p, 2);
  return static_cast<uint16_t>((b[0] << 8) | b[1]);
}
inline uint32_t get32(const void* p) {
  uint8_t b[4];
  std::memcpy(b, p, 4);
  return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
}
inline uint64_t get64(const void* p) {
  const auto* c = static_cast<const uint8_t*>(p);
  return (uint64_t{get32(c)} << 32) | get32(c + 4);
}
inline void set16(void* p, uint16_t v) {
  const uint8_t b[2] = {static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
  std::memcpy(p, b, 2);
}
inline void set32(void* p, uint32_t v) {
  const uint8_t b[4] = {static_cast<uint8_t>(v >> 24), static_cast<uint8_t>(v >> 16),
                        static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
  std::memcpy(p, b, 4);
}
inline void put16(std::string& out, uint16_t v) {
  const char b[2] = {static_cast<char>(v >> 8), static_cast<char>(v)};
  out.append(b, 2);
}
inline void put32(std::string& out, uint32_t v) {
  const char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                     static_cast<char>(v >> 8), static_cast<char>(v)};
  out.append(b, 4);
}
inline void put64(std::string& out, uint64_t v) {
  put32(out, static_cast<uint32_t>(v >> 32));
  put32(out, static_cast<uint32_t>(v));
}

} // namespace dnsxl::bytes
