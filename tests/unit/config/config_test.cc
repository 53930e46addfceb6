#include "config/config.hh"
#include "tests/support/support.hh"

#include <catch2/catch.hpp>

using namespace dnsxl::config;

namespace {

Config parseText(const std::string& text) {
  return parse(text, "/etc/dnsxl/dnsxl.toml");
}

const char* kGood = R"(
[server]
listen = ["127.0.0.1:5353", "[::1]:5353", "192.0.2.1"]
store = "var/store"
workers = 2

[[zone]]
name = "BL.Example.org."
ns = ["ns1.example.org", "ns2.example.org"]
soa = { mname = "ns1.example.org", rname = "hostmaster.example.org", refresh = 3600, retry = 600, expire = 604800, minimum = 300, ttl = 3600 }
ttl = 2100

  [[zone.dataset]]
  name = "dynamic"
  format = "ip4set"
  files = ["feeds/dynamic.txt", "/abs/other.txt"]
  a = "127.0.0.10"
  txt = "Dynamic IP space $"
  on_bad_line = "skip"
)";

} // namespace

TEST_CASE("the documented config shape parses", "[config]") {
  auto c = parseText(kGood);
  REQUIRE(c.server.listen.size() == 3);
  CHECK(c.server.listen[0].address == "127.0.0.1");
  CHECK(c.server.listen[0].port == 5353);
  CHECK(c.server.listen[1].address == "::1");
  CHECK(c.server.listen[2].port == 53);
  CHECK(c.server.store == "/etc/dnsxl/var/store");
  CHECK(c.server.workers == 2);
  REQUIRE(c.zones.size() == 1);
  const auto& z = c.zones[0];
  CHECK(z.name == "bl.example.org");
  CHECK(z.soa->minimum == 300);
  CHECK(z.ttl == 2100);
  REQUIRE(z.datasets.size() == 1);
  CHECK(z.datasets[0].files[0] == "/etc/dnsxl/feeds/dynamic.txt");
  CHECK(z.datasets[0].files[1] == "/abs/other.txt");
  CHECK(z.datasets[0].a == 0x7f00000a);
  CHECK(z.datasets[0].skipBadLines);
}

