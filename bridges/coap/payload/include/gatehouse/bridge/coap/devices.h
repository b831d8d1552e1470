#pragma once
// The CoAP bridge's devices file (client side): which CoAP devices the gateway observes or polls,
// how it reaches them (coap:// or coaps:// with a pre-shared key or the plugin's certificates),
// which of their resources become which Gatehouse resources, and which take SET (a CoAP PUT) or
// ACT (a CoAP POST). Validated by the kit's config engine: every problem is reported at once as
// "FILE:LINE:COL: devices[i].key: message" (docs/configuration.md describes the engine).
//
//   devices:
//     - provider: demo-device
//       uri: coap://127.0.0.1:5685        # coaps:// for DTLS
//       discover: true                    # read /.well-known/core (RFC 6690)
//       resources:                        # from config; they also refine discovered ones
//         - {path: sensors/temperature, service: environment, resource: temperature, unit: Cel}
//         - {path: settings/interval, access: write, type: long}
//         - {path: actions/blink, access: action, params: [{name: times, type: long}]}
//
// Names of a discovered resource come from its path (resourceNamesFor): /a/b -> service a,
// resource b; /a -> service "data", resource a; /a/b/c -> service a, resource b.c.
//
// Threads: pure functions, any thread. Nothing here does I/O except loadDevicesFile.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gatehouse/kit/net.h"
#include "gatehouse/kit/result.h"
#include "gatehouse/sdk/host.h"
#include "gatehouse/sdk/value.h"

namespace gatehouse::bridge::coap {

using kit::Result;

enum class ObserveMode : std::uint8_t {
  Auto,    // observe when discovery says `obs`, or when the device answers an observe with Observe
  Always,  // always register; a device that answers without Observe is polled
  Never,   // poll only
};

enum class Access : std::uint8_t {
  Read,    // a sensor: observed or polled
  Write,   // also SET -> PUT (read as well)
  Action,  // ACT -> POST; not read
};

// How SET values and ACT parameters are written to the device.
enum class WriteFormat : std::uint8_t {
  Text,   // text/plain: the value as text (ACT: no parameters, or one, written as text)
  Json,   // application/json: the value; ACT: an object of the parameters
};

struct ResourceConfig {
  std::string path;        // without the leading '/', segments separated by '/'
  std::string service;     // "" = from the path (resourceNamesFor)
  std::string resource;    // "" = from the path
  ObserveMode observe = ObserveMode::Auto;
  Access access = Access::Read;
  sdk::ValueType type = sdk::ValueType::String;   // Write: the declared type of SET values
  bool typeGiven = false;
  WriteFormat format = WriteFormat::Text;
  std::string unit;
  // The Content-Format of the device's answers when they carry no Content-Format option (some
  // stacks, libcoap among them, leave text/plain out); unset: the `ct` its /.well-known/core gives.
  std::optional<std::uint16_t> contentFormat;
  std::vector<sdk::ActionParam> params;           // Action
  bool e2e = false;        // the payload is an end-to-end envelope: stored as bytes, never parsed
};

struct DeviceConfig {
  std::string provider;
  std::string uri;           // as written, for messages
  bool secure = false;       // coaps
  std::string host;          // numeric address (localhost -> 127.0.0.1)
  std::uint16_t port = 0;
  kit::SocketAddress address;   // host and port
  std::string pskIdentity;   // coaps with PSK; empty = the plugin's certificates
  std::string pskKey;        // raw key bytes; never logged
  bool discover = true;
  std::chrono::milliseconds timeout{5000};        // one request (discovery, poll, SET/ACT, ping)
  std::chrono::seconds pollInterval{10};          // resources not observed
  std::chrono::seconds pingInterval{10};          // CoAP ping when nothing was heard for this long
  std::vector<ResourceConfig> resources;
};

// The provider's service/resource for a device path (see the header comment); names are made
// valid identifiers (characters outside A-Z a-z 0-9 _ . : - become '_').
std::pair<std::string, std::string> resourceNamesFor(std::string_view path);

// "hex:00ff..." or "text:secret" -> the key bytes (8 to 64). Messages never contain the key.
Result<std::string> parsePskKey(std::string_view text);

struct DevicesLimits {
  std::size_t maxDevices = 1024;
  std::size_t maxResourcesPerDevice = 256;
  std::size_t maxFileBytes = 1024 * 1024;
};

// Every key path of the devices file ("devices", "devices[].uri", "devices[].resources[].path",
// ...), for the docs-drift test.
std::vector<std::string> devicesFileKeyPaths();

Result<std::vector<DeviceConfig>> loadDevices(std::string_view yaml, const std::string& displayName, const DevicesLimits& limits = {});
Result<std::vector<DeviceConfig>> loadDevicesFile(const std::string& path, const DevicesLimits& limits = {});

}  // namespace gatehouse::bridge::coap
