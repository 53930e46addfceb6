#include "server/answer/responder.hh"
#include "store/store.hh"
#include "tests/support/fixture.hh"
#include "zonegen/live.hh"

#include <algorithm>
#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <random>

using namespace dnsxl;
using test::Fixture;

namespace {

const char* kZone = R"toml(
[[zone]]
name = "bl.test"
ns = ["ns1.bl.test"]

  [[zone.dataset]]
  name = "main"
  format = "list"
  files = ["a.txt"]
  txt = "{reason} (ref {ref})"

  [[zone.dataset]]
  name = "dyn"
  format = "ip4set"
  files = ["d.txt"]
  a = "127.0.0.10"
)toml";

// What the zone answers for a name, parsed by ldns: "NXDOMAIN" or the sorted A and TXT answers.
std::string answerOf(store::Env& env, const std::string& name) {
  answer::Responder r(env, {});
  std::vector<uint8_t> out(4096);
  std::string text;
  for (uint16_t type : {uint16_t{1}, uint16_t{16}}) {
    auto q = test::makeQuery(name, type);
    out.resize(4096);
    out.resize(r.answerOne(q, out, answer::Transport::Udp, std::time(nullptr)));
    auto reply = test::parseReply(out);
    if (reply.rcode == 3) return "NXDOMAIN";
    auto v = type == 1 ? reply.a : reply.txt;
    std::sort(v.begin(), v.end());
    for (const auto& s : v)
      text += s + "|";
  }
  return text;
}

std::string answerOf(const Fixture& f, const std::string& name) {
  store::Env env(f.store(), {.readOnly = true});
  return answerOf(env, name);
}

std::string reversed(uint32_t a) {
  return fmt::format("{}.{}.{}.{}", a & 0xff, (a >> 8) & 0xff, (a >> 16) & 0xff, a >> 24);
}

zonegen::LiveResult change(const Fixture& f, bool delist, std::vector<std::string> subjects,
                           const std::string& reason, const std::string& dataset = "main",
                           bool force = false, int64_t now = 0) {
  std::vector<zonegen::Change> changes;
  for (auto& s : subjects) {
    zonegen::Change c;
    c.subject = s;
    c.source = "test";
    c.fields[feeds::kReason] = reason;
    c.fields[feeds::kRef] = "T-1";
    changes.push_back(c);
  }
  zonegen::LiveOptions o;
  o.delist = delist;
  o.zone = "bl.test";
  o.dataset = dataset;
  o.by = "tester";
  o.force = force;
  o.now = now;
  return zonegen::applyChanges(f.config(), o, changes);
}

uint64_t generation(const Fixture& f) {
  store::Env env(f.store(), {.readOnly = true});
  store::Snapshot s(env);
  return s.generation();
}

std::vector<store::ChangeRecord> audit(const Fixture& f) {
  store::Env env(f.store(), {.readOnly = true});
  store::Snapshot s(env);
  std::vector<store::ChangeRecord> out;
  s.forEachAudit([&](uint64_t, const store::ChangeRecord& c) { out.push_back(c); });
  return out;
}

} // namespace

