// The host a URL feed lists: what a browser reaches (WHATWG URL Standard), never a name placed
// in the URL to look like it.
#include "feeds/feed.hh"

#include <catch2/catch.hpp>

using namespace dnsxl::feeds;

namespace {

std::string host(std::string_view url) {
  std::string error;
  auto h = hostOfUrl(url, error);
  return h ? *h : "error: " + error;
}

} // namespace

TEST_CASE("URL hosts: the host a browser reaches", "[feeds][url]") {
  const std::vector<std::pair<std::string_view, std::string_view>> cases = {
      // \ ends the authority of a special scheme: the rest is path
      {"http://evil.example\\@good.example/login", "evil.example"},
      {"https://evil.example\\.good.example/", "evil.example"},
      {"http:\\\\evil.example\\path", "evil.example"},
      // the last @ ends the userinfo
      {"https://good.example@evil.example/", "evil.example"},
      {"https://user:pass@good.example@evil.example:8443/x", "evil.example"},
      {"http://evil.example?x=@good.example", "evil.example"},
      {"http://evil.example#@good.example", "evil.example"},
      {"http://evil.example/@good.example", "evil.example"},
      // ports, case, trailing dot, blanks, tabs and newlines
      {"http://evil.example:8080/path", "evil.example"},
      {"http://evil.example:/path", "evil.example"},
      {"HTTP://Evil.EXAMPLE./", "evil.example"},
      {"  http://evil.example/ \n", "evil.example"},
      {"http://ev\til.exam\nple/", "evil.example"},
      {"http:evil.example/", "evil.example"},
      {"https:///evil.example/", "evil.example"},
      // addresses, as browsers read them
      {"http://203.0.113.7/", "203.0.113.7"},
      {"http://0xcb.0.113.7/", "203.0.113.7"},
      {"http://0313.0.0161.07/", "203.0.113.7"},
      {"http://3405803783/", "203.0.113.7"},
      {"http://203.0.28935/", "203.0.113.7"},
      {"http://203.0.113.7./", "203.0.113.7"},
      {"https://[2001:DB8::BAD]:443/x", "2001:db8::bad"},
      {"https://[2001:db8:0:0:0:0:0:1]/", "2001:db8::1"},
      // percent-encoding and internationalised names
      {"http://ex%61mple.com/", "example.com"},
      {"http://b%C3%BCcher.example/", "xn--bcher-kva.example"},
      {"http://bücher.example/", "xn--bcher-kva.example"},
      {"http://BÜCHER.example/", "xn--bcher-kva.example"},
      {"http://xn--bcher-kva.example/", "xn--bcher-kva.example"},
      // feeds' own forms: no scheme, defanged
      {"evil.example/path", "evil.example"},
      {"evil.example:8080/path", "evil.example"},
      {"//evil.example/x", "evil.example"},
      {"hxxps://evil[.]example/x", "evil.example"},
      {"ftp://files.example/a", "files.example"},
      {"wss://socket.example/", "socket.example"},
      {"foo://host.example/x\\y", "host.example"},
  };
  for (const auto& [url, expected] : cases) {
    INFO(url);
    CHECK(host(url) == expected);
  }
}

TEST_CASE("URL hosts: no host, or one a browser refuses, is an error", "[feeds][url]") {
  const std::vector<std::pair<std::string_view, std::string_view>> cases = {
      {"mailto:abuse@evil.example", "a 'mailto:' URL names no host"},
      {"http://", "empty host"},
      {"http://user@/", "empty host"},
      {"http://ex%2Fample.com/", "forbidden character 0x2f in the host"},
      {"http://ex%00ample.com/", "forbidden character 0x00 in the host"},
      {"http://exa mple.com/", "invalid host or port"},
      {"http://evil.example:99999/", "port 99999 out of range"},
      {"http://evil.example:80a/", "invalid host or port"},
      {"http://1.2.3.4.5/", "a host ending in a number that is no IPv4 address"},
      {"http://256.1.1.1/", "a host ending in a number that is no IPv4 address"},
      {"http://4294967296/", "a host ending in a number that is no IPv4 address"},
      {"http://evil.0x/", "a host ending in a number that is no IPv4 address"},
      {"http://[::1/", "invalid host or port"},
      {"http://[v1.x]/", "not a domain name or address"},
      {"http://a..b/", "an empty label in the host"},
  };
  for (const auto& [url, expected] : cases) {
    INFO(url);
    CHECK(host(url) ==
          "error: no host in URL '" + std::string(url) + "': " + std::string(expected));
  }
}

