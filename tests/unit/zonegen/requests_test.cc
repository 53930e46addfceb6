// Removal requests on `dnsxl web` without the network: filing from the subject's network (open at
// once) or with the code mailed to the abuse contact (the mail command is a shell that keeps the
// mail in a file), the throttles, bad input (never a 500, everything echoed escaped), the status
// page's key, and the operator's approve (the subject delisted, the request as reason in the
// audit trail) and deny (the reason shown to the requester). The requests store on its own.
#include "store/requests.hh"
#include "tests/support/fixture.hh"
#include "zonegen/requests.hh"
#include "zonegen/web.hh"
#include "zonegen/why.hh"

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

using namespace dnsxl;
using Clock = std::chrono::steady_clock;
using store::RequestRecord;

namespace {

const char* kZones = R"toml(
[[zone]]
name = "bl.example.org"
ns = ["ns1.example.org"]
  [[zone.dataset]]
  name = "reports"
  format = "csv"
  files = ["feed.csv"]
  header = true
  fields = { subject = "ip", reason = "reason" }
  txt = "{reason}"

[[zone]]
name = "dbl.example.org"
ns = ["ns1.example.org"]
  [[zone.dataset]]
  name = "domains"
  format = "dnset"
  files = ["domains.txt"]
)toml";

struct Desk {
  test::TempDir mailDir;
  test::Fixture f;
  config::Config cfg;
  std::unique_ptr<store::Env> env;
  std::unique_ptr<zonegen::WebSite> site;
  Clock::time_point t = Clock::now();
  int64_t wall = 1796500000;

  explicit Desk(const std::string& web = "")
      : f(fmt::format("[web]\nlisten = [\"127.0.0.1:0\"]\ncontact = \"dnsbl@example.org\"\n"
                      "rate_per_minute = 1000\nmail_command = [\"sh\", \"-c\", \"cat >> '{}'\"]\n"
                      "{}\n[web.abuse_contacts]\n\"198.51.100.0/25\" = \"noc@example.net\"\n"
                      "\"198.51.100.0/24\" = \"abuse@example.net\"\n{}",
                      (mailDir.path() / "mail").string(), web, kZones),
          {{"feed.csv", "ip,reason\n192.0.2.7,Spam trap hits\n198.51.100.0/24,Snowshoe\n"},
           {"domains.txt", "*.bad.example\n"}}) {
    f.importOk();
    cfg = f.config();
    env = std::make_unique<store::Env>(f.store(), store::Env::Options{.readOnly = true});
    site = std::make_unique<zonegen::WebSite>(cfg, *env);
  }
  zonegen::WebResponse post(const std::string& target, const std::string& body,
                            const std::string& client) {
    t += std::chrono::seconds(1);
    return site->post(target, "application/x-www-form-urlencoded", body, client, t, wall);
  }
  zonegen::WebResponse get(const std::string& target, const std::string& client = "192.0.2.99") {
    t += std::chrono::seconds(1);
    return site->get(target, client, t);
  }
  zonegen::WebResponse file(const std::string& subject, const std::string& client,
                            const std::string& contact = "me%40example.com",
                            const std::string& text = "Cleaned+the+host.") {
    return post("/request", "subject=" + subject + "&contact=" + contact + "&text=" + text, client);
  }
  std::string mail() const {
    std::ifstream in(mailDir.path() / "mail");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  std::vector<RequestRecord> requests() const {
    return store::RequestStore(zonegen::requestsPath(cfg), true).all();
  }
  bool listed(const std::string& subject) const {
    store::Env e(f.store(), {.readOnly = true});
    store::Snapshot snap(e);
    std::string error;
    return zonegen::publicLookup(snap, subject, {}, error)->listed;
  }
};

// "/request/3?key=abc" -> the key
std::string keyOf(const std::string& location) {
  return location.substr(location.find("key=") + 4);
}

} // namespace