TEST_CASE("add and delist change the served data in place and survive a re-import", "[live]") {
  Fixture f(kZone, {{"a.txt", "192.0.2.0/25 feed listing\nbad.test feed domain\n"
                              ".evil.test whole evil tree\n"},
                    {"d.txt", "198.51.100.0/24\n"}});
  f.importOk();
  const auto before = generation(f);
  REQUIRE(answerOf(f, "9.2.0.192.bl.test") == "127.0.0.2|feed listing|");

  // add: a new address, and one the feed lists (the values merge: both reasons answer)
  auto r = change(f, false, {"192.0.2.200", "192.0.2.9"}, "trap hits");
  INFO((r.errors.empty() ? "" : r.errors.front()));
  REQUIRE(r.ok);
  CHECK(generation(f) == before + 1);
  CHECK(answerOf(f, "200.2.0.192.bl.test") == "127.0.0.2|trap hits (ref T-1)|");
  CHECK(answerOf(f, "9.2.0.192.bl.test") == "127.0.0.2|feed listing|trap hits (ref T-1)|");
  CHECK(answerOf(f, "8.2.0.192.bl.test") == "127.0.0.2|feed listing|");
  CHECK(answerOf(f, "201.2.0.192.bl.test") == "NXDOMAIN");

  // delist: an address inside a feed range, a listed name, a name listed through its parent
  r = change(f, true, {"192.0.2.10", "bad.test", "www.evil.test"}, "fixed");
  REQUIRE(r.ok);
  CHECK(r.done.size() == 3);
  CHECK(answerOf(f, "10.2.0.192.bl.test") == "NXDOMAIN");
  CHECK(answerOf(f, "11.2.0.192.bl.test") == "127.0.0.2|feed listing|");
  CHECK(answerOf(f, "bad.test.bl.test") == "NXDOMAIN");
  CHECK(answerOf(f, "www.evil.test.bl.test") == "NXDOMAIN");
  CHECK(answerOf(f, "a.www.evil.test.bl.test") == "NXDOMAIN"); // its subtree goes with it
  CHECK(answerOf(f, "mail.evil.test.bl.test") == "127.0.0.2|whole evil tree|");

  // a delisting covering an earlier add makes it moot: the add is not replayed any more
  r = change(f, true, {"192.0.2.192/26"}, "customer range");
  REQUIRE(r.ok);
  CHECK(answerOf(f, "200.2.0.192.bl.test") == "NXDOMAIN");

  // the same answers after the next import of the unchanged feed
  std::vector<std::string> names = {"9.2.0.192",       "10.2.0.192",     "11.2.0.192",
                                    "200.2.0.192",     "bad.test",       "www.evil.test",
                                    "a.www.evil.test", "mail.evil.test", "5.100.51.198"};
  std::vector<std::string> live;
  for (const auto& n : names)
    live.push_back(answerOf(f, n + ".bl.test"));
  f.importOk();
  for (size_t i = 0; i < names.size(); ++i) {
    INFO(names[i]);
    CHECK(answerOf(f, names[i] + ".bl.test") == live[i]);
  }
  // ... and for an ip4set dataset: a delisting in the middle of a /24
  REQUIRE(change(f, true, {"198.51.100.5"}, "static now", "dyn").ok);
  CHECK(answerOf(f, "5.100.51.198.bl.test") == "NXDOMAIN");
  CHECK(answerOf(f, "6.100.51.198.bl.test") == "127.0.0.10|");
}

TEST_CASE("live changes are refused like a bad feed line, and write nothing", "[live]") {
  Fixture f(kZone, {{"a.txt", "192.0.2.0/25 feed listing\n"}, {"d.txt", "198.51.100.0/24\n"}});
  f.importOk();
  const auto before = generation(f);
  auto refused = [&](zonegen::LiveResult r, const std::string& what) {
    INFO(what);
    CHECK_FALSE(r.ok);
    REQUIRE_FALSE(r.errors.empty());
    CHECK(r.errors.front().find(what) != std::string::npos);
  };
  refused(change(f, false, {"127.0.0.1"}, "x"), "must never be listed (RFC 5782");
  refused(change(f, false, {"10.0.0.0/7"}, "x"), "more than a /8 (widest_ip4 = 8)");
  refused(change(f, false, {"224.0.0.1"}, "x"), "224.0.0.0/3");
  refused(change(f, false, {"2001:db8::1"}, "x", "dyn"), "ip4set dataset; it cannot hold");
  refused(change(f, false, {"not a subject"}, "x"), "test:");
  refused(change(f, false, {"co.uk"}, "x"), "public suffix");
  refused(change(f, false, {"192.0.2.1"}, "x", "nosuch"), "no dataset nosuch");
  refused(change(f, true, {"192.0.2.1"}, ""), "a delisting needs a reason");
  // one bad subject refuses them all
  refused(change(f, false, {"192.0.2.200", "127.0.0.1"}, "x"), "127.0.0.1");
  CHECK(answerOf(f, "200.2.0.192.bl.test") == "NXDOMAIN");
  // what is not listed cannot be delisted (unless --force)
  auto r = change(f, true, {"203.0.113.1"}, "x");
  CHECK_FALSE(r.ok);
  CHECK(r.errors.empty());
  REQUIRE(r.warnings.size() == 1);
  CHECK(r.warnings[0].find("is not listed in bl.test/main") != std::string::npos);
  CHECK(generation(f) == before);
  // --force: the guard's refusal becomes a warning
  r = change(f, false, {"10.0.0.0/7"}, "x", "main", true);
  CHECK(r.ok);
  CHECK(answerOf(f, "1.0.0.11.bl.test") == "127.0.0.2|x (ref T-1)|");
}