TEST_CASE("URL feeds list the reached host: urls and a csv url column", "[feeds][url]") {
  Feed f;
  ParseOptions o;
  o.format = Format::Urls;
  parseText("http://evil.example\\@good.example/login\nhttp://0xcb.0.113.7/x\nhttp://bad url/\n",
            "urls.txt", o, f);
  REQUIRE(f.domains.size() == 1);
  CHECK(f.domains[0].name == "evil.example");
  REQUIRE(f.ip4.size() == 1);
  CHECK(formatIp4(f.ip4[0].lo) == "203.0.113.7");
  REQUIRE(f.diagnostics.size() == 1);
  CHECK(f.diagnostics[0] == "urls.txt:3: no host in URL 'http://bad url/': invalid host or port");

  Feed c;
  ParseOptions co;
  co.format = Format::Csv;
  co.columns = {{"url", "url"}};
  co.header = true;
  parseText("url\n\"https://good.example@evil.example/\"\n", "u.csv", co, c);
  REQUIRE(c.diagnostics.empty());
  REQUIRE(c.domains.size() == 1);
  CHECK(c.domains[0].name == "evil.example");
}

TEST_CASE("shared hosts: the built-in list, *.name, and errors with their line", "[feeds][url]") {
  SharedHosts h;
  REQUIRE(h.addBuiltin().empty());
  for (const char* shared : {"docs.google.com", "bit.ly", "drive.google.com", "forms.gle",
                             "raw.githubusercontent.com", "doc-0s-1c-docs.googleusercontent.com"})
    CHECK(h.matches(shared));
  for (const char* own : {"google.com.evil.example", "evil-docs.google.com.example", "evil.example",
                          "googleusercontent.com", "evil.wixsite.com"})
    CHECK_FALSE(h.matches(own));

  SharedHosts mine;
  CHECK(mine.add("# ours\nfiles.example.net\n*.pages.example\n", "mine.txt").empty());
  CHECK(mine.matches("files.example.net"));
  CHECK(mine.matches("a.b.pages.example"));
  CHECK_FALSE(mine.matches("pages.example"));
  CHECK(mine.add("ok.example\nhttp://bad.example/\n", "bad.txt") ==
        "bad.txt:2: 'http://bad.example/' is not a host name (one per line, or *.name for every "
        "host below name)");
}

TEST_CASE("shared hosts: a URL there is counted, not listed, unless the entry says force",
          "[feeds][url]") {
  auto hosts = std::make_shared<SharedHosts>();
  REQUIRE(hosts->addBuiltin().empty());
  Feed f;
  ParseOptions o;
  o.format = Format::Urls;
  o.sharedHosts = hosts;
  parseText("https://docs.google.com/forms/d/e/1FAIpQL/viewform\n"
            "https://bit.ly/3xYz\n"
            "https://docs.google.com/forms/d/e/other/viewform\n"
            "https://evil.example/login\n"
            "https://drive.google.com/file/d/1/view force\n",
            "urls.txt", o, f);
  REQUIRE(f.diagnostics.empty());
  REQUIRE(f.domains.size() == 2);
  CHECK(f.domains[0].name == "evil.example");
  CHECK(f.domains[1].name == "drive.google.com"); // forced
  CHECK(f.sharedHostUrls == std::map<std::string, uint64_t>{{"bit.ly", 1}, {"docs.google.com", 2}});

  Feed c;
  ParseOptions co;
  co.format = Format::Csv;
  co.columns = {{"url", "1"}, {"force", "2"}};
  co.sharedHosts = hosts;
  parseText("https://docs.google.com/a,\nhttps://docs.google.com/b,yes\nhttps://bit.ly/c,0\n",
            "u.csv", co, c);
  REQUIRE(c.diagnostics.empty());
  REQUIRE(c.domains.size() == 1);
  CHECK(c.domains[0].name == "docs.google.com");
  CHECK(c.sharedHostUrls.size() == 2);
}
