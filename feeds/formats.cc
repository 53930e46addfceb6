// The table of feed formats (feed.hh FormatTraits): one row per format.
#include "feeds/feed.hh"

namespace dnsxl::feeds {

namespace {

using T = FormatTraits;
constexpr FormatTraits kFormats[] = {
    // format, name, records, ip4, ip6, names, listings, overlap
    {Format::Ip4set, "ip4set", false, true, false, false, true, T::Ip4set},
    {Format::Ip4tset, "ip4tset", false, true, false, false, true, T::LongestPrefix},
    {Format::Ip4trie, "ip4trie", false, true, false, false, true, T::LongestPrefix},
    {Format::Ip6trie, "ip6trie", false, false, true, false, true, T::LongestPrefix},
    {Format::Ip6tset, "ip6tset", false, false, true, false, true, T::LongestPrefix},
    {Format::Dnset, "dnset", false, false, false, true, true, T::None},
    {Format::Generic, "generic", false, false, false, true, false, T::None},
    {Format::Combined, "combined", false, false, false, false, false, T::None},
    {Format::Acl, "acl", false, true, true, false, false, T::LongestPrefix},
    {Format::List, "list", false, true, true, true, true, T::SmallestMerged},
    {Format::Drop, "drop", true, true, true, true, true, T::SmallestMerged},
    {Format::Csv, "csv", true, true, true, true, true, T::SmallestMerged},
    {Format::Jsonl, "jsonl", true, true, true, true, true, T::SmallestMerged},
    {Format::Hosts, "hosts", true, true, true, true, true, T::SmallestMerged},
    {Format::Urls, "urls", true, true, true, true, true, T::SmallestMerged},
    {Format::Dynamic, "dynamic", true, true, true, true, true, T::SmallestMerged},
    {Format::Rdns, "rdns", true, true, true, true, true, T::SmallestMerged},
};

// The table is in the enum's order: traitsOf indexes it.
constexpr bool inEnumOrder() {
  for (size_t i = 0; i < std::size(kFormats); ++i)
    if (static_cast<size_t>(kFormats[i].format) != i) return false;
  return true;
}
static_assert(inEnumOrder());

} // namespace

const FormatTraits& traitsOf(Format format) {
  return kFormats[static_cast<size_t>(format)];
}

std::span<const FormatTraits> allFormats() {
  return kFormats;
}

std::optional<Format> parseFormat(std::string_view name) {
  for (const auto& t : kFormats)
    if (t.name == name) return t.format;
  return std::nullopt;
}

std::string_view formatName(Format format) {
  return traitsOf(format).name;
}

} // namespace dnsxl::feeds
