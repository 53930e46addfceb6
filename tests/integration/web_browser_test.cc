// The listed party's door end to end, driven in a real browser: Debian's headless Chromium through
// chromedriver (WebDriver, W3C), against `dnsxl web` and `dnsxld` on one fresh store. Look up a
// listed address, read the reason, file a removal request, give the code the abuse contact got
// (the mail command keeps the mail in a file), the operator approves it, and the very next DNS
// answer and page load both say it is delisted. Screenshots are kept in the build tree
// (artifacts/), the lookup's one is the README's.
#include "tests/support/fixture.hh"

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

using namespace dnsxl;
using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

std::string base64Decode(const std::string& in) {
  static const std::string abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    const auto v = abc.find(c);
    if (v == std::string::npos) continue; // '=', line breaks
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

// A WebDriver session in headless Chromium.
class Browser {
public:
  Browser(const std::filesystem::path& profile)
      : d_port(test::freePort()),
        d_driver({"/usr/bin/chromedriver", fmt::format("--port={}", d_port)}) {
    for (int i = 0; i < 100 && test::httpGet(d_port, "/status").status != 200; ++i)
      std::this_thread::sleep_for(50ms);
    const json caps = {
        {"capabilities",
         {{"alwaysMatch",
           {{"browserName", "chrome"},
            {"goog:chromeOptions",
             {{"binary", "/usr/bin/chromium"},
              {"args",
               {"--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=900,1000", "--user-data-dir=" + profile.string()}}}}}}}}};
    auto r = call("POST", "/session", caps);
    d_session = r["sessionId"].get<std::string>();
  }
  ~Browser() {
    if (!d_session.empty()) test::httpRequest(d_port, "DELETE", "/session/" + d_session, "", "");
  }
  void go(const std::string& url) { call("POST", path("/url"), {{"url", url}}); }
  std::string find(const std::string& css) {
    for (int i = 0;; ++i) {
      auto r = test::httpRequest(d_port, "POST", path("/element"),
                                 json{{"using", "css selector"}, {"value", css}}.dump(),
                                 "application/json");
      if (r.status == 200)
        return json::parse(r.body)["value"]["element-6066-11e4-a52e-4f735466cecf"];
      if (i == 50) FAIL("no element " << css << " on " << url() << ": " << r.body);
      std::this_thread::sleep_for(100ms);
    }
  }
  void type(const std::string& css, const std::string& text) {
    call("POST", path("/element/" + find(css) + "/value"), {{"text", text}});
  }
  void click(const std::string& css) {
    call("POST", path("/element/" + find(css) + "/click"), json::object());
  }
  std::string text(const std::string& css) {
    return call("GET", path("/element/" + find(css) + "/text"));
  }
  std::string url() { return call("GET", path("/url")); }
  void screenshot(const std::string& name) {
    const auto dir = std::filesystem::path(DNSXL_ARTIFACT_DIR);
    std::filesystem::create_directories(dir);
    std::ofstream(dir / name, std::ios::binary)
        << base64Decode(call("GET", path("/screenshot")).get<std::string>());
  }

private:
  std::string path(const std::string& rest) const { return "/session/" + d_session + rest; }
  json call(const std::string& method, const std::string& where, const json& body = nullptr) {
    auto r = test::httpRequest(d_port, method, where, body.is_null() ? "" : body.dump(),
                               body.is_null() ? "" : "application/json");
    INFO(method << " " << where << ": " << r.body);
    REQUIRE(r.status == 200);
    auto j = json::parse(r.body);
    return j["value"];
  }
  uint16_t d_port;
  test::Process d_driver;
  std::string d_session;
};

std::string readFile(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

} // namespace

TEST_CASE("in Chromium: look up a listed address, file a removal request, confirm it with the "
          "mailed code; approved, DNS and the page show it delisted at once",
          "[web][browser]") {
  test::TempDir mail;
  const auto mailFile = mail.path() / "mail";
  test::Fixture f(
      fmt::format(
          "[web]\nlisten = [\"127.0.0.1:0\"]\ntitle = \"Example DNSBL\"\n"
          "contact = \"dnsbl@example.org\"\nmail_command = [\"sh\", \"-c\", \"cat >> '{}'\"]\n"
          "[web.abuse_contacts]\n\"192.0.2.0/24\" = \"abuse@example.net\"\n"
          "[[zone]]\nname = \"bl.example.org\"\nns = [\"ns1.example.org\"]\n"
          "  [[zone.dataset]]\n  name = \"reports\"\n  format = \"csv\"\n  files = [\"r.csv\"]\n"
          "  header = true\n  fields = {{ subject = \"ip\", reason = \"reason\", ref = \"ref\", "
          "listed = \"listed\" }}\n  txt = \"{{reason}} (ref {{ref}})\"\n",
          mailFile.string()),
      {{"r.csv", "ip,reason,ref,listed\n192.0.2.7,Spam trap hits from an infected host,SR-1042,"
                 "2026-11-20\n198.51.100.0/24,Snowshoe range,SR-7,2026-11-21\n"}});
  f.importOk();
  test::Daemon dns(f.configPath);
  auto web =
      test::Daemon::program({test::dnsxlBinary(), "web", "--config", f.configPath.string()}, 1);
  const auto base = fmt::format("http://127.0.0.1:{}", web->port());
  REQUIRE(test::udpQuery(dns.port(), "7.2.0.192.bl.example.org", 1).rcode == 0);

  Browser b(f.dir / "chromium-profile");
  // the listed party looks up its address and sees why
  b.go(base + "/");
  b.type("#q", "192.0.2.7");
  b.click("form[role=search] button");
  CHECK(b.text("h2") == "192.0.2.7: listed");
  CHECK(b.text("section").find("Why: Spam trap hits from an infected host (ref SR-1042)") !=
        std::string::npos);
  b.screenshot("web-lookup-listed.png");
  // and files a request; it is not on 192.0.2.0/24: a code goes to the abuse contact
  CHECK(b.text("#ask + p").find("a code will be mailed to abuse@example.net") != std::string::npos);
  b.type("#contact", "postmaster@example.net");
  b.type("#text", "The infected host was cleaned and its mail now goes through our relay.");
  b.click("form.request button");
  CHECK(b.text("#state") == "unconfirmed");
  CHECK(b.url().find("/request/1?key=") != std::string::npos);
  const auto mailText = readFile(mailFile);
  const auto at = mailText.find("page:\n\n    ");
  REQUIRE(at != std::string::npos);
  b.type("#code", mailText.substr(at + 11, 10));
  b.click("form.request button");
  CHECK(b.text("#state") == "open");
  b.screenshot("web-request-open.png");
  const auto requestUrl = b.url();

  // the operator approves it
  auto listed = test::run({test::dnsxlBinary(), "requests", "-c", f.configPath.string()});
  CHECK(listed.out.find("#1  open") != std::string::npos);
  REQUIRE(test::run({test::dnsxlBinary(), "requests", "approve", "1", "-c", f.configPath.string(),
                     "--reason", "host cleaned"})
              .status == 0);
  // the very next DNS answer and the next page load show it: no waiting, no retry in between
  // (how long that takes is the machine's business, not an assertion)
  CHECK(test::udpQuery(dns.port(), "7.2.0.192.bl.example.org", 1).rcode == 3);
  b.go(requestUrl);
  CHECK(b.text("#state") == "approved");
  CHECK(b.text("main").find("192.0.2.7 is delisted") != std::string::npos);
  b.screenshot("web-request-approved.png");
  b.go(base + "/?q=192.0.2.7");
  CHECK(b.text("h2") == "192.0.2.7: not listed");
  CHECK(test::udpQuery(dns.port(), "9.100.51.198.bl.example.org", 1).rcode == 0); // only it
  CHECK(web->stop() == 0);
}
