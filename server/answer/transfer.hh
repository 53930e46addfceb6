// Zone transfers: AXFR (RFC 5936) and IXFR (RFC 1995, answered with the SOA alone when the
// secondary is current, else with the whole zone as §4 allows) from one consistent store
// snapshot, rendered by render/zone.hh. Pure: a query in, the reply messages out; the network
// side writes them on the TCP connection. Refuses: clients outside the access list (REFUSED, RFC
// 5936 §5), zones we do not serve (NOTAUTH, §2.2.1), transfers over UDP (the responder's NOTIMP).
#pragma once

#include "config/config.hh"
#include "server/answer/responder.hh"
#include "server/answer/tsig.hh"

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace dnsxl::answer {

struct TransferOptions {
  std::vector<config::Prefix> allow; // who may transfer; empty: nobody
  std::vector<tsig::Key> keys;       // the TSIG keys we know (RFC 8945)
  std::string requireKey;            // transfers must be signed with this key; empty: not
  uint64_t maxRecords = 100'000'000;
  size_t messageSize = 16384; // per message (RFC 5936 §2.2 allows up to 65535)
  // The zones served (Options::zones): others get NOTAUTH. Unset: every zone of the store.
  std::optional<std::vector<std::string>> zones;
};

// Whether a query asks for a zone transfer (QTYPE AXFR or IXFR). Cheap; no allocation.
bool isTransfer(std::span<const uint8_t> query);

// Receives each reply message as soon as it is complete; false stops the transfer.
using Sink = std::function<bool(std::span<const uint8_t> message)>;

// Streams the messages answering a transfer query to send: the zone (SOA first and last), or one
// message with the SOA (IXFR, secondary current), or one error message. Returns false when the
// query is to be dropped or send refused a message.
bool transfer(store::Env& env, std::span<const uint8_t> query, const Client& client,
              const TransferOptions& options, const Sink& send);

// An ordinary query signed with TSIG (a secondary's SOA check): checks it and signs the reply in
// place (RFC 8945 §5.3), or replaces the reply by the TSIG error (§5.2). A reply that would not
// fit `cap` with its TSIG becomes the question alone with TC (§5.3). Returns the reply's new
// length; a query without TSIG keeps its reply as it is.
size_t tsigReply(std::span<const uint8_t> query, std::span<uint8_t> reply, size_t len,
                 const std::vector<tsig::Key>& keys, uint64_t now);

// NOTIFY (RFC 1996 §3): the message telling a secondary that zone changed (opcode NOTIFY, AA,
// the zone's SOA as the question), and whether a reply answers it.
// Signed with key when given (RFC 8945).
std::vector<uint8_t> notifyMessage(std::string_view zone, uint16_t id,
                                   const tsig::Key* key = nullptr);
bool isNotifyReply(std::span<const uint8_t> reply, uint16_t id);

} // namespace dnsxl::answer
