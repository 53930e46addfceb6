// The Prometheus page from known counters, and the query log's ring and lines.
#include "server/net/query_log.hh"
#include "server/ops/metrics.hh"
#include "tests/support/support.hh"

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

using namespace dnsxl;

TEST_CASE("renderMetrics: families with HELP and TYPE, the counters as given, labels escaped",
          "[metrics]") {
  ops::MetricsInput in;
  in.version = "0.1.0";
  in.now = 1800000100;
  in.startTime = 1800000000;
  answer::ZoneStats z;
  z.udp = 7;
  z.tcp = 1;
  z.rcode[0] = 5;
  z.rcode[3] = 3;
  z.qtype[0] = 6;
  z.listed = 4;
  z.unlisted = 3;
  z.datasetHits["dro\"p"] = 2;
  in.zones["bl.test"] = z;
  in.zones["*"] = z; // the total is not a zone
  in.server.transfers[{"axfr", "ok"}] = 2;
  in.server.notifySent = 3;
  in.served.push_back({"bl.test", 2026120501});
  in.lastCommit = 1800000040;
  in.storeUsedBytes = 4096;
  const auto text = ops::renderMetrics(in);
  auto has = [&](const std::string& line) {
    INFO(line);
    CHECK(text.find(line + "\n") != std::string::npos);
  };
  has("# HELP dnsxl_queries_total DNS queries received, by zone (\"\" = none of ours) and "
      "transport.");
  has("# TYPE dnsxl_queries_total counter");
  has("dnsxl_queries_total{zone=\"bl.test\",transport=\"udp\"} 7");
  has("dnsxl_queries_total{zone=\"bl.test\",transport=\"tcp\"} 1");
  has("dnsxl_responses_total{zone=\"bl.test\",rcode=\"NOERROR\"} 5");
  has("dnsxl_responses_total{zone=\"bl.test\",rcode=\"NXDOMAIN\"} 3");
  has("dnsxl_query_types_total{zone=\"bl.test\",qtype=\"A\"} 6");
  has("dnsxl_lookups_total{zone=\"bl.test\",result=\"listed\"} 4");
  has("dnsxl_dataset_hits_total{zone=\"bl.test\",dataset=\"dro\\\"p\"} 2");
  has("dnsxl_transfers_total{type=\"axfr\",result=\"ok\"} 2");
  has("dnsxl_notify_total{result=\"sent\"} 3");
  has("dnsxl_zone_serial{zone=\"bl.test\"} 2026120501");
  has("dnsxl_data_age_seconds 60");
  has("dnsxl_store_used_bytes 4096");
  has("process_start_time_seconds 1800000000");
  has("dnsxl_build_info{version=\"0.1.0\"} 1");
  CHECK(text.find("zone=\"*\"") == std::string::npos);
  CHECK(text.find("dnsxl_query_log") == std::string::npos); // no query log configured
  CHECK(ops::labelValue("a\\b\"c\nd") == "a\\\\b\\\"c\\nd");
}

TEST_CASE("the query log: lines in the order recorded, JSON or rbldnsd; a full ring drops and "
          "counts",
          "[querylog]") {
  test::TempDir dir;
  const auto query = test::makeQuery("2.0.0.127.bl.test", 1);
  std::vector<uint8_t> reply(query);
  reply[2] = 0x84; // QR AA
  reply[3] = 0x03; // NXDOMAIN
  answer::Client c;
  c.v4 = 0xc0000201;
  {
    net::QueryLog log((dir / "q.jsonl").string(), false, net::QueryLog::Format::Json, 16);
    REQUIRE(log.open());
    for (int i = 0; i < 10; ++i)
      log.record(1800000000 + i, c, answer::Transport::Tcp, query, reply);
  } // the destructor writes what waits
  std::ifstream in(dir / "q.jsonl");
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);)
    lines.push_back(l);
  REQUIRE(lines.size() == 10);
  CHECK(lines[0] == "{\"time\":1800000000,\"client\":\"192.0.2.1\",\"transport\":\"tcp\","
                    "\"qname\":\"2.0.0.127.bl.test\",\"qtype\":\"A\",\"qclass\":\"IN\","
                    "\"rcode\":\"NXDOMAIN\",\"answers\":0,\"size\":" +
                        std::to_string(reply.size()) + ",\"tc\":false}");
  CHECK(lines[9].rfind("{\"time\":1800000009,", 0) == 0);

  // a ring of 16 lines that nobody writes (not opened): the 17th is dropped
  net::QueryLog stuck((dir / "never").string(), false, net::QueryLog::Format::Rbldnsd, 16);
  for (int i = 0; i < 20; ++i)
    stuck.record(1800000000, c, answer::Transport::Udp, query, reply);
  CHECK(stuck.dropped() == 4);
}
