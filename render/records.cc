// The records around a zone's rendering: its SOA, the IXFR journal's diffs (RFC 1995) and the
// master-file text of a record (RFC 1035 §5.1).
#include "render/zone.hh"

#include "dns/byte_order.hh"
#include "dns/wire.hh"

#include <algorithm>
#include <arpa/inet.h>
#include <fmt/format.h>
#include <tuple>

namespace dnsxl::render {

namespace {

std::string nameText(std::string_view wire, size_t& pos) {
  std::string out;
  while (pos < wire.size()) {
    const auto len = static_cast<uint8_t>(wire[pos++]);
    if (len == 0) break;
    for (size_t i = 0; i < len && pos < wire.size(); ++i, ++pos) {
      const auto c = static_cast<unsigned char>(wire[pos]);
      if (c == '.' || c == '\\' || c == '"' || c == ';' || c == '(' || c == ')' || c == '$' ||
          c == '@')
        out += '\\', out += static_cast<char>(c);
      else if (c <= ' ' || c >= 0x7f)
        out += fmt::format("\\{:03d}", c);
      else
        out += static_cast<char>(c);
    }
    out += '.';
  }
  return out.empty() ? "." : out;
}

uint32_t u32At(std::string_view s, size_t pos) {
  return bytes::get32(s.data() + pos);
}

} // namespace

Record soaRecord(const store::ZoneRecord& zone, uint32_t serial) {
  Record r;
  r.type = dns::kTypeSOA;
  r.ttl = zone.soa.ttl;
  dns::encodeName(zone.soa.mname, r.rdata);
  dns::encodeName(zone.soa.rname, r.rdata);
  for (uint32_t v : {serial, zone.soa.refresh, zone.soa.retry, zone.soa.expire, zone.soa.minimum})
    for (int s = 24; s >= 0; s -= 8)
      r.rdata.push_back(static_cast<char>(v >> s));
  return r;
}

namespace {
auto recordKey(const Record& r) {
  return std::tie(r.owner, r.type, r.rdata, r.ttl);
}
bool isApexSoa(const Record& r) {
  return r.type == dns::kTypeSOA && r.owner.empty();
}
} // namespace

void diff(std::vector<Record> before, std::vector<Record> after, std::vector<Record>& deleted,
          std::vector<Record>& added) {
  auto less = [](const Record& a, const Record& b) { return recordKey(a) < recordKey(b); };
  std::erase_if(before, isApexSoa);
  std::erase_if(after, isApexSoa);
  std::sort(before.begin(), before.end(), less);
  std::sort(after.begin(), after.end(), less);
  std::set_difference(before.begin(), before.end(), after.begin(), after.end(),
                      std::back_inserter(deleted), less);
  std::set_difference(after.begin(), after.end(), before.begin(), before.end(),
                      std::back_inserter(added), less);
}

std::string encodeDiff(const std::vector<Record>& deleted, const std::vector<Record>& added) {
  std::string out;
  auto u16 = [&](size_t v) {
    out.push_back(static_cast<char>(v >> 8));
    out.push_back(static_cast<char>(v));
  };
  auto u32 = [&](uint32_t v) {
    for (int s = 24; s >= 0; s -= 8)
      out.push_back(static_cast<char>(v >> s));
  };
  for (const auto* list : {&deleted, &added}) {
    u32(static_cast<uint32_t>(list->size()));
    for (const auto& r : *list) {
      u16(r.owner.size());
      out += r.owner;
      u16(r.type);
      u32(r.ttl);
      u16(r.rdata.size());
      out += r.rdata;
    }
  }
  return out;
}

bool decodeDiff(std::string_view p, std::vector<Record>& deleted, std::vector<Record>& added) {
  size_t pos = 0;
  auto need = [&](size_t n) { return p.size() - pos >= n; };
  auto u16 = [&]() {
    const auto v =
        static_cast<uint16_t>(static_cast<uint8_t>(p[pos]) << 8 | static_cast<uint8_t>(p[pos + 1]));
    pos += 2;
    return v;
  };
  auto u32 = [&]() {
    const uint32_t v = u32At(p, pos);
    pos += 4;
    return v;
  };
  for (auto* list : {&deleted, &added}) {
    if (!need(4)) return false;
    const uint32_t n = u32();
    for (uint32_t i = 0; i < n; ++i) {
      Record r;
      if (!need(2)) return false;
      const size_t ol = u16();
      if (!need(ol + 8)) return false;
      r.owner = std::string(p.substr(pos, ol));
      pos += ol;
      r.type = u16();
      r.ttl = u32();
      const size_t rl = u16();
      if (!need(rl)) return false;
      r.rdata = std::string(p.substr(pos, rl));
      pos += rl;
      list->push_back(std::move(r));
    }
  }
  return pos == p.size();
}

std::string toText(const Record& r, std::string_view zone) {
  std::string owner = r.owner.empty() ? std::string(zone) : r.owner + "." + std::string(zone);
  std::string out = owner + ". " + std::to_string(r.ttl) + " IN ";
  const std::string_view rd = r.rdata;
  size_t pos = 0;
  switch (r.type) {
  case dns::kTypeA:
    if (rd.size() == 4)
      return out + fmt::format("A {}.{}.{}.{}", static_cast<uint8_t>(rd[0]),
                               static_cast<uint8_t>(rd[1]), static_cast<uint8_t>(rd[2]),
                               static_cast<uint8_t>(rd[3]));
    break;
  case dns::kTypeNS:
    return out + "NS " + nameText(rd, pos);
  case 5:
    return out + "CNAME " + nameText(rd, pos);
  case dns::kTypeSOA: {
    auto m = nameText(rd, pos);
    auto n = nameText(rd, pos);
    if (pos + 20 > rd.size()) break;
    return out + fmt::format("SOA {} {} {} {} {} {} {}", m, n, u32At(rd, pos), u32At(rd, pos + 4),
                             u32At(rd, pos + 8), u32At(rd, pos + 12), u32At(rd, pos + 16));
  }
  case 15:
    if (rd.size() > 2) {
      pos = 2;
      return out + fmt::format("MX {} {}",
                               static_cast<uint8_t>(rd[0]) << 8 | static_cast<uint8_t>(rd[1]),
                               nameText(rd, pos));
    }
    break;
  case dns::kTypeTXT: {
    out += "TXT";
    while (pos < rd.size()) {
      const auto len = static_cast<uint8_t>(rd[pos++]);
      out += " \"";
      for (size_t i = 0; i < len && pos < rd.size(); ++i, ++pos) {
        const auto c = static_cast<unsigned char>(rd[pos]);
        if (c == '"' || c == '\\')
          out += '\\', out += static_cast<char>(c);
        else if (c < ' ' || c >= 0x7f)
          out += fmt::format("\\{:03d}", c);
        else
          out += static_cast<char>(c);
      }
      out += '"';
    }
    return out;
  }
  default:
    break;
  }
  // RFC 3597 §5: the unknown-type form
  out += fmt::format("TYPE{} \\# {}", r.type, rd.size());
  if (!rd.empty()) out += ' ';
  for (char c : rd)
    out += fmt::format("{:02x}", static_cast<uint8_t>(c));
  return out;
}

} // namespace dnsxl::render
