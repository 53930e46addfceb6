// The public lookup (dnsxl web) without the network: the JSON API for a listed, an unlisted and
// a malformed subject and past the rate limit; the HTML page escapes what feeds say and never
// shows a feed file. Parsed with nlohmann::json, an independent JSON reader.
#include "tests/support/fixture.hh"
#include "zonegen/web.hh"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace dnsxl;
using Clock = std::chrono::steady_clock;

namespace {

const char* kConfig = R"toml(
[web]
listen = ["127.0.0.1:0"]
title = "Example <DNSBL>"
contact = "abuse@example.org"
rate_per_minute = 5
fields = ["reason", "ref", "listed", "delist"]

[[zone]]
name = "bl.example.org"
ns = ["ns1.example.org"]
  [[zone.dataset]]
  name = "reports"
  format = "csv"
  files = ["feed.csv"]
  header = true
  fields = { subject = "ip", reason = "reason", ref = "ref", listed = "listed", evidence = "evidence", delist = "delist" }
  txt = "{reason} (ref {ref})"

[[zone]]
name = "dbl.example.org"
ns = ["ns1.example.org"]
  [[zone.dataset]]
  name = "domains"
  format = "dnset"
  files = ["domains.txt"]
)toml";

const char* kFeed = "ip,reason,ref,listed,evidence,delist\n"
                    "192.0.2.7,Spam trap hits <script>x</script>,SR-1,2026-11-20,"
                    "https://evidence.example/1,https://example.org/delist?ip=192.0.2.7\n"
                    "198.51.100.0/24,Snowshoe range,SR-2,2026-11-21,,\n";

struct Site {
  test::Fixture f{kConfig,
                  {{"feed.csv", kFeed}, {"domains.txt", "*.bad.example :127.0.1.2:Phishing\n"}}};
  config::Config cfg;
  std::unique_ptr<store::Env> env;
  std::unique_ptr<zonegen::WebSite> site;
  Clock::time_point t = Clock::now();
  Site() {
    f.importOk();
    cfg = f.config();
    env = std::make_unique<store::Env>(f.store(), store::Env::Options{.readOnly = true});
    site = std::make_unique<zonegen::WebSite>(cfg, *env);
  }
  zonegen::WebResponse get(const std::string& target, const std::string& client = "192.0.2.50") {
    t += std::chrono::seconds(20); // under the rate limit unless a test says otherwise
    return site->get(target, client, t);
  }
};

} // namespace

TEST_CASE("web API: a listed address, with its public fields only", "[web]") {
  Site s;
  auto r = s.get("/v1/lookup?q=192.0.2.7");
  REQUIRE(r.status == 200);
  CHECK(r.contentType == "application/json");
  auto j = nlohmann::json::parse(r.body);
  CHECK(j["query"] == "192.0.2.7");
  CHECK(j["listed"] == true);
  REQUIRE(j["zones"].size() == 2);
  const auto& z = j["zones"][0];
  CHECK(z["zone"] == "bl.example.org");
  CHECK(z["listed"] == true);
  CHECK(z["a"] == nlohmann::json::array({"127.0.0.2"}));
  CHECK(z["txt"] == nlohmann::json::array({"Spam trap hits <script>x</script> (ref SR-1)"}));
  REQUIRE(z["entries"].size() == 1);
  const auto& e = z["entries"][0];
  CHECK(e["entry"] == "192.0.2.7");
  CHECK(e["dataset"] == "reports");
  CHECK(e["fields"]["reason"] == "Spam trap hits <script>x</script>");
  CHECK(e["fields"]["ref"] == "SR-1");
  CHECK(e["fields"]["delist"] == "https://example.org/delist?ip=192.0.2.7");
  CHECK_FALSE(e["fields"].contains("evidence"));       // not among the public fields
  CHECK(r.body.find("feed.csv") == std::string::npos); // never where it came from
  CHECK(j["zones"][1]["listed"] == false);
  // a range's entry; a domain below a wildcard
  j = nlohmann::json::parse(s.get("/v1/lookup?q=198.51.100.77").body);
  CHECK(j["zones"][0]["entries"][0]["entry"] == "198.51.100.0-198.51.100.255");
  j = nlohmann::json::parse(s.get("/v1/lookup?q=WWW.Bad.Example.").body); // tidied
  CHECK(j["query"] == "www.bad.example");
  CHECK(j["zones"][1]["listed"] == true);
  CHECK(j["zones"][1]["txt"] == nlohmann::json::array({"Phishing"}));
}

