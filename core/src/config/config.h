#pragma once
// The gateway's configuration: typed sections with their defaults, loaded from one YAML file and
// validated against gatewaySchema() at start. Any problem refuses the start; the Error's message
// holds every problem in the file, one per line, as "FILE:LINE:COL: key.path: message".
//
// Threads: all functions are free of shared state; any thread may call them concurrently.
// A Config is a plain value, read-only after loading.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "gatehouse/kit/config/schema.h"

namespace gatehouse::core::config {

struct GatewaySection {
  std::string id = "gatehouse";     // [A-Za-z0-9_.:-]{1,128}
  std::string logLevel = "info";    // trace|debug|info|warn|error
  bool operator==(const GatewaySection&) const = default;
};

struct HttpSection {
  std::string listen = "127.0.0.1";   // IPv4/IPv6 literal or "localhost"
  std::uint16_t port = 8899;          // 0 = ephemeral (tests)
  int threads = 4;                    // 1..64; more loops than cores keeps p99 low under CPU contention (bench/RESULTS.md)
  std::size_t maxConnections = 20000;   // 1..1000000
  std::size_t maxBodyBytes = 1048576;   // 1024..67108864
  std::size_t maxHeaderBytes = 16384;   // 1024..1048576
  int headerTimeoutMs = 10000;          // 100..3600000
  int bodyTimeoutMs = 30000;            // 100..3600000
  int idleTimeoutMs = 60000;            // 100..3600000
  std::size_t sseQueue = 1024;          // per-subscriber notification queue, 1..1000000
  int sseHeartbeatMs = 15000;           // 100..3600000
  int sseStallTimeoutMs = 60000;        // 100..3600000: a client that takes nothing for this long is dropped
  std::size_t sseMaxClients = 10000;    // 1..100000
  int commandTimeoutMs = 10000;         // 100..3600000: a REST SET/ACT not answered by then gets 504
  bool operator==(const HttpSection&) const = default;
};

// auth.oauth2: the OpenID Connect resource server (security/oauth2, docs/security.md).
struct OAuth2Section {
  std::string issuer;                      // exactly as the IdP's discovery document says it
  std::string audience;                    // what `aud` must name
  std::vector<std::string> algorithms{"RS256", "PS256", "ES256", "EdDSA"};
  std::int64_t leewayS = 30;               // 0..60
  std::string caFile;                      // PEM CAs for the IdP's TLS; "" = the system's
  bool allowInsecureLoopback = false;      // plain http to a loopback IdP (tests, local IdPs)
  std::vector<std::string> roleClaims{"realm_access.roles", "scope", "groups"};
  std::vector<std::string> rules;          // sensiNact lines "role:VERB:path-pattern"
  std::string rulesFile;                   // YAML list of structured rules (deny, priority)
  std::vector<std::string> adminRoles{"admin"};
  std::string introspectionClientId;       // RFC 7662 for opaque tokens; "" = off
  std::string introspectionClientSecret;   // never logged
  std::int64_t refreshCooldownS = 30;      // unknown kid: one JWKS fetch per cooldown at most
  std::int64_t staleKeysMaxAgeS = 21600;   // last good keys kept this long while the IdP is down
  bool operator==(const OAuth2Section&) const = default;
};

struct AuthSection {
  std::string mode = "none";   // none | oauth2
  OAuth2Section oauth2;
  bool operator==(const AuthSection&) const = default;
};

struct PluginHostSection {
  std::string directory;        // "" = the build's plugins-signed/ (GATEHOUSE_DEFAULT_PLUGIN_DIR)
  std::string trustStore;       // "" = <directory>/trust
  std::string revocationList;   // "" = <directory>/revoked.txt
  std::string stateDir;         // "" = GATEHOUSE_DEFAULT_STATE_DIR
  std::uint64_t maxFileBytes = 64ull << 20;   // 4096..1 GiB
  bool checkOwner = true;
  bool operator==(const PluginHostSection&) const = default;
};

// Northbound MQTT: every DATA notification is published to a broker (docs/mqtt-topics.md).
struct MqttNorthboundSection {
  bool enabled = false;
  std::vector<std::string> brokers{"tcp://127.0.0.1:1883"};   // tried in order; tcp:// mqtt:// ssl:// mqtts:// ws:// wss://
  std::string clientId;     // "" = "gatehouse-<gateway.id>"
  std::string username;
  std::string password;     // never logged
  std::string caFile;       // "" = the system's trusted CAs (TLS brokers only)
  std::string certFile;     // client certificate for mutual TLS; with keyFile
  std::string keyFile;
  std::string prefix;       // "" = "gatehouse/<gateway.id>"
  int qos = 0;              // 0..2
  bool retain = false;
  std::size_t queue = 100000;   // 1..10000000 messages kept while the broker is unreachable
  int keepAliveS = 30;          // 5..3600
  bool operator==(const MqttNorthboundSection&) const = default;
};

// One entry under `plugins:`: the plugin's name and its settings, still as YAML with their
// positions in the file, validated later against the schema the plugin declares.
struct PluginBlock {
  std::string name;
  YAML::Node settings;   // a mapping, or null for "all defaults"
  int line = 0;          // where the name is, 1-based
  int column = 0;
  bool operator==(const PluginBlock& o) const;
};

struct Config {
  std::string sourcePath;   // the file it came from (loadFile), or the display name (loadString)
  GatewaySection gateway;
  HttpSection http;
  AuthSection auth;
  PluginHostSection pluginHost;
  MqttNorthboundSection mqttNorthbound;
  std::vector<PluginBlock> plugins;   // in file order
  bool operator==(const Config&) const = default;
};

// The schema of the gateway's file; its defaults are those of the structs above. Also the source
// of docs/configuration.md.
const kit::config::Schema& gatewaySchema();

// Reads and validates a config file. Errors: NotFound when the file does not exist, BadRequest
// for anything else (unreadable, not a regular file, over 1 MiB, invalid); the message names the
// path. Never throws.
Result<Config> loadFile(const std::string& path);

// Validates YAML text; `displayName` stands for the file in messages. An empty text means all
// defaults. Never throws.
Result<Config> loadString(std::string_view yaml, const std::string& displayName);

// Plugin names: [a-z0-9_-]{1,64}.
bool isPluginName(std::string_view name);

// True for 127.0.0.0/8, ::1 (also as ::ffff:127.x.y.z) and "localhost".
bool isLoopbackAddress(std::string_view address);

// True for an IPv4 dotted-quad or IPv6 literal (no brackets, no zone), or "localhost".
bool isListenAddress(std::string_view address);

}  // namespace gatehouse::core::config