TEST_CASE("config errors name the file and line", "[config]") {
  auto fails = [](const std::string& text, const std::string& message) {
    INFO(text);
    CHECK_THROWS_WITH(parseText(text), message);
  };
  fails(
      "[server]\nstore = \"s\"\nlisten = [\"localhost:53\"]\n",
      "/etc/dnsxl/dnsxl.toml:3: listen address 'localhost:53' is not ADDRESS:PORT or [IPv6]:PORT");
  fails("[server]\nstore = \"s\"\nstroe = 1\n",
        "/etc/dnsxl/dnsxl.toml:3: unknown key 'stroe' in [server] (known: listen, store, workers, "
        "tcp_idle_timeout_ms, tcp_max_connections, tcp_max_per_client, rrl_responses_per_second, "
        "rrl_slip, edns_udp_max, map_size_mb, version, acl, "
        "acl_on_bad_line, audit_days, transfer_allow, transfer_max_records, notify, "
        "notify_retry_ms, notify_retries, notify_delay_ms, tsig_keys, transfer_key, "
        "journal_max_records, identity, nsid, drain_timeout_ms, log_level, mirror)");
  fails("[server]\n", "/etc/dnsxl/dnsxl.toml: [server] needs 'store' (the store directory)");
  fails("[server]\nstore = \"s\"\n[[zone]]\nname = \"a..b\"\n",
        "/etc/dnsxl/dnsxl.toml:4: 'name': empty label in 'a..b'");
  fails("[server]\nstore = \"s\"\n[[zone]]\nname = \"z\"\n[[zone.dataset]]\nname = \"d\"\n"
        "format = \"cvs\"\n",
        "/etc/dnsxl/dnsxl.toml:7: unknown format 'cvs' (ip4set, ip4tset, ip4trie, ip6trie, "
        "ip6tset, dnset, generic, combined, acl, list, drop, csv, jsonl, hosts, urls, dynamic, "
        "rdns)");
  fails("[server]\nstore = \"s\"\n[[zone]]\nname = \"z\"\n[[zone.dataset]]\nname = \"d\"\n"
        "format = \"csv\"\n",
        "/etc/dnsxl/dnsxl.toml:5: format 'csv' needs fields.subject (or fields.url): the column "
        "with the address, range or domain");
  fails("[server]\nstore = \"s\"\n[[zone]]\nname = \"z\"\n[[zone.dataset]]\nname = \"d\"\n"
        "format = \"csv\"\nfields = { subject = \"ip\", colour = 2 }\n",
        "/etc/dnsxl/dnsxl.toml:8: unknown field 'colour' (known: subject, url, code, reason, ref, "
        "listed, expires, evidence, delist, type, force)");
  fails("[server]\nstore = \"s\"\n[[zone]]\nname = \"z\"\n[[zone.dataset]]\nname = \"d\"\n"
        "format = \"csv\"\nfields = { subject = \"ip\" }\n",
        "/etc/dnsxl/dnsxl.toml:5: fields.subject names the column 'ip': set header = true (or give "
        "its number)");
  fails("[server]\nstore = \"s\"\n[[zone]]\nname = \"z\"\n[[zone.dataset]]\nname = \"d\"\n"
        "format = \"drop\"\ntxt = \"Listed: {why}\"\n",
        "/etc/dnsxl/dnsxl.toml:8: 'txt': unknown field {why} (code, reason, ref, listed, expires, "
        "evidence, delist, type; the subject is $)");
  fails("[server]\nstore = \"s\"\n[[zone]]\nname = \"z\"\n[[zone.dataset]]\nname = \"d\"\n"
        "format = \"hosts\"\nfields = { subject = 1 }\n",
        "/etc/dnsxl/dnsxl.toml:8: 'fields' applies to the csv and jsonl formats only");
  fails("[server]\nstore = \"s\"\n[[zone]]\nname = \"z\"\n[[zone.dataset]]\nname = \"d\"\n"
        "format = \"rdns\"\n",
        "/etc/dnsxl/dnsxl.toml:5: format 'rdns' needs 'tokens' (a file of dynamic: and static: "
        "name tokens, e.g. feeds/rdns-tokens.txt)");
  auto rdns = parseText("[server]\nstore = \"s\"\n[[zone]]\nname = \"z\"\n[[zone.dataset]]\n"
                        "name = \"d\"\nformat = \"rdns\"\ntokens = \"t.txt\"\n");
  CHECK(rdns.zones.at(0).datasets.at(0).tokens == "/etc/dnsxl/t.txt");
  auto tsv = parseText("[server]\nstore = \"s\"\n[[zone]]\nname = \"z\"\n[[zone.dataset]]\n"
                       "name = \"d\"\nformat = \"csv\"\nfields = { subject = 1 }\n"
                       "delimiter = \"\\\\t\"\n");
  CHECK(tsv.zones.at(0).datasets.at(0).delimiter == '\t');
  fails("[server]\nstore = \"s\"\n[[zone]]\nname = \"z\"\n[[zone.dataset]]\nname = \"d\"\n"
        "format = \"list\"\na = \"10.0.0.1\"\n",
        "/etc/dnsxl/dnsxl.toml:8: 'a' = '10.0.0.1' is outside 127.0.0.0/8 (RFC 5782 §2.3)");
  fails("[server]\nstore = \"s\"\n[[zone]]\nname = \"z\"\nttl = -1\n",
        "/etc/dnsxl/dnsxl.toml:5: 'ttl' must be an integer from 0 to 2147483647");
  fails("[server]\nstore = \"s\"\n[[zone]]\nname = \"z\"\n[[zone]]\nname = \"Z\"\n",
        "/etc/dnsxl/dnsxl.toml:5: zone 'z' is defined twice");
  fails("[server\n", "/etc/dnsxl/dnsxl.toml:1: Error while parsing table header: expected ']', "
                     "saw '\\n'");
}

TEST_CASE("listen addresses", "[config]") {
  CHECK(parseListen("127.0.0.1:0")->port == 0);
  CHECK(parseListen("[2001:db8::1]:53")->address == "2001:db8::1");
  CHECK(parseListen("[::1]")->port == 53);
  CHECK_FALSE(parseListen("::1:53"));
  CHECK_FALSE(parseListen("127.0.0.1:65536"));
  CHECK_FALSE(parseListen("127.0.0.1:"));
  CHECK_FALSE(parseListen("[::1]53"));
}

TEST_CASE("the shipped configs parse", "[config]") {
  for (auto name : {"deploy/demo.toml", "deploy/dnsxl.toml"}) {
    INFO(name);
    auto c = load(std::filesystem::path(DNSXL_SOURCE_DIR) / name);
    CHECK(c.zones.size() >= 2);
    CHECK(c.server.listen.size() == 2);
  }
}