TEST_CASE("the audit trail records imports, adds, delists and expiry; expire stops serving",
          "[live][audit]") {
  Fixture f(kZone, {{"a.txt", "192.0.2.1 one\n192.0.2.2 two\n"}, {"d.txt", "198.51.100.0/24\n"}});
  f.importOk();
  auto trail = audit(f);
  REQUIRE(trail.size() == 3); // every entry of the first import
  CHECK(trail[0].action == store::ChangeRecord::Listed);
  CHECK(trail[0].source.ends_with("a.txt:1"));
  CHECK(trail[0].entry.lo4 == 0xc0000201);
  // an import that drops one line and adds another: exactly those two changes
  f.dir.write("a.txt", "192.0.2.1 one\n192.0.2.3 three\n");
  REQUIRE(zonegen::runImport(f.config(), {.dryRun = false,
                                          .force = true, // a 50% shrink of a tiny feed
                                          .progress = nullptr,
                                          .by = "importer"})
              .ok);
  trail = audit(f);
  REQUIRE(trail.size() == 5);
  CHECK(trail[3].action == store::ChangeRecord::Unlisted);
  CHECK(trail[3].entry.lo4 == 0xc0000202);
  CHECK(trail[3].by == "importer");
  CHECK(trail[4].action == store::ChangeRecord::Listed);
  CHECK(trail[4].entry.lo4 == 0xc0000203);
  CHECK(trail[4].source.ends_with("a.txt:2"));

  // add with an expiry: served until then, then `expire` removes it for good
  const int64_t now = std::time(nullptr);
  zonegen::Change c;
  c.subject = "192.0.2.50";
  c.source = "test";
  c.fields[feeds::kReason] = "short";
  c.fields[feeds::kExpires] = std::to_string(now + 100);
  zonegen::LiveOptions o;
  o.by = "alice";
  o.dataset = "main";
  o.now = now;
  REQUIRE(zonegen::applyChanges(f.config(), o, {c}).ok);
  CHECK(answerOf(f, "50.2.0.192.bl.test") == "127.0.0.2|short (ref )|");
  auto nothing = zonegen::runExpire(f.config(), "cron", now + 50);
  CHECK(nothing.done.empty());
  const auto gen = generation(f);
  auto expired = zonegen::runExpire(f.config(), "cron", now + 100);
  REQUIRE(expired.done.size() == 1);
  CHECK(expired.serials.size() == 1);
  CHECK(generation(f) == gen + 1);
  CHECK(answerOf(f, "50.2.0.192.bl.test") == "NXDOMAIN");
  trail = audit(f);
  CHECK(trail[trail.size() - 2].action == store::ChangeRecord::Added);
  CHECK(trail[trail.size() - 2].by == "alice");
  CHECK(trail.back().action == store::ChangeRecord::Expired);
  CHECK(trail.back().by == "cron");
  // nothing of it is left to replay
  store::Env env(f.store(), {.readOnly = true});
  store::Snapshot s(env);
  size_t manual = 0;
  s.forEachManual([&](uint64_t, const store::ChangeRecord&) { ++manual; });
  CHECK(manual == 0);
}

TEST_CASE("a manual change for a dataset that is gone is kept, not applied", "[live]") {
  Fixture f(kZone, {{"a.txt", "192.0.2.1 one\n"}, {"d.txt", "198.51.100.0/24\n"}});
  f.importOk();
  REQUIRE(change(f, true, {"198.51.100.7"}, "static", "dyn").ok);
  std::string zone = kZone;
  zone = zone.substr(0, zone.find("  [[zone.dataset]]\n  name = \"dyn\""));
  f.dir.write("dnsxl.toml", "[server]\nstore = \"store\"\n" + zone);
  auto r = zonegen::runImport(f.config(), {});
  REQUIRE(r.ok);
  REQUIRE(r.warnings.size() == 1);
  CHECK(r.warnings[0].find("bl.test/dyn: no such dataset any more") != std::string::npos);
}

