#include "server/ops/metrics.hh"

#include <fmt/format.h>

namespace dnsxl::ops {

std::string labelValue(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

namespace {

constexpr const char* kRcodeNames[16] = {
    "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",  "NOTIMP",  "REFUSED", "YXDOMAIN", "YXRRSET",
    "NXRRSET", "NOTAUTH", "NOTZONE",  "DSOTYPENI", "RCODE12", "RCODE13", "RCODE14",  "RCODE15"};

class Out {
public:
  void family(std::string_view name, std::string_view type, std::string_view help) {
    d_text += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  }
  void sample(std::string_view name, std::string_view labels, uint64_t v) {
    d_text += labels.empty() ? fmt::format("{} {}\n", name, v)
                             : fmt::format("{}{{{}}} {}\n", name, labels, v);
  }
  void sample(std::string_view name, std::string_view labels, int64_t v) {
    d_text += labels.empty() ? fmt::format("{} {}\n", name, v)
                             : fmt::format("{}{{{}}} {}\n", name, labels, v);
  }
  std::string take() { return std::move(d_text); }

private:
  std::string d_text;
};

// The zone label: "" is the queries of no zone of ours (REFUSED, CH, FORMERR before a zone).
std::string zoneLabel(const std::string& zone) {
  return fmt::format("zone=\"{}\"", labelValue(zone));
}

void queryFamilies(Out& o, const std::map<std::string, answer::ZoneStats>& zones) {
  auto each = [&](auto f) {
    for (const auto& [name, s] : zones)
      if (name != "*") f(zoneLabel(name), s);
  };
  o.family("dnsxl_queries_total", "counter",
           "DNS queries received, by zone (\"\" = none of ours) and transport.");
  each([&](const std::string& z, const answer::ZoneStats& s) {
    o.sample("dnsxl_queries_total", z + ",transport=\"udp\"", s.udp);
    o.sample("dnsxl_queries_total", z + ",transport=\"tcp\"", s.tcp);
  });
  o.family("dnsxl_query_types_total", "counter", "DNS queries by zone and query type.");
  each([&](const std::string& z, const answer::ZoneStats& s) {
    for (size_t i = 0; i < s.qtype.size(); ++i)
      if (s.qtype[i] || i < 2)
        o.sample("dnsxl_query_types_total",
                 fmt::format("{},qtype=\"{}\"", z, answer::kCountedTypeNames[i]), s.qtype[i]);
  });
  o.family("dnsxl_responses_total", "counter", "Replies sent, by zone and RCODE.");
  each([&](const std::string& z, const answer::ZoneStats& s) {
    for (size_t i = 0; i < s.rcode.size(); ++i)
      if (s.rcode[i] || i == 0 || i == 3)
        o.sample("dnsxl_responses_total", fmt::format("{},rcode=\"{}\"", z, kRcodeNames[i]),
                 s.rcode[i]);
  });
  o.family("dnsxl_lookups_total", "counter",
           "Names below a zone's apex looked up in its lists: listed (an answer from the data) "
           "or not (NXDOMAIN or NODATA).");
  each([&](const std::string& z, const answer::ZoneStats& s) {
    o.sample("dnsxl_lookups_total", z + ",result=\"listed\"", s.listed);
    o.sample("dnsxl_lookups_total", z + ",result=\"unlisted\"", s.unlisted);
  });
  o.family("dnsxl_dataset_hits_total", "counter",
           "Answers a dataset listed the name in, by zone and dataset.");
  each([&](const std::string& z, const answer::ZoneStats& s) {
    for (const auto& [ds, n] : s.datasetHits)
      o.sample("dnsxl_dataset_hits_total", fmt::format("{},dataset=\"{}\"", z, labelValue(ds)), n);
  });
  o.family("dnsxl_truncated_total", "counter", "UDP replies sent with TC (too large).");
  each([&](const std::string& z, const answer::ZoneStats& s) {
    o.sample("dnsxl_truncated_total", z, s.truncated);
  });
  o.family("dnsxl_dropped_total", "counter",
           "Queries that got no reply (not a DNS query, or an acl's ignore).");
  each([&](const std::string& z, const answer::ZoneStats& s) {
    o.sample("dnsxl_dropped_total", z, s.dropped);
  });
  o.family("dnsxl_access_total", "counter",
           "Queries a [[zone.access]] rule applied to, by zone and the rule's action.");
  each([&](const std::string& z, const answer::ZoneStats& s) {
    for (size_t i = 0; i < s.access.size(); ++i)
      if (s.access[i] != 0)
        o.sample("dnsxl_access_total",
                 fmt::format("{},action=\"{}\"", z, answer::kAccessActionNames[i]), s.access[i]);
  });
  o.family("dnsxl_key_queries_total", "counter",
           "Queries of a keyed zone by their key: ok, unknown (or revoked), over_quota.");
  each([&](const std::string& z, const answer::ZoneStats& s) {
    for (size_t i = 0; i < s.keys.size(); ++i)
      if (s.keys[i] != 0)
        o.sample("dnsxl_key_queries_total",
                 fmt::format("{},result=\"{}\"", z, answer::kKeyResultNames[i]), s.keys[i]);
  });
  o.family("dnsxl_request_bytes_total", "counter", "Bytes of DNS queries received.");
  each([&](const std::string& z, const answer::ZoneStats& s) {
    o.sample("dnsxl_request_bytes_total", z, s.in);
  });
  o.family("dnsxl_response_bytes_total", "counter", "Bytes of DNS replies sent.");
  each([&](const std::string& z, const answer::ZoneStats& s) {
    o.sample("dnsxl_response_bytes_total", z, s.out);
  });
}

} // namespace

std::string renderMetrics(const MetricsInput& in) {
  Out o;
  o.family("dnsxl_build_info", "gauge", "dnsxld's version.");
  o.sample("dnsxl_build_info", fmt::format("version=\"{}\"", labelValue(in.version)), uint64_t{1});
  o.family("process_start_time_seconds", "gauge", "When dnsxld started (Unix time).");
  o.sample("process_start_time_seconds", "", in.startTime);
  queryFamilies(o, in.zones);

  o.family("dnsxl_transfers_total", "counter",
           "Zone transfers asked for, by type and result (aborted: the client went away).");
  for (const auto& [key, n] : in.server.transfers)
    o.sample("dnsxl_transfers_total",
             fmt::format("type=\"{}\",result=\"{}\"", key.first, key.second), n);
  o.family("dnsxl_notify_total", "counter",
           "NOTIFY messages to secondaries (RFC 1996): sent (one per zone change and secondary), "
           "acknowledged, and given up after the retries.");
  o.sample("dnsxl_notify_total", "result=\"sent\"", in.server.notifySent);
  o.sample("dnsxl_notify_total", "result=\"acked\"", in.server.notifyAcked);
  o.sample("dnsxl_notify_total", "result=\"failed\"", in.server.notifyFailed);
  o.family("dnsxl_tcp_connections", "gauge", "TCP connections open now.");
  o.sample("dnsxl_tcp_connections", "", uint64_t{in.server.tcpConnections});
  o.family("dnsxl_tcp_refused_total", "counter",
           "TCP connections closed at once: the connection limit in all, or the client's, was "
           "reached.");
  o.sample("dnsxl_tcp_refused_total", "limit=\"total\"",
           in.server.tcpRefused - in.server.tcpRefusedPerClient);
  o.sample("dnsxl_tcp_refused_total", "limit=\"client\"", in.server.tcpRefusedPerClient);
  o.family("dnsxl_rrl_limited_total", "counter",
           "UDP responses over the rate limit: dropped, or slipped (sent truncated).");
  o.sample("dnsxl_rrl_limited_total", "action=\"dropped\"", in.server.rrlDropped);
  o.sample("dnsxl_rrl_limited_total", "action=\"slipped\"", in.server.rrlSlipped);

  o.family("dnsxl_zone_serial", "gauge", "The SOA serial each zone is served with.");
  for (const auto& z : in.served)
    o.sample("dnsxl_zone_serial", zoneLabel(z.name), uint64_t{z.serial});
  if (in.lastCommit > 0) {
    o.family("dnsxl_store_last_change_timestamp_seconds", "gauge",
             "When the store last changed: an import, add, delist or expiry (Unix time).");
    o.sample("dnsxl_store_last_change_timestamp_seconds", "", in.lastCommit);
    o.family("dnsxl_data_age_seconds", "gauge", "Seconds since the store last changed.");
    o.sample("dnsxl_data_age_seconds", "", std::max<int64_t>(0, in.now - in.lastCommit));
  }
  o.family("dnsxl_store_file_bytes", "gauge", "Disk space the store's data file takes.");
  o.sample("dnsxl_store_file_bytes", "", in.storeFileBytes);
  o.family("dnsxl_store_used_bytes", "gauge", "Bytes of the store's pages in use.");
  o.sample("dnsxl_store_used_bytes", "", in.storeUsedBytes);
  o.family("dnsxl_store_map_bytes", "gauge", "The most the store can grow to (map_size_mb).");
  o.sample("dnsxl_store_map_bytes", "", in.storeMapBytes);

  if (in.queryLog) {
    o.family("dnsxl_query_log_lines_total", "counter", "Query log lines written.");
    o.sample("dnsxl_query_log_lines_total", "", in.queryLogWritten);
    o.family("dnsxl_query_log_dropped_total", "counter",
             "Query log lines dropped: the writer fell behind (the buffer was full).");
    o.sample("dnsxl_query_log_dropped_total", "", in.queryLogDropped);
  }
  o.family("dnsxl_config_reloads_total", "counter", "Config reloads (SIGHUP), by result.");
  o.sample("dnsxl_config_reloads_total", "result=\"ok\"", in.reloadsOk);
  o.sample("dnsxl_config_reloads_total", "result=\"failed\"", in.reloadsFailed);
  o.family("dnsxl_config_last_reload_timestamp_seconds", "gauge",
           "When the config in force was loaded (Unix time).");
  o.sample("dnsxl_config_last_reload_timestamp_seconds", "", in.lastReload);
  return o.take();
}

} // namespace dnsxl::ops