TEST_CASE("[http] and [query_log]: defaults, values, and errors naming the line", "[config]") {
  auto c = parseText("[server]\nstore = \"s\"\n");
  CHECK_FALSE(c.http.enabled);
  CHECK(c.queryLog.path.empty());
  CHECK(c.server.drainTimeoutMs == 20000);
  CHECK(c.server.identity.empty());
  CHECK(c.server.nsid.empty());

  c = parseText("[server]\nstore = \"s\"\nidentity = \"ns1.example\"\nnsid = \"fra-1\"\n"
                "drain_timeout_ms = 5000\nlog_level = \"debug\"\n[http]\n"
                "[query_log]\npath = \"log/q.log\"\nformat = \"json\"\nbuffer = 1024\n");
  CHECK(c.server.identity == "ns1.example");
  CHECK(c.server.nsid == "fra-1");
  CHECK(c.server.drainTimeoutMs == 5000);
  CHECK(c.server.logLevel == "debug");
  REQUIRE(c.http.enabled);
  REQUIRE(c.http.listen.size() == 1); // loopback when on, unless told otherwise
  CHECK(c.http.listen[0].address == "127.0.0.1");
  CHECK(c.http.listen[0].port == 9480);
  CHECK(c.queryLog.path == "/etc/dnsxl/log/q.log");
  CHECK(c.queryLog.format == "json");
  CHECK(c.queryLog.buffer == 1024);

  c = parseText("[server]\nstore = \"s\"\n[http]\nlisten = [\"[::1]:9100\", \"0.0.0.0:9101\"]\n"
                "max_data_age_s = 7200\n");
  REQUIRE(c.http.listen.size() == 2);
  CHECK(c.http.listen[0].address == "::1");
  CHECK(c.http.listen[1].port == 9101);
  CHECK(c.http.maxDataAgeS == 7200);

  auto fails = [](const std::string& text, const std::string& message) {
    INFO(text);
    CHECK_THROWS_WITH(parseText(text), message);
  };
  fails("[server]\nstore = \"s\"\n[http]\nlisten = [\"127.0.0.1\"]\n",
        "/etc/dnsxl/dnsxl.toml:4: [http] listen '127.0.0.1' is not ADDRESS:PORT or [IPv6]:PORT");
  fails("[server]\nstore = \"s\"\n[http]\nport = 1\n",
        "/etc/dnsxl/dnsxl.toml:4: unknown key 'port' in [http] (known: listen, max_data_age_s)");
  fails("[server]\nstore = \"s\"\n[query_log]\nformat = \"json\"\n",
        "/etc/dnsxl/dnsxl.toml:3: [query_log] needs 'path' (a file, or \"-\" for standard output)");
  fails("[server]\nstore = \"s\"\n[query_log]\npath = \"q\"\nformat = \"csv\"\n",
        "/etc/dnsxl/dnsxl.toml:5: [query_log] 'format' must be \"rbldnsd\" or \"json\"");
  fails("[server]\nstore = \"s\"\nlog_level = \"loud\"\n",
        "/etc/dnsxl/dnsxl.toml:3: 'log_level' must be one of error, warning, notice, info, debug");
  fails("[server]\nstore = \"s\"\nhttp = 1\n",
        "/etc/dnsxl/dnsxl.toml:3: unknown key 'http' in [server] (known: listen, store, workers, "
        "tcp_idle_timeout_ms, tcp_max_connections, tcp_max_per_client, rrl_responses_per_second, "
        "rrl_slip, edns_udp_max, map_size_mb, version, acl, "
        "acl_on_bad_line, audit_days, transfer_allow, transfer_max_records, notify, "
        "notify_retry_ms, notify_retries, notify_delay_ms, tsig_keys, transfer_key, "
        "journal_max_records, identity, nsid, drain_timeout_ms, log_level, mirror)");
}