TEST_CASE("random adds and delists: the live state is what the next import rebuilds",
          "[live][random]") {
  std::mt19937 rng(std::random_device{}());
  const auto seed = rng();
  INFO("seed " << seed);
  rng.seed(seed);
  // a small space so that ranges overlap a lot: 10.0.0.0/26 and a few names
  const std::vector<std::string> names = {"a.test", "b.a.test", "c.b.a.test", "x.test"};
  auto randomRange = [&] {
    uint32_t a = rng() % 64, b = rng() % 64;
    if (a > b) std::swap(a, b);
    return fmt::format("10.0.0.{}-10.0.0.{}", a, b);
  };
  auto randomName = [&] {
    const auto& n = names[rng() % names.size()];
    const char* scope[] = {"", "*.", "."};
    return scope[rng() % 3] + n;
  };
  std::string feed;
  for (int i = 0; i < 12; ++i)
    feed += fmt::format("{} feed{}\n", rng() % 4 ? randomRange() : randomName(), i);
  Fixture f(kZone, {{"a.txt", feed}, {"d.txt", "198.51.100.0/24\n"}});
  f.importOk();
  for (int step = 0; step < 40; ++step) {
    const bool delist = rng() % 3 == 0;
    const auto subject = rng() % 4 ? randomRange() : randomName();
    auto r = change(f, delist, {subject}, fmt::format("step{}", step), "main", true);
    INFO("step " << step << (delist ? " delist " : " add ") << subject);
    REQUIRE(r.errors.empty());
  }
  std::vector<std::string> queries;
  for (int i = 0; i < 64; ++i)
    queries.push_back(reversed(0x0a000000U + static_cast<uint32_t>(i)) + ".bl.test");
  for (const auto& n : names)
    queries.push_back(n + ".bl.test");
  queries.push_back("d.c.b.a.test.bl.test");
  std::vector<std::string> live;
  for (const auto& q : queries)
    live.push_back(answerOf(f, q));
  f.importOk();
  for (size_t i = 0; i < queries.size(); ++i) {
    INFO(queries[i] << "\nfeed:\n" << feed);
    CHECK(answerOf(f, queries[i]) == live[i]);
  }
}

TEST_CASE("a file of changes: one subject per line, its own reason, comments", "[live]") {
  test::TempDir dir;
  const auto path = dir.write("changes.txt", "# incident 42\n192.0.2.1 open relay\n\n"
                                             "  bad.test   phishing kit  \n198.51.100.0/24\n");
  std::vector<std::string> errors;
  auto changes = zonegen::readChanges(path.string(), errors);
  CHECK(errors.empty());
  REQUIRE(changes.size() == 3);
  CHECK(changes[0].subject == "192.0.2.1");
  CHECK(changes[0].fields[feeds::kReason] == "open relay");
  CHECK(changes[0].line == 2);
  CHECK(changes[1].subject == "bad.test");
  CHECK(changes[1].fields[feeds::kReason] == "phishing kit");
  CHECK(changes[2].fields[feeds::kReason].empty());
  CHECK(changes[2].source == path.string());
  zonegen::readChanges((dir / "missing.txt").string(), errors);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].find("missing.txt: cannot open the file") != std::string::npos);

  // a bad line is refused with its file:line, and nothing is written
  Fixture f(kZone, {{"a.txt", "192.0.2.0/25 feed\n"}, {"d.txt", "198.51.100.0/24\n"}});
  f.importOk();
  const auto bad = f.dir.write("bad.txt", "192.0.2.200 fine\n300.1.2.3 typo\n");
  auto list = zonegen::readChanges(bad.string(), errors);
  zonegen::LiveOptions o;
  o.dataset = "main";
  auto r = zonegen::applyChanges(f.config(), o, list);
  CHECK_FALSE(r.ok);
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].starts_with(bad.string() + ":2: "));
  CHECK(answerOf(f, "200.2.0.192.bl.test") == "NXDOMAIN");
}
