#include "config/config.hh"
#include "server/rbldnsd_cli.hh"

#include <catch2/catch.hpp>

using namespace dnsxl;
using rbldnsd::CommandLine;

namespace {

CommandLine ok(const std::vector<std::string>& args) {
  auto r = rbldnsd::parse(args);
  if (auto* err = std::get_if<std::string>(&r)) FAIL(*err);
  return std::get<CommandLine>(r);
}

std::string fails(const std::vector<std::string>& args) {
  auto r = rbldnsd::parse(args);
  auto* err = std::get_if<std::string>(&r);
  REQUIRE(err);
  return *err;
}

} // namespace

TEST_CASE("rbldnsd command lines are recognised", "[rbldnsd]") {
  CHECK(rbldnsd::looksLikeRbldnsd({"-b", "127.0.0.1/5300", "bl.test:ip4set:a.txt"}));
  CHECK(rbldnsd::looksLikeRbldnsd({"-r/var/lib/rbldns/dsbl", "-b127.2", "list:ip4set:list"}));
  CHECK(rbldnsd::looksLikeRbldnsd({"dbl.test:dnset:d.txt"}));
  CHECK_FALSE(rbldnsd::looksLikeRbldnsd({"--config", "x.toml", "--listen", "127.0.0.1:53"}));
  CHECK_FALSE(rbldnsd::looksLikeRbldnsd({"-c", "x.toml", "-l", "[::1]:53", "--workers", "2"}));
}

TEST_CASE("rbldnsd options, glued or not, and zone specs", "[rbldnsd]") {
  auto cl = ok({"-n",
                "-e",
                "-vv",
                "-b",
                "127.0.0.1/5300",
                "-b::1/5301",
                "-b",
                "127.2",
                "-w",
                "data",
                "-t",
                "1h:10m:2h",
                "-c",
                "5s",
                "-p/run/x.pid",
                "-u",
                "rbldns:rbldns",
                "-l",
                "+/var/log/q.log",
                "-a",
                "-f",
                "-q",
                "bl.test:ip4set:a.txt,b.txt",
                "BL.Test.:dnset:d.txt",
                "bl.test:ip4set:a.txt,b.txt",
                "dbl.test:dnset:d.txt"});
  CHECK(cl.foreground);
  CHECK(cl.allowHostBits);
  CHECK(cl.verbose == 2);
  REQUIRE(cl.binds.size() == 3);
  CHECK(cl.binds[0].address == "127.0.0.1");
  CHECK(cl.binds[0].port == 5300);
  CHECK(cl.binds[1].address == "::1");
  CHECK(cl.binds[1].port == 5301);
  CHECK(cl.binds[2].address == "127.2");
  CHECK(cl.binds[2].port == 53);
  CHECK(cl.workdir == "data");
  CHECK(cl.ttlDefault == 3600);
  CHECK(cl.ttlMin == 600);
  CHECK(cl.ttlMax == 7200);
  CHECK(cl.checkInterval == 5);
  CHECK(cl.pidfile == "/run/x.pid");
  CHECK(cl.user == "rbldns:rbldns");
  CHECK(cl.logfile == "/var/log/q.log");
  CHECK(cl.logUnbuffered);
  REQUIRE(cl.zones.size() == 2);
  CHECK(cl.zones[0].name == "bl.test");
  REQUIRE(cl.zones[0].datasets.size() == 2); // the repeated spec is one dataset
  CHECK(cl.zones[0].datasets[0].spec() == "ip4set:a.txt,b.txt");
  CHECK(cl.zones[0].datasets[1].spec() == "dnset:d.txt");
  CHECK(cl.zones[1].name == "dbl.test");
}

TEST_CASE("what dnsxld refuses on an rbldnsd command line", "[rbldnsd]") {
  CHECK(fails({"-b", "127.0.0.1", "-x", "ext.so", "z:ip4set:f"}) ==
        "-x: rbldnsd extensions (DSO hooks) are not supported by dnsxld");
  CHECK(fails({"-b", "127.0.0.1", "z:ip9set:f"}) ==
        "'z:ip9set:f': unknown dataset type 'ip9set' (ip4set, ip4tset, ip4trie, ip6trie, "
        "ip6tset, dnset, generic, combined, acl)");
  CHECK(fails({"-b", "127.0.0.1", "z:ip4set:f", ":ip4set:g"}) ==
        "':ip4set:g': only an acl may have an empty zone name");
  CHECK(fails({"-b", "127.0.0.1", "z:ip4set:f", ":acl:a", ":acl:b"}) ==
        "':acl:b': a second global acl");
  CHECK(fails({"-b", "127.0.0.1", "z:acl:a", "z:acl:b"}) == "'z:acl:b': zone z has an acl already");
  CHECK(fails({"z:ip4set:f"}) == "no -b address given");
  CHECK(fails({"-b", "127.0.0.1"}) == "no zones given (zone:type:file[,file...])");
  CHECK(fails({"-b", "127.0.0.1/99999", "z:ip4set:f"}) ==
        "-b 127.0.0.1/99999: '99999' is not a port number");
  CHECK(fails({"-b", "127.0.0.1", "-t", "0:1:2", "z:ip4set:f"}) ==
        "-t 0:1:2: the default must be above 0 and within min..max");
  CHECK(fails({"-b", "127.0.0.1", "-c", "soon", "z:ip4set:f"}) ==
        "-c soon: not a time value (e.g. 60, 1m, 5s)");
  CHECK(fails({"-b", "127.0.0.1", "-Z", "z:ip4set:f"}) == "unknown option -Z");
  CHECK(fails({"-b", "127.0.0.1", "-d", "z:ip4set:f"}) ==
        "-d (dump the zones and exit) is not supported by dnsxld yet");
  CHECK(fails({"-b"}) == "option -b needs an argument");
  CHECK(fails({"-b", "127.0.0.1", "z:ip4set:a,,b"}) == "'z:ip4set:a,,b': empty file name");
}

TEST_CASE("the generated config is a valid dnsxl config", "[rbldnsd]") {
  auto cl = ok({"-b", "127.0.0.1", "-r", "/srv/rbl", "-w", "/data", "-e", "-C", "-t", "35m::1h",
                "bl.test:ip4set:a.txt,/abs/b.txt", "bl.test:dnset:d\"q.txt"});
  auto toml = rbldnsd::toToml(cl, "/tmp/state/store", "dnsxl");
  auto c = config::parse(toml, "/tmp/state/dnsxl.toml");
  CHECK(c.server.store == "/tmp/state/store");
  REQUIRE(c.zones.size() == 1);
  const auto& z = c.zones[0];
  CHECK(z.ttl == 2100);
  CHECK(z.ttlMax == 3600);
  CHECK(z.allowNoNs);
  REQUIRE(z.datasets.size() == 2);
  CHECK(z.datasets[0].files ==
        std::vector<std::filesystem::path>{"/srv/rbl/data/a.txt", "/srv/rbl/abs/b.txt"});
  CHECK(z.datasets[1].files == std::vector<std::filesystem::path>{"/srv/rbl/data/d\"q.txt"});
  CHECK(z.datasets[0].skipBadLines);
  CHECK(z.datasets[0].allowHostBits);
  CHECK_FALSE(z.datasets[0].gzip);
}
