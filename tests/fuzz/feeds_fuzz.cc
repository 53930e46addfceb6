// libFuzzer target: any bytes as a feed file in every format (the first byte picks it). The
// parsers must never crash, and every entry they accept must be well-formed.
#include "feeds/feed.hh"

#include <cstdint>
#include <cstdlib>
#include <string_view>

using namespace dnsxl::feeds;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static const Format kFormats[] = {
      Format::Ip4set,  Format::Ip4tset, Format::Ip4trie,  Format::Ip6trie, Format::Ip6tset,
      Format::Dnset,   Format::Generic, Format::Combined, Format::Acl,     Format::List,
      Format::Drop,    Format::Csv,     Format::Jsonl,    Format::Hosts,   Format::Urls,
      Format::Dynamic, Format::Rdns};
  ParseOptions o;
  o.format = kFormats[data[0] % (sizeof kFormats / sizeof kFormats[0])];
  o.initialDefault = {0x7f000002, "{reason} {ref} $"};
  o.header = (data[0] & 0x80) != 0;
  o.columns = {{"subject", "1"}, {"reason", "2"}, {"code", "3"}, {"expires", "4"}};
  if (o.format == Format::Jsonl) o.columns = {{"subject", "s"}, {"reason", "r"}, {"url", "u"}};
  o.dynamicTokens = {"dyn", "pool"};
  o.staticTokens = {"mail"};
  Feed f;
  parseText(std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1), "fuzz.txt", o, f);
  f.finish(o.initialDefault);
  for (const auto& e : f.ip4)
    if (e.lo > e.hi ||
        (e.value != kExclusion && e.value != kSharedValue && e.value >= f.values.size()))
      std::abort();
  for (const auto& e : f.ip6)
    if (e.lo > e.hi) std::abort();
  for (const auto& d : f.domains)
    if (d.name.empty() || d.name.size() > 253) std::abort();
  return 0;
}