TEST_CASE("requests: stored records survive a round trip; ids follow; admit refuses",
          "[requests]") {
  test::TempDir dir;
  store::RequestStore rs(dir.path() / "requests.mdb");
  RequestRecord r;
  r.filed = 100;
  r.subject = "192.0.2.7";
  r.contact = "me@example.com";
  r.text = "line one\nline two";
  r.events.push_back({100, "filed", "web 192.0.2.8"});
  std::string refusal;
  auto admitAll = [](const std::vector<RequestRecord>&) { return std::string(); };
  CHECK(rs.add(r, admitAll, refusal) == 1u);
  CHECK(rs.add(r, admitAll, refusal) == 2u);
  CHECK_FALSE(rs.add(
      r, [](const auto& all) { return all.size() == 2 ? "full" : ""; }, refusal));
  CHECK(refusal == "full");
  CHECK(rs.update(2, [](RequestRecord& x) {
    x.state = RequestRecord::Denied;
    x.decision = "no";
    return true;
  }));
  CHECK_FALSE(rs.update(9, [](RequestRecord&) { return true; }));
  const auto all = rs.all();
  REQUIRE(all.size() == 2);
  CHECK(all[0].id == 1);
  CHECK(all[0].text == r.text);
  CHECK(all[0].events.size() == 1);
  CHECK(all[0].events[0].by == "web 192.0.2.8");
  CHECK(all[1].state == RequestRecord::Denied);
  CHECK(rs.get(2)->decision == "no");
  CHECK_FALSE(rs.get(3));
  CHECK(store::decodeRequest(store::encodeRequest(all[1])).decision == "no");
  CHECK_THROWS_AS(store::decodeRequest("\x09garbage"), store::StoreError);
}

TEST_CASE("requests: from the subject's /24 a request is open at once; its page needs the key",
          "[requests]") {
  Desk d;
  auto form = d.get("/?q=192.0.2.7", "192.0.2.200");
  CHECK(form.body.find("<form class=\"request\" method=\"post\" action=\"/request\">") !=
        std::string::npos);
  CHECK(form.body.find("from 192.0.2.0/24, 192.0.2.7's network") != std::string::npos);
  auto r = d.file("192.0.2.7", "192.0.2.200");
  REQUIRE(r.status == 303);
  CHECK(r.location.starts_with("/request/1?key="));
  CHECK(d.mail().empty()); // no code needed
  auto page = d.get(r.location);
  CHECK(page.status == 200);
  CHECK(page.body.find("<strong id=\"state\">open</strong>") != std::string::npos);
  CHECK(page.body.find("Cleaned the host.") != std::string::npos);
  CHECK(page.body.find("me@example.com") == std::string::npos); // the contact is not shown
  CHECK(d.get("/request/1?key=guess").status == 404);
  CHECK(d.get("/request/1").status == 404);
  CHECK(d.get("/request/2?key=" + keyOf(r.location)).status == 404);
  auto j = nlohmann::json::parse(d.get("/v1/request/1?key=" + keyOf(r.location)).body);
  CHECK(j["state"] == "open");
  CHECK(j["proof"] == "sent from 192.0.2.0/24");
  const auto all = d.requests();
  REQUIRE(all.size() == 1);
  CHECK(all[0].client == "192.0.2.200");
  CHECK(all[0].contact == "me@example.com");
  CHECK(all[0].events.front().what == "filed (sent from 192.0.2.0/24)");
}

