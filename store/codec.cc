// The store's record encodings: value sets, zone, entry and change records, domain keys, TXT
// templates. Pure functions of bytes: no LMDB transaction.
#include "store/lmdb.hh"

#include <cstring>

namespace dnsxl::store {

using namespace detail;

std::string
encodeValueSet(std::span<const std::pair<uint32_t, std::optional<std::string>>> values) {
  std::string out;
  for (const auto& [a, txt] : values)
    appendValue(out, a, txt, 0);
  return out;
}

size_t expandTemplate(std::string_view tmpl, std::string_view subject,
                      const std::array<std::string, 10>& vars, char* out, size_t cap) {
  size_t n = 0;
  auto put = [&](std::string_view s) {
    size_t k = std::min(s.size(), cap - n);
    std::memcpy(out + n, s.data(), k);
    n += k;
  };
  for (size_t i = 0; i < tmpl.size() && n < cap; ++i) {
    char c = tmpl[i];
    if (c != '$') {
      out[n++] = c;
      continue;
    }
    char next = i + 1 < tmpl.size() ? tmpl[i + 1] : '\0';
    if (next == '$') {
      out[n++] = '$';
      ++i;
    } else if (next >= '0' && next <= '9') {
      const auto& var = vars[static_cast<size_t>(next - '0')];
      put(var.empty() ? tmpl.substr(i, 2) : std::string_view(var));
      ++i;
    } else {
      put(subject);
    }
  }
  return n;
}

// Per value: u32 A, a flags byte (1: a TXT follows as u16 length + bytes, 2: an expiry follows
// as u64 Unix time, after the TXT).
void appendValue(std::string& out, uint32_t a, const std::optional<std::string>& txt,
                 int64_t expires) {
  bytes::put32(out, a);
  out.push_back(static_cast<char>((txt ? 1 : 0) | (expires != 0 ? 2 : 0)));
  if (txt) {
    if (txt->size() > 0xffff) throw StoreError("TXT template longer than 65535 bytes");
    bytes::put16(out, static_cast<uint16_t>(txt->size()));
    out.append(*txt);
  }
  if (expires != 0) bytes::put64(out, static_cast<uint64_t>(expires));
}

bool ValueSetReader::next(ValueView& out) {
  if (d_bytes.size() - d_pos < 5) return false;
  out.a = bytes::get32(d_bytes.data() + d_pos);
  const auto flags = static_cast<uint8_t>(d_bytes[d_pos + 4]);
  out.hasTxt = (flags & 1) != 0;
  d_pos += 5;
  out.txt = {};
  out.expires = 0;
  if (out.hasTxt) {
    if (d_bytes.size() - d_pos < 2) return false;
    size_t n = bytes::get16(d_bytes.data() + d_pos);
    d_pos += 2;
    if (d_bytes.size() - d_pos < n) return false;
    out.txt = d_bytes.substr(d_pos, n);
    d_pos += n;
  }
  if (flags & 2) {
    if (d_bytes.size() - d_pos < 8) return false;
    uint64_t t = 0;
    for (int i = 0; i < 8; ++i)
      t = t << 8 | static_cast<uint8_t>(d_bytes[d_pos + static_cast<size_t>(i)]);
    out.expires = static_cast<int64_t>(t);
    d_pos += 8;
  }
  return true;
}

constexpr uint8_t kZoneTrailerVersion = 1;

std::string encodeZone(const ZoneRecord& z) {
  std::string out;
  putStr(out, z.name);
  putStr(out, z.soa.mname);
  putStr(out, z.soa.rname);
  for (uint32_t v :
       {z.soa.serial, z.soa.refresh, z.soa.retry, z.soa.expire, z.soa.minimum, z.soa.ttl, z.nsTtl})
    bytes::put32(out, v);
  bytes::put16(out, static_cast<uint16_t>(z.ns.size()));
  for (const auto& n : z.ns)
    putStr(out, n);
  bytes::put16(out, static_cast<uint16_t>(z.datasets.size()));
  for (const auto& d : z.datasets) {
    bytes::put32(out, d.id);
    putStr(out, d.name);
    out.push_back(static_cast<char>(d.kinds));
    bytes::put32(out, d.ttl);
    for (const auto& v : d.vars)
      putStr(out, v);
    bytes::put64(out, static_cast<uint64_t>(d.expires));
    bytes::put16(out, static_cast<uint16_t>(d.subzones.size()));
    for (const auto& s : d.subzones)
      putStr(out, s);
  }
  // Added after schema 1's records, which end above: read only when present, and only when its
  // version byte is one this build knows.
  out.push_back(static_cast<char>(kZoneTrailerVersion));
  for (const auto& d : z.datasets) {
    bytes::put64(out, d.entries);
    bytes::put16(out, static_cast<uint16_t>(d.files.size()));
    for (const auto& f : d.files)
      putStr(out, f);
  }
  return out;
}

std::string entryKey(uint32_t dataset, uint32_t seq) {
  std::string k;
  bytes::put32(k, dataset);
  bytes::put32(k, seq);
  return k;
}

std::string encodeEntry(const EntryRecord& e) {
  std::string out;
  encodeEntry(out, e, {});
  return out;
}

void encodeEntry(std::string& out, const EntryRecord& e, std::string_view packedFields) {
  out.clear();
  out.push_back(static_cast<char>(e.kind));
  if (e.kind == EntryRecord::V4) {
    bytes::put32(out, e.lo4);
    bytes::put32(out, e.hi4);
  } else if (e.kind == EntryRecord::V6) {
    out.append(reinterpret_cast<const char*>(e.lo6.data()), 16);
    out.append(reinterpret_cast<const char*>(e.hi6.data()), 16);
  } else {
    putStr(out, e.name);
    out.push_back(static_cast<char>(e.scope));
  }
  out.push_back(static_cast<char>(e.excluded ? 1 : 0));
  bytes::put32(out, e.value);
  bytes::put16(out, e.file);
  bytes::put32(out, e.line);
  if (!packedFields.empty()) {
    out.append(packedFields);
    return;
  }
  for (const auto& f : e.fields)
    putStr(out, f);
}

EntryRecord decodeEntry(std::string_view bytes) {
  Decoder d(bytes);
  EntryRecord e;
  e.kind = static_cast<EntryRecord::Kind>(d.u8());
  if (e.kind == EntryRecord::V4) {
    e.lo4 = d.u32();
    e.hi4 = d.u32();
  } else if (e.kind == EntryRecord::V6) {
    for (auto* a : {&e.lo6, &e.hi6})
      for (auto& b : *a)
        b = d.u8();
  } else if (e.kind == EntryRecord::Name) {
    e.name = d.str();
    e.scope = d.u8();
  } else {
    throw StoreError("corrupt entry record (unknown kind)");
  }
  e.excluded = d.u8() != 0;
  e.value = d.u32();
  e.file = d.u16();
  e.line = d.u32();
  for (auto& f : e.fields)
    f = d.str();
  return e;
}

constexpr uint8_t kChangeVersion = 1;

std::string encodeChange(const ChangeRecord& c) {
  std::string out, entry;
  encodeEntry(entry, c.entry, {});
  encodeChange(out, c, entry);
  return out;
}

void encodeChange(std::string& out, const ChangeRecord& c, std::string_view encodedEntry) {
  out.clear();
  out.push_back(static_cast<char>(kChangeVersion));
  out.push_back(static_cast<char>(c.action));
  bytes::put64(out, static_cast<uint64_t>(c.when));
  putStr(out, c.zone);
  putStr(out, c.dataset);
  putStr(out, c.by);
  putStr(out, c.source);
  putStr(out, c.value);
  out.append(encodedEntry);
}

std::string_view entryIdentity(std::string_view bytes, std::string& buf, uint32_t* valueId) {
  size_t at = 0; // where the excluded flag is
  if (bytes.empty()) return {};
  switch (static_cast<uint8_t>(bytes[0])) {
  case EntryRecord::V4:
    at = 9;
    break;
  case EntryRecord::V6:
    at = 33;
    break;
  case EntryRecord::Name:
    if (bytes.size() < 3) return {};
    at = 3 + bytes::get16(bytes.data() + 1) + 1;
    break;
  default:
    return {};
  }
  if (bytes.size() < at + 11) return {};
  buf.assign(bytes);
  if (valueId) *valueId = bytes::get32(buf.data() + at + 1);
  std::memset(buf.data() + at + 1, 0, 10); // value id (4), file (2), line (4)
  return buf;
}

ChangeRecord decodeChange(std::string_view bytes) {
  Decoder d(bytes);
  if (d.u8() != kChangeVersion)
    throw StoreError("change record of an unknown version (written by a newer dnsxl?)");
  ChangeRecord c;
  const auto action = d.u8();
  if (action < ChangeRecord::Listed || action > ChangeRecord::Expired)
    throw StoreError("corrupt change record (unknown action)");
  c.action = static_cast<ChangeRecord::Action>(action);
  c.when = static_cast<int64_t>(d.u64());
  c.zone = d.str();
  c.dataset = d.str();
  c.by = d.str();
  c.source = d.str();
  c.value = d.str();
  c.entry = decodeEntry(bytes.substr(bytes.size() - d.remaining()));
  return c;
}

std::string_view actionName(ChangeRecord::Action a) {
  switch (a) {
  case ChangeRecord::Listed:
    return "listed";
  case ChangeRecord::Unlisted:
    return "unlisted";
  case ChangeRecord::Added:
    return "added";
  case ChangeRecord::Delisted:
    return "delisted";
  case ChangeRecord::Expired:
    return "expired";
  }
  return "?";
}

ZoneRecord decodeZone(std::string_view bytes) {
  Decoder d(bytes);
  ZoneRecord z;
  z.name = d.str();
  z.soa.mname = d.str();
  z.soa.rname = d.str();
  z.soa.serial = d.u32();
  z.soa.refresh = d.u32();
  z.soa.retry = d.u32();
  z.soa.expire = d.u32();
  z.soa.minimum = d.u32();
  z.soa.ttl = d.u32();
  z.nsTtl = d.u32();
  for (auto n = d.u16(); n > 0; --n)
    z.ns.push_back(d.str());
  for (auto n = d.u16(); n > 0; --n) {
    DatasetRecord ds;
    ds.id = d.u32();
    ds.name = d.str();
    ds.kinds = d.u8();
    ds.ttl = d.u32();
    for (auto& v : ds.vars)
      v = d.str();
    ds.expires = static_cast<int64_t>(d.u64());
    for (auto k = d.u16(); k > 0; --k)
      ds.subzones.push_back(d.str());
    z.datasets.push_back(std::move(ds));
  }
  if (d.remaining() > 0 && d.u8() == kZoneTrailerVersion)
    for (auto& ds : z.datasets) {
      ds.entries = d.u64();
      for (auto n = d.u16(); n > 0; --n)
        ds.files.push_back(d.str());
    }
  return z;
}

bool domainKey(std::string_view name, std::string& out) {
  out.clear();
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (name.empty()) return true;
  size_t end = name.size();
  for (;;) {
    size_t dot = name.rfind('.', end - 1);
    size_t start = dot == std::string_view::npos ? 0 : dot + 1;
    if (start == end) return false;
    for (size_t i = start; i < end; ++i) {
      char c = name[i];
      if (c == '\0') return false;
      out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
    }
    out.push_back('\0');
    if (dot == std::string_view::npos) return true;
    end = dot;
    if (end == 0) return false;
  }
}

std::string encodeKey(const KeyRecord& k) {
  std::string out;
  out.push_back(1); // version
  out.push_back(k.revoked ? 1 : 0);
  bytes::put32(out, k.perSecond);
  bytes::put64(out, k.perDay);
  bytes::put64(out, static_cast<uint64_t>(k.created));
  bytes::put64(out, static_cast<uint64_t>(k.revokedAt));
  putStr(out, k.note);
  putStr(out, k.by);
  return out;
}

KeyRecord decodeKey(std::string_view name, std::string_view bytes) {
  Decoder d(bytes);
  if (d.u8() != 1) throw StoreError("an access key of an unknown version in the store");
  KeyRecord k;
  k.name = name;
  k.revoked = d.u8() != 0;
  k.perSecond = d.u32();
  k.perDay = d.u64();
  k.created = static_cast<int64_t>(d.u64());
  k.revokedAt = static_cast<int64_t>(d.u64());
  k.note = d.str();
  k.by = d.str();
  return k;
}

} // namespace dnsxl::store