TEST_CASE("[web]: the public lookup's listener, fields and rate; errors with the line",
          "[config]") {
  auto c = parseText("[server]\nstore = \"s\"\n[web]\nlisten = [\"0.0.0.0:8080\"]\n"
                     "title = \"T\"\nfields = [\"reason\", \"code\"]\nrate_per_minute = 10\n");
  REQUIRE(c.web.enabled);
  CHECK(c.web.listen[0].port == 8080);
  CHECK(c.web.title == "T");
  CHECK(c.web.fields == std::vector<std::string>{"reason", "code"});
  CHECK(c.web.ratePerMinute == 10);
  CHECK_FALSE(parseText("[server]\nstore = \"s\"\n").web.enabled);
  CHECK_THROWS_WITH(parseText("[server]\nstore = \"s\"\n[web]\ntitle = \"T\"\n"),
                    "/etc/dnsxl/dnsxl.toml:3: [web] needs 'listen' (e.g. [\"0.0.0.0:8080\"])");
  CHECK_THROWS_WITH(parseText("[server]\nstore = \"s\"\n[web]\nlisten = [\"127.0.0.1:1\"]\n"
                              "fields = [\"source\"]\n"),
                    "/etc/dnsxl/dnsxl.toml:5: [web] fields: unknown field 'source' (code, "
                    "reason, ref, listed, expires, evidence, delist, type)");
}

TEST_CASE("[web]: removal requests' limits, mail and abuse contacts; errors with the line",
          "[config][web]") {
  const std::string head = "[server]\nstore = \"s\"\n[web]\nlisten = [\"127.0.0.1:1\"]\n";
  auto c =
      parseText(head + "requests_per_subject_per_day = 1\nmail_from = \"bl@example.org\"\n"
                       "mail_command = [\"msmtp\", \"-t\"]\npublic_url = \"https://x.example/\"\n"
                       "[web.abuse_contacts]\n\"192.0.2.0/24\" = \"noc@example.net\"\n"
                       "\"example.net\" = \"abuse@example.net\"\n");
  CHECK(c.web.requests);
  CHECK(c.web.requestsPerSubjectPerDay == 1);
  CHECK(c.web.requestsPerClientPerDay == 10);
  CHECK(c.web.mailCommand == std::vector<std::string>{"msmtp", "-t"});
  CHECK(c.web.publicUrl == "https://x.example");
  REQUIRE(c.web.abuseNetworks.size() == 1);
  CHECK(c.web.abuseNetworks[0].first.len == 24);
  CHECK(c.web.abuseNetworks[0].second == "noc@example.net");
  REQUIRE(c.web.abuseDomains.size() == 1);
  CHECK(c.web.abuseDomains[0].first == "example.net");
  CHECK_FALSE(parseText(head + "requests = false\n").web.requests);
  CHECK_THROWS_WITH(parseText(head + "mail_from = \"nobody\"\n"),
                    "/etc/dnsxl/dnsxl.toml:5: [web] mail_from 'nobody' is not a mail address");
  CHECK_THROWS_WITH(parseText(head + "public_url = \"lookup.example\"\n"),
                    "/etc/dnsxl/dnsxl.toml:5: [web] public_url must start with https:// (or "
                    "http://)");
  CHECK_THROWS_WITH(parseText(head + "[web.abuse_contacts]\n\"192.0.2.0/24\" = \"x\"\n"),
                    "/etc/dnsxl/dnsxl.toml:6: [web.abuse_contacts] \"192.0.2.0/24\": 'x' is not a "
                    "mail address");
  CHECK_THROWS_WITH(parseText(head + "[web.abuse_contacts]\n\"Not A Net\" = \"a@b.example\"\n"),
                    "/etc/dnsxl/dnsxl.toml:6: [web.abuse_contacts] \"Not A Net\" is neither an "
                    "address prefix nor a domain name in lower case");
  CHECK_THROWS_WITH(parseText(head + "mail_command = []\n"),
                    Catch::Contains("[web] mail_command needs a program"));
  CHECK_THROWS_WITH(parseText(head + "requests = \"yes\"\n"),
                    "/etc/dnsxl/dnsxl.toml:5: [web] requests must be true or false");
  CHECK(dnsxl::config::isMailAddress("a.b+c@example.org"));
  for (const char* bad : {"a@b", "@example.org", "a b@example.org", "a@@example.org",
                          "a@example..org", "a<b>@example.org", "a@example.org\r\nBcc: x@y.z"})
    CHECK_FALSE(dnsxl::config::isMailAddress(bad));
}