TEST_CASE("requests: from elsewhere, a code goes to the abuse contact; wrong codes are counted",
          "[requests]") {
  Desk d;
  // no abuse contact for 192.0.2.0/24: only its network can ask
  auto none = d.file("192.0.2.7", "203.0.113.5");
  CHECK(none.status == 403);
  CHECK(none.body.find("has to be sent from its own network") != std::string::npos);
  CHECK(d.get("/?q=192.0.2.7", "203.0.113.5").body.find("action=\"/request\"") ==
        std::string::npos); // no form offered
  // the longest prefix's contact
  auto r = d.file("198.51.100.9", "203.0.113.5");
  REQUIRE(r.status == 303);
  const auto mail = d.mail();
  CHECK(mail.find("To: noc@example.net\n") != std::string::npos);
  CHECK(mail.find("Subject: DNSBL lookup: removal request #1 for 198.51.100.9") !=
        std::string::npos);
  CHECK(mail.find("  > Cleaned the host.") != std::string::npos);
  const auto at = mail.find("page:\n\n    ") + 11;
  const auto code = mail.substr(at, 10);
  const auto key = keyOf(r.location);
  CHECK(d.get(r.location).body.find("<strong id=\"state\">unconfirmed</strong>") !=
        std::string::npos);
  auto wrong = d.post("/request/1/confirm", "key=" + key + "&code=AAAAAAAAAA", "203.0.113.5");
  CHECK(wrong.status == 400);
  CHECK(wrong.body.find("That is not the code (4 tries left).") != std::string::npos);
  CHECK(d.post("/request/1/confirm", "key=wrong&code=" + code, "203.0.113.5").status == 404);
  // typed in lower case with a blank: still the code
  std::string typed = code.substr(0, 5) + "+" + code.substr(5);
  for (auto& c : typed)
    c = static_cast<char>(std::tolower(c));
  auto ok = d.post("/request/1/confirm", "key=" + key + "&code=" + typed, "203.0.113.5");
  CHECK(ok.status == 303);
  CHECK(d.get(r.location).body.find("<strong id=\"state\">open</strong>") != std::string::npos);
  CHECK(d.post("/request/1/confirm", "key=" + key + "&code=" + code, "203.0.113.5").status ==
        400); // nothing left to confirm
  // five wrong codes close a request
  d.wall += 3 * 86400;
  auto r2 = d.file("www.bad.example", "203.0.113.5");
  REQUIRE(r2.status == 303);
  CHECK(d.mail().find("To: abuse@bad.example\n") != std::string::npos); // RFC 2142
  for (int i = 0; i < 5; ++i)
    d.post("/request/2/confirm", "key=" + keyOf(r2.location) + "&code=X", "203.0.113.5");
  CHECK(d.requests()[1].state == RequestRecord::Denied);
  CHECK(d.requests()[1].decision == "too many wrong codes");
}

TEST_CASE("requests: one waiting per subject, few a day per subject and per client; lapsing",
          "[requests]") {
  Desk d("requests_per_subject_per_day = 2\nrequests_per_client_per_day = 3");
  REQUIRE(d.file("198.51.100.9", "203.0.113.5").status == 303); // unconfirmed, waits for a code
  auto again = d.file("198.51.100.9", "198.51.100.20");
  CHECK(again.status == 409);
  CHECK(again.body.find("already waiting (#1") != std::string::npos);
  d.wall += zonegen::kCodeLifetime; // #1 lapses: the subject may be asked for again
  REQUIRE(d.file("198.51.100.9", "198.51.100.20").status == 303); // #2, open at once
  REQUIRE(zonegen::requestsCommand(d.cfg, {"deny", 2, "not yet", "op", false, false, false}) == 0);
  REQUIRE(d.file("198.51.100.9", "198.51.100.20").status == 303); // #3
  REQUIRE(zonegen::requestsCommand(d.cfg, {"deny", 3, "not yet", "op", false, false, false}) == 0);
  auto third = d.file("198.51.100.9", "198.51.100.20");
  CHECK(third.status == 429);
  CHECK(third.body.find("2 removal requests for 198.51.100.9 in the last 24 hours") !=
        std::string::npos);
  // per client: 198.51.100.20 filed #2 and #3; one more, then refused
  CHECK(d.file("198.51.100.10", "198.51.100.20").status == 303);
  auto fourth = d.file("198.51.100.11", "198.51.100.20");
  CHECK(fourth.status == 429);
  CHECK(fourth.body.find("from your address") != std::string::npos);
  CHECK(d.requests().size() == 4);
  d.wall += 86400; // a day later
  CHECK(d.file("198.51.100.11", "198.51.100.20").status == 303);
}