TEST_CASE("web API: unlisted, malformed, missing, too long; never a 500", "[web]") {
  Site s;
  auto j = nlohmann::json::parse(s.get("/v1/lookup?q=203.0.113.9").body);
  CHECK(j["listed"] == false);
  CHECK(j["zones"][0]["listed"] == false);
  CHECK(j["zones"][0]["entries"].empty());
  for (const char* q : {"999.1.1.1", "exa_mple..com", "%3Cscript%3E", "", "a%20b"}) {
    auto r = s.get(std::string("/v1/lookup?q=") + q);
    INFO(q);
    CHECK(r.status == 400);
    auto e = nlohmann::json::parse(r.body);
    CHECK(e.contains("error"));
    CHECK_FALSE(e["error"].get<std::string>().empty());
  }
  CHECK(s.get("/v1/lookup").status == 400);
  CHECK(s.get("/v1/lookup?q=" + std::string(300, 'a')).status == 400);
  CHECK(s.get("/admin").status == 404);
}

TEST_CASE("web: lookups past the rate limit get 429 with Retry-After, per client", "[web]") {
  Site s;
  const auto t0 = Clock::now();
  for (int i = 0; i < 5; ++i)
    CHECK(s.site->get("/v1/lookup?q=192.0.2.7", "203.0.113.1", t0).status == 200);
  auto r = s.site->get("/v1/lookup?q=192.0.2.7", "203.0.113.1", t0);
  CHECK(r.status == 429);
  CHECK(r.retryAfter == 12); // 5 a minute: one more in 12 s
  CHECK(nlohmann::json::parse(r.body)["error"] ==
        "Too many lookups from your address: try again in 12 s.");
  CHECK(s.site->get("/v1/lookup?q=192.0.2.7", "203.0.113.2", t0).status == 200); // another
  // an IPv6 client's /64 is one client
  for (int i = 0; i < 5; ++i)
    s.site->get("/v1/lookup?q=192.0.2.7", "2001:db8::" + std::to_string(i + 1), t0);
  CHECK(s.site->get("/v1/lookup?q=192.0.2.7", "2001:db8::99", t0).status == 429);
  CHECK(s.site->get("/?q=192.0.2.7", "203.0.113.1", t0 + std::chrono::seconds(13)).status == 200);
}

TEST_CASE("web page: the form, the result with reasons escaped and the delisting link", "[web]") {
  Site s;
  auto form = s.get("/");
  CHECK(form.status == 200);
  CHECK(form.contentType == "text/html; charset=utf-8");
  CHECK(form.body.find("<title>Example &lt;DNSBL&gt;</title>") != std::string::npos);
  CHECK(form.body.find("<label for=\"q\">") != std::string::npos);
  CHECK(form.body.find("<script") == std::string::npos); // works without script
  auto r = s.get("/?q=192.0.2.7");
  CHECK(r.status == 200);
  CHECK(r.body.find("Spam trap hits &lt;script&gt;x&lt;/script&gt;") != std::string::npos);
  CHECK(r.body.find("<script>x") == std::string::npos);
  CHECK(r.body.find("<a href=\"https://example.org/delist?ip=192.0.2.7\">") != std::string::npos);
  CHECK(r.body.find("abuse@example.org") != std::string::npos);
  CHECK(r.body.find("feed.csv") == std::string::npos);
  auto bad = s.get("/?q=%22%3E%3Cb%3E");
  CHECK(bad.status == 400);
  CHECK(bad.body.find("<p role=\"alert\">") != std::string::npos);
  CHECK(bad.body.find("\"><b>") == std::string::npos); // the input is escaped everywhere
  CHECK(bad.body.find("value=\"&quot;&gt;&lt;b&gt;\"") != std::string::npos);
}
