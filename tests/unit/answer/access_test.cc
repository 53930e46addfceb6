// Who may ask a zone ([[zone.access]]): the access table's longest-prefix match, and what the
// responder answers under each action, parsed by ldns; the slipped (TC) reply of the rate
// limiter and its per-network budget.
#include "server/answer/access.hh"
#include "server/answer/responder.hh"
#include "server/net/rrl.hh"
#include "tests/support/fixture.hh"

#include <arpa/inet.h>
#include <catch2/catch.hpp>

using namespace dnsxl;

namespace {

answer::Client v4(const char* text) {
  answer::Client c;
  in_addr a{};
  inet_pton(AF_INET, text, &a);
  c.v4 = ntohl(a.s_addr);
  return c;
}

answer::Client v6(const char* text) {
  answer::Client c;
  c.v6 = true;
  inet_pton(AF_INET6, text, c.addr6.data());
  return c;
}

void add(answer::AccessTable& t, const char* prefix, uint16_t rule) {
  const auto p = config::parsePrefix(prefix);
  REQUIRE(p);
  t.add(p->v6, p->addr.data(), p->len, rule);
}

} // namespace

TEST_CASE("access table: the longest prefix wins; of equal ones the first; v4 and v6 apart",
          "[access]") {
  answer::AccessTable t;
  t.rules.resize(5);
  add(t, "0.0.0.0/0", 0);
  add(t, "192.0.2.0/24", 1);
  add(t, "192.0.2.128/25", 2);
  add(t, "192.0.2.7", 3);
  add(t, "192.0.2.0/24", 4); // the same as rule 1's: rule 1 stays
  add(t, "2001:db8::/32", 1);
  t.build();
  CHECK(t.match(v4("203.0.113.1")) == 0);
  CHECK(t.match(v4("192.0.2.1")) == 1);
  CHECK(t.match(v4("192.0.2.6")) == 1);
  CHECK(t.match(v4("192.0.2.7")) == 3);
  CHECK(t.match(v4("192.0.2.8")) == 1);
  CHECK(t.match(v4("192.0.2.200")) == 2);
  CHECK(t.match(v4("255.255.255.255")) == 0);
  CHECK(t.match(v6("2001:db8::1")) == 1);
  CHECK(t.match(v6("2001:db9::1")) == -1); // no IPv6 default
  answer::AccessTable all;                 // the whole of both families
  all.rules.resize(1);
  add(all, "0.0.0.0/0", 0);
  add(all, "::/0", 0);
  all.build();
  CHECK(all.match(v6("::")) == 0);
  CHECK(all.match(v6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")) == 0);
  CHECK(all.match(v4("0.0.0.0")) == 0);
  answer::AccessTable none;
  none.build();
  CHECK(none.empty());
  CHECK(none.match(v4("192.0.2.1")) == -1);
}

TEST_CASE("access rules in the responder: allow, deny, refuse, empty, a fixed answer; counted",
          "[access]") {
  test::Fixture f("[[zone]]\nname = \"bl.test\"\nns = [\"ns1.bl.test\"]\n  [[zone.dataset]]\n"
                  "  name = \"set\"\n  format = \"ip4set\"\n  files = [\"set.txt\"]\n"
                  "  txt = \"Listed: $\"\n",
                  {{"set.txt", "192.0.2.0/24\n"}});
  f.importOk();
  store::Env env(f.store(), {.readOnly = true});
  answer::Options o;
  answer::ZoneAccess za;
  za.zone = "bl.test";
  auto rule = [&](answer::AccessAction a, const char* prefix) {
    answer::AccessRule r;
    r.action = a;
    if (a == answer::AccessAction::Answer) {
      r.a = 0x7ffffffe; // 127.255.255.254
      r.txt = "Queries through public resolvers are not answered: use your own resolver";
      r.ttl = 60;
    }
    add(za.table, prefix, static_cast<uint16_t>(za.table.rules.size()));
    za.table.rules.push_back(r);
  };
  rule(answer::AccessAction::Refuse, "0.0.0.0/0");
  rule(answer::AccessAction::Allow, "198.51.100.0/24");
  rule(answer::AccessAction::Deny, "203.0.113.66");
  rule(answer::AccessAction::Empty, "203.0.113.0/24");
  rule(answer::AccessAction::Answer, "8.8.8.0/24");
  za.table.build();
  o.access.push_back(std::move(za));
  answer::Responder r(env, o);
  auto ask = [&](const char* client, const std::string& name, uint16_t type) {
    const auto c = v4(client);
    const auto q = test::makeQuery(name, type);
    std::vector<uint8_t> out(4096);
    const size_t n = r.answerOne(q, out, answer::Transport::Udp, 1796500000, &c);
    out.resize(n);
    return out;
  };
  const std::string listed = "5.2.0.192.bl.test";
  auto allowed = test::parseReply(ask("198.51.100.9", listed, 1));
  CHECK(allowed.rcode == 0);
  CHECK(allowed.a == std::vector<std::string>{"127.0.0.2"});
  CHECK(test::parseReply(ask("192.0.2.77", listed, 1)).rcode == 5); // the default: REFUSED
  CHECK(ask("203.0.113.66", listed, 1).empty());                    // deny: no reply
  auto empty = test::parseReply(ask("203.0.113.5", listed, 1));
  CHECK(empty.rcode == 3); // the lists look empty
  CHECK(empty.aa);
  auto fixed = test::parseReply(ask("8.8.8.8", listed, 255));
  CHECK(fixed.rcode == 0);
  CHECK(fixed.aa);
  CHECK(fixed.a == std::vector<std::string>{"127.255.255.254"});
  CHECK(fixed.txt ==
        std::vector<std::string>{
            "Queries through public resolvers are not answered: use your own resolver"});
  CHECK(fixed.answerTtls == std::vector<uint32_t>{60, 60});
  // also for a name that is not listed; the apex stays answered as usual
  CHECK(test::parseReply(ask("8.8.8.8", "9.9.9.198.bl.test", 1)).a ==
        std::vector<std::string>{"127.255.255.254"});
  auto soa = test::parseReply(ask("8.8.8.8", "bl.test", 6));
  CHECK(soa.rcode == 0);
  CHECK(soa.answer.size() == 1);
  CHECK(test::parseReply(ask("8.8.8.8", listed, 28)).answer.empty()); // AAAA: NODATA
  std::map<std::string, answer::ZoneStats> stats;
  r.addStats(stats);
  const auto& a = stats["bl.test"].access;
  CHECK(a[static_cast<size_t>(answer::AccessAction::Allow)] == 1);
  CHECK(a[static_cast<size_t>(answer::AccessAction::Refuse)] == 1);
  CHECK(a[static_cast<size_t>(answer::AccessAction::Deny)] == 1);
  CHECK(a[static_cast<size_t>(answer::AccessAction::Empty)] == 1);
  CHECK(a[static_cast<size_t>(answer::AccessAction::Answer)] == 4);
  CHECK(stats["bl.test"].dropped == 1);
}

TEST_CASE("rate limiting: a budget per /24 and /56 a second; every slip-th over it truncated",
          "[rrl]") {
  net::RateLimiter rl;
  const auto a = v4("192.0.2.1"), b = v4("192.0.2.200"), other = v4("198.51.100.1");
  std::vector<net::RateLimiter::Verdict> got;
  for (int i = 0; i < 3; ++i)
    CHECK(rl.check(a, 100, 5, 2) == net::RateLimiter::Send);
  for (int i = 0; i < 2; ++i)
    CHECK(rl.check(b, 100, 5, 2) == net::RateLimiter::Send); // the same /24: 5 in all
  CHECK(rl.check(a, 100, 5, 2) == net::RateLimiter::Drop);
  CHECK(rl.check(b, 100, 5, 2) == net::RateLimiter::Slip);
  CHECK(rl.check(a, 100, 5, 2) == net::RateLimiter::Drop);
  CHECK(rl.check(a, 100, 5, 2) == net::RateLimiter::Slip);
  CHECK(rl.check(other, 100, 5, 2) == net::RateLimiter::Send); // another network
  CHECK(rl.check(a, 101, 5, 2) == net::RateLimiter::Send);     // a new second
  CHECK(rl.dropped == 2);
  CHECK(rl.slipped == 2);
  for (int i = 0; i < 10; ++i)
    rl.check(v6("2001:db8:0:ff::1"), 100, 3, 0);
  CHECK(rl.check(v6("2001:db8:0:aa::2"), 100, 3, 0) == net::RateLimiter::Drop);  // same /56
  CHECK(rl.check(v6("2001:db8:0:1ff::2"), 100, 3, 0) == net::RateLimiter::Send); // another
}

TEST_CASE("a slipped reply: header and question, TC set, no records; ldns reads it", "[rrl]") {
  test::Fixture f("[[zone]]\nname = \"bl.test\"\nns = [\"ns1.bl.test\"]\n  [[zone.dataset]]\n"
                  "  name = \"set\"\n  format = \"ip4set\"\n  files = [\"set.txt\"]\n",
                  {{"set.txt", "192.0.2.0/24\n"}});
  f.importOk();
  store::Env env(f.store(), {.readOnly = true});
  answer::Responder r(env, {});
  const auto q = test::makeQuery("5.2.0.192.bl.test", 1);
  std::vector<uint8_t> out(4096);
  out.resize(r.answerOne(q, out, answer::Transport::Udp, 1796500000));
  REQUIRE(test::parseReply(out).a.size() == 1);
  out.resize(net::slipReply(out));
  auto s = test::parseReply(out);
  CHECK(s.parsed);
  CHECK(s.tc);
  CHECK(s.rcode == 0);
  CHECK(s.question == "5.2.0.192.bl.test.");
  CHECK(s.answer.empty());
  CHECK(s.authority.empty());
  CHECK(out.size() == 12 + 19 + 4);
}

TEST_CASE("keyed zone: <query>.<key>.<zone> with a store key; unknown, revoked, over quota",
          "[keys]") {
  test::Fixture f("[[zone]]\nname = \"dq.test\"\nns = [\"ns1.dq.test\"]\nkeyed = true\n"
                  "  [[zone.dataset]]\n  name = \"set\"\n  format = \"ip4set\"\n"
                  "  files = [\"set.txt\"]\n",
                  {{"set.txt", "192.0.2.0/24\n"}});
  f.importOk();
  {
    store::Env w(f.store(), {});
    store::Writer wr(w);
    wr.putKey({"goodkey1", false, 0, 2, 1, 0, "customer 1", "test"}); // 2 a day
    wr.putKey({"revoked1", true, 0, 0, 1, 2, "gone", "test"});
    wr.putKey({"fastkey1", false, 2, 0, 1, 0, "two a second", "test"}); // 2 a second
    wr.commit();
  }
  store::Env env(f.store(), {.readOnly = true});
  answer::Options o;
  answer::KeyQuotas quotas;
  o.quotas = &quotas;
  o.keyed.push_back({"dq.test",
                     {answer::AccessAction::Answer, 0x7ffffffc, "Unknown or revoked key", 60},
                     {answer::AccessAction::Answer, 0x7fffffff, "Over quota", 60}});
  answer::Responder r(env, o);
  int64_t now = 1796500000;
  auto ask = [&](const std::string& name, uint16_t type = 1) {
    const auto q = test::makeQuery(name, type);
    std::vector<uint8_t> out(4096);
    out.resize(r.answerOne(q, out, answer::Transport::Udp, now));
    return test::parseReply(out);
  };
  auto listed = ask("5.2.0.192.goodkey1.dq.test");
  CHECK(listed.a == std::vector<std::string>{"127.0.0.2"});
  auto unlisted = ask("9.9.9.9.GoodKey1.dq.test"); // keys are case-insensitive, as DNS names
  CHECK(unlisted.rcode == 3);
  CHECK(unlisted.authoritySoa == 1);
  auto over = ask("5.2.0.192.goodkey1.dq.test", 255); // the third today
  CHECK(over.a == std::vector<std::string>{"127.255.255.255"});
  CHECK(over.txt == std::vector<std::string>{"Over quota"});
  now += 86400; // a new day
  CHECK(ask("5.2.0.192.goodkey1.dq.test").a == std::vector<std::string>{"127.0.0.2"});
  auto keyApex = ask("goodkey1.dq.test"); // the key's own name exists: NODATA
  CHECK(keyApex.rcode == 0);
  CHECK(keyApex.answer.empty());
  CHECK(ask("5.2.0.192.revoked1.dq.test").a == std::vector<std::string>{"127.255.255.252"});
  CHECK(ask("5.2.0.192.nosuchkey.dq.test").a == std::vector<std::string>{"127.255.255.252"});
  CHECK(ask("5.2.0.192.dq.test").a == std::vector<std::string>{"127.255.255.252"}); // no key
  CHECK(ask("dq.test", 6).answer.size() == 1); // the apex as usual
  for (int i = 0; i < 2; ++i)
    CHECK(ask("5.2.0.192.fastkey1.dq.test").a == std::vector<std::string>{"127.0.0.2"});
  CHECK(ask("5.2.0.192.fastkey1.dq.test").a == std::vector<std::string>{"127.255.255.255"});
  ++now; // the next second
  CHECK(ask("5.2.0.192.fastkey1.dq.test").a == std::vector<std::string>{"127.0.0.2"});
  std::map<std::string, answer::ZoneStats> stats;
  r.addStats(stats);
  const auto& k = stats["dq.test"].keys;
  CHECK(k[0] == 7); // the queries that passed: 2, a day later 1, the key's name, 2, then 1
  CHECK(k[1] == 3);
  CHECK(k[2] == 2);
}