TEST_CASE("requests: bad input gets a clear message, escaped, and stores nothing", "[requests]") {
  Desk d;
  struct Bad {
    std::string body;
    unsigned status;
    std::string says;
  };
  const std::string ok = "&contact=me%40example.com&text=fixed";
  const std::vector<Bad> bad = {
      {"subject=192.0.2.7&contact=not-an-address&text=x", 400, "Give a mail address"},
      {"subject=192.0.2.7&contact=a%40b%0D%0ABcc%3Ax%40y.z&text=x", 400, "Give a mail address"},
      {"subject=192.0.2.7&contact=me%40example.com&text=", 400, "Say in up to 2000"},
      {"subject=192.0.2.7&contact=me%40example.com&text=" + std::string(2001, 'x'), 400,
       "Say in up to 2000"},
      {"subject=192.0.2.7&contact=me%40example.com&text=a%00b", 400, "Say in up to 2000"},
      {"subject=192.0.2.7&contact=me%40example.com&text=%FF%FE", 400, "Say in up to 2000"},
      {"subject=203.0.113.9" + ok, 400, "203.0.113.9 is not listed"},
      {"subject=%3Cb%3Ex" + ok, 400, "&lt;b&gt;x"},
      {"subject=999.1.1.1" + ok, 400, "is not an IPv4 address"},
      {"contact=me%40example.com&text=x", 400, "Give the IP address or domain name"},
  };
  for (const auto& b : bad) {
    INFO(b.body);
    auto r = d.post("/request", b.body, "192.0.2.1");
    CHECK(r.status == b.status);
    CHECK(r.body.find(b.says) != std::string::npos);
    CHECK(r.body.find("<b>x") == std::string::npos);
  }
  // the form comes back filled in (escaped) when the subject is listed
  auto r = d.post("/request", "subject=192.0.2.7&contact=x&text=%3Ci%3Ehi", "192.0.2.1");
  CHECK(r.body.find("required>&lt;i&gt;hi</textarea>") != std::string::npos);
  CHECK(d.site->post("/request", "text/plain", "subject=192.0.2.7", "192.0.2.1", d.t, d.wall)
            .status == 415);
  CHECK(d.post("/elsewhere", ok, "192.0.2.1").status == 404);
  CHECK(d.post("/request/x/confirm", "key=a&code=b", "192.0.2.1").status == 404);
  CHECK(d.post("/request/77/confirm", "key=a&code=b", "192.0.2.1").status == 404);
  CHECK(d.requests().empty());
}

TEST_CASE("requests: approve delists wherever listed, with the request as reason; deny says why",
          "[requests]") {
  Desk d;
  auto r = d.file("192.0.2.7", "192.0.2.200");
  REQUIRE(r.status == 303);
  REQUIRE(d.listed("192.0.2.7"));
  zonegen::RequestsArgs a{"approve", 1, "host cleaned", "alice", false, false, false};
  REQUIRE(zonegen::requestsCommand(d.cfg, a) == 0);
  CHECK_FALSE(d.listed("192.0.2.7"));
  CHECK(d.listed("198.51.100.9")); // nothing else
  auto page = d.get(r.location);
  CHECK(page.body.find("<strong id=\"state\">approved</strong>: 192.0.2.7 is delisted") !=
        std::string::npos);
  const auto rec = d.requests()[0];
  CHECK(rec.decidedBy == "alice");
  CHECK(rec.events.back().what ==
        "approved: host cleaned (delisted 192.0.2.7 in bl.example.org/reports)");
  // the audit trail has the delisting with the request as its reason
  bool audited = false;
  {
    store::Env e(d.f.store(), {.readOnly = true});
    store::Snapshot snap(e);
    snap.forEachAudit([&](uint64_t, const store::ChangeRecord& c) {
      audited = audited || (c.action == store::ChangeRecord::Delisted &&
                            c.source == "removal request #1" && c.by == "alice" &&
                            c.entry.fields[feeds::kReason] == "removal request #1: host cleaned");
    });
  }
  CHECK(audited);
  CHECK(zonegen::requestsCommand(d.cfg, a) == 1); // decided already
  // a request from elsewhere: deny with a reason, shown on its page
  auto r2 = d.file("198.51.100.9", "198.51.100.1");
  REQUIRE(r2.status == 303);
  CHECK(zonegen::requestsCommand(
            d.cfg, {"deny", 2, "still sending spam", "bob", false, false, false}) == 0);
  CHECK(d.get(r2.location).body.find("not delisted: still sending spam") != std::string::npos);
  CHECK(d.listed("198.51.100.9"));
  CHECK(zonegen::requestsCommand(d.cfg, {"approve", 9, "", "x", false, false, false}) == 1);
  // no requests file yet: nothing is created by the operator's command (the web's user owns it)
  auto cfg = d.cfg;
  cfg.web.requestsFile = d.mailDir.path() / "none.mdb";
  CHECK(zonegen::requestsCommand(cfg, {"approve", 1, "", "x", false, false, false}) == 1);
  CHECK(zonegen::requestsCommand(cfg, {"", 0, "", "x", false, false, false}) == 0);
  CHECK_FALSE(std::filesystem::exists(cfg.web.requestsFile));
}
