#pragma once
// The MQTT bridge's declarative mappings (bridges/mqtt/README.md documents the file): which topics
// to subscribe, how a message becomes resource updates and metadata, and where SET/ACT commands go.
//
// Threads: a loaded MappingSet is immutable (its data is shared, never changed), so every const
// method may be called from any threads at once (e.g. the Paho callback thread and request
// threads). Nothing here does I/O except loadFile (reads the file once).

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gatehouse/sdk/host.h"
#include "gatehouse/sdk/value.h"
#include "gatehouse/kit/result.h"
#include "gatehouse/bridge/mqtt/payload.h"
#include "gatehouse/bridge/mqtt/topic.h"

namespace gatehouse::bridge::mqtt {

using kit::Result;

struct Subscription {
  std::string filter;
  int qos = 1;
};

// One value for the model. When `admin` is true the update is for one of the provider's admin
// resources (service "admin": friendlyName, description, location, from a mapping's `metadata:`):
// they exist on every provider, so push them but never declare them.
struct ResourceUpdate {
  std::string provider, service, resource;
  sdk::Value value;
  std::int64_t timestampMs = 0;   // 0 = now (no timestamp configured)
  std::size_t mapping = 0;        // index of the mapping that produced it
  bool admin = false;
  // From a mapping with `e2e: true`: `value` is the message's payload unchanged (an end-to-end
  // encrypted data message, docs/e2e-protocol.md), type bytes. The resource must carry the metadata
  // kE2eMetadataKey = true before this value reaches the model (so that no filter ever compares
  // it); never log the value, only its size.
  bool e2e = false;
};

// The metadata key (value: boolean true) that marks a resource holding end-to-end encrypted data.
inline constexpr const char* kE2eMetadataKey = "e2e";
// The key request relay (docs/e2e-protocol.md section 8): the action e2e/keyRequest(topic: string,
// request: bytes) -> bytes, declared on every provider an e2e mapping feeds.
inline constexpr const char* kE2eService = "e2e";
inline constexpr const char* kKeyRequestAction = "keyRequest";

// Where the relay of a key request for one data topic goes.
struct E2eRelay {
  std::size_t mapping = 0;   // the e2e mapping whose topic it is
  int timeoutMs = 5000;      // the mapping's key_request_timeout_ms
};

// A metadata entry of a resource (any `metadata:` key other than the admin resource names).
struct MetadataUpdate {
  std::string provider, service, resource, key;
  sdk::Value value;
};

struct Extracted {
  std::vector<ResourceUpdate> updates;
  std::vector<MetadataUpdate> metadata;
  // (mapping index, reason) for each mapping that matched but failed (a mapping with several
  // resources reports one entry; its resources that did extract are still in `updates`).
  std::vector<std::pair<std::size_t, std::string>> errors;
  // What to declare for the non-admin updates above (type, unit, MODIFIABLE when a command
  // exists), one per distinct resource, plus the mapping's actions for each provider seen.
  // Declare each the first time it is seen; they are the same for every message. The key request
  // action of e2e mappings is not in here (an e2e topic carries many messages per provider and
  // that spec is costly to build): declare keyRequestSpec(provider) once per provider.
  std::vector<sdk::ResourceSpec> declarations;
};

struct CommandRoute {
  std::string topic;
  int qos = 1;
  std::string payload;   // expanded
  // Mqtt5: the reply comes on the bridge's reply topic with the correlation data. Ack: on
  // ackTopic, a JSON ack (parseAck) answering the oldest command waiting there. Relay (the e2e key
  // request relay): the first message published on ackTopic after the command (retained copies
  // delivered by a new subscription do not count) is the answer, its payload unchanged as bytes,
  // for every request waiting on that topic; it is never parsed.
  enum class Response { Mqtt5, Ack, Relay } response = Response::Mqtt5;
  std::string ackTopic;  // expanded; Ack and Relay
  int timeoutMs = 5000;
  sdk::ValueType resultType = sdk::ValueType::String;   // type of the reply value (the resource's type for SET)
};

class MappingSet {
 public:
  MappingSet();   // empty: no subscriptions, apply() extracts nothing

  // Parses the mappings file strictly: unknown keys, duplicate keys, wrong types and bad values
  // are all reported at once, one "FILE:LINE:COL: key.path: message" line each, in `error`.
  static Result<MappingSet> loadFile(const std::string& path);
  static Result<MappingSet> loadString(std::string_view yaml, const std::string& displayName);

  std::vector<Subscription> subscriptions() const;   // one per distinct filter (highest QoS)

  // Every mapping whose topic matches contributes; never throws; bounded work per message (the
  // payload is parsed at most once, at most kMaxPayloadBytes). Names taken from the topic must
  // pass kit::isValidIdentifier, else that mapping's update is dropped with an error.
  Extracted apply(std::string_view topic, std::string_view payload) const;

  // The resources of one mapping whose names are literal in the file (wildcard resource names are
  // only known from a message: see Extracted::declarations), plus its actions.
  std::vector<sdk::ResourceSpec> declarationsFor(std::size_t mappingIndex, const std::string& provider,
                                                 const std::string& service) const;

  // The command for a SET/ACT, or nullopt when no mapping gives that resource a command (the
  // plugin answers NOT_ALLOWED). routeForSet/routeForAct also say why a route cannot be made
  // (unsafe names, a value that has no JSON form, no command).
  std::optional<CommandRoute> commandForSet(const std::string& provider, const std::string& service,
                                            const std::string& resource, const sdk::Value& value) const;
  std::optional<CommandRoute> commandForAct(const std::string& provider, const std::string& service,
                                            const std::string& resource,
                                            const std::vector<std::pair<std::string, sdk::Value>>& params) const;
  Result<CommandRoute> routeForSet(const std::string& provider, const std::string& service, const std::string& resource,
                                   const sdk::Value& value) const;
  Result<CommandRoute> routeForAct(const std::string& provider, const std::string& service, const std::string& resource,
                                   const std::vector<std::pair<std::string, sdk::Value>>& params) const;

  // The e2e mapping that maps the data topic `topic` to `provider` (its topic template matches
  // `topic`, which is not a companion topic <t>/_e2e/req or <t>/_e2e/wrap/<id>, and names that
  // provider); NotFound when none does.
  Result<E2eRelay> e2eRelayFor(const std::string& provider, std::string_view topic) const;
  bool hasE2e() const;        // some mapping has e2e: true

  std::size_t size() const;
  bool hasCommands() const;   // some mapping gives a resource a SET command or an action (e2e mappings' keyRequest included)
  const std::string& description(std::size_t mappingIndex) const;   // "mappings[i] TOPIC"; "" when out of range

  struct Data;   // defined in mapping_data.h (private to the library)

 private:
  explicit MappingSet(std::shared_ptr<const Data> data) : data_(std::move(data)) {}
  friend Result<MappingSet> loadMappings(std::string_view yaml, const std::string& displayName);
  std::shared_ptr<const Data> data_;
};

// e2e/keyRequest(topic: string, request: bytes) -> bytes, the key request relay of an e2e mapping's
// provider (docs/e2e-protocol.md section 8); declared once per provider, when its first e2e value comes.
sdk::ResourceSpec keyRequestSpec(const std::string& provider);

// Reply parsing for Ack responses: {"ok":true,"value":X} -> X as `type` (no "value" -> a null
// value of that type); {"ok":false,"error":"..."} -> the error text (prefixed "the device
// refused: "). Anything else is an error saying what is wrong.
Result<sdk::Value> parseAck(std::string_view payload, std::uint32_t type);

}  // namespace gatehouse::bridge::mqtt