TEST_CASE("[[zone.access]]: rules, clients files, the shipped public resolvers; errors with the "
          "line",
          "[config][access]") {
  const std::string head = "[server]\nstore = \"s\"\ntcp_max_per_client = 4\n"
                           "rrl_responses_per_second = 200\nrrl_slip = 3\n"
                           "[[zone]]\nname = \"bl.test\"\n";
  auto c = parse(head +
                     "  [[zone.access]]\n  clients = [\"0.0.0.0/0\", \"::/0\"]\n"
                     "  action = \"refuse\"\n  [[zone.access]]\n  clients_file = \"" +
                     std::string(DNSXL_SOURCE_DIR) +
                     "/deploy/public-resolvers.txt\"\n  action = \"answer\"\n"
                     "  a = \"127.255.255.254\"\n  txt = \"Use your own resolver\"\n",
                 "/etc/dnsxl/dnsxl.toml");
  CHECK(c.server.tcpMaxPerClient == 4);
  CHECK(c.server.rrlPerSecond == 200);
  CHECK(c.server.rrlSlip == 3);
  REQUIRE(c.zones[0].access.size() == 2);
  CHECK(c.zones[0].access[0].action == "refuse");
  CHECK(c.zones[0].access[0].clients.size() == 2);
  CHECK(c.zones[0].access[1].action == "answer");
  CHECK(c.zones[0].access[1].a == 0x7ffffffeU);
  CHECK(c.zones[0].access[1].clients.size() > 10); // the shipped list parses
  CHECK_THROWS_WITH(parseText(head + "  [[zone.access]]\n  clients = [\"10.0.0.0/33\"]\n"
                                     "  action = \"allow\"\n"),
                    "/etc/dnsxl/dnsxl.toml:9: [[zone.access]] clients: '10.0.0.0/33' is not an "
                    "address prefix");
  CHECK_THROWS_WITH(parseText(head + "  [[zone.access]]\n  clients = [\"10.0.0.0/8\"]\n"
                                     "  action = \"block\"\n"),
                    "/etc/dnsxl/dnsxl.toml:10: [[zone.access]] action 'block' is not allow, deny, "
                    "refuse, empty or answer");
  CHECK_THROWS_WITH(parseText(head + "  [[zone.access]]\n  action = \"allow\"\n"),
                    "/etc/dnsxl/dnsxl.toml:8: [[zone.access]] needs 'clients' or 'clients_file'");
  CHECK_THROWS_WITH(parseText(head + "  [[zone.access]]\n  clients = [\"10.0.0.0/8\"]\n"
                                     "  action = \"refuse\"\n  a = \"127.0.0.2\"\n"),
                    "/etc/dnsxl/dnsxl.toml:8: [[zone.access]]: 'a', 'txt' and 'ttl' go with "
                    "action = \"answer\"");
  dnsxl::test::TempDir dir;
  const auto bad = dir.write("r.txt", "# resolvers\n8.8.8.0/24\nnot-a-prefix\n");
  CHECK_THROWS_WITH(parseText(head + "  [[zone.access]]\n  clients_file = \"" + bad.string() +
                              "\"\n  action = \"deny\"\n"),
                    bad.string() + ":3: 'not-a-prefix' is not an address prefix");
  auto keyed = parseText(head + "keyed = true\nkey_over_quota = { a = \"127.255.255.251\", "
                                "txt = \"slow down\" }\n");
  CHECK(keyed.zones[0].keyed.on);
  CHECK(keyed.zones[0].keyed.unknown.a == 0x7ffffffcU); // 127.255.255.252 unless given
  CHECK(keyed.zones[0].keyed.overQuota.a == 0x7ffffffbU);
  CHECK(keyed.zones[0].keyed.overQuota.txt == "slow down");
  CHECK_FALSE(parseText(head).zones[0].keyed.on);
  CHECK_THROWS_WITH(parseText(head + "key_unknown = { a = \"127.255.255.250\" }\n"),
                    "/etc/dnsxl/dnsxl.toml:8: 'key_unknown' goes with keyed = true");
  CHECK_THROWS_WITH(parseText(head + "keyed = true\nkey_unknown = { a = \"10.0.0.1\" }\n"),
                    "/etc/dnsxl/dnsxl.toml:9: 'a' = '10.0.0.1' is outside 127.0.0.0/8 (RFC 5782 "
                    "§2.3)");
  CHECK_THROWS_WITH(parseText(head + "  [[zone.access]]\n  clients_file = \"/nonexistent\"\n"
                                     "  action = \"deny\"\n"),
                    "/etc/dnsxl/dnsxl.toml:9: cannot read clients_file /nonexistent");
}
