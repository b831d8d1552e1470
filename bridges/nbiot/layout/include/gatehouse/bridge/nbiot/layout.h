#pragma once
// The NB-IoT bridge's frame layout engine (docs/nbiot-frames.md documents the language): a layouts
// file declares, per device type, how a datagram is recognised (a discriminator), which fields it
// holds (binary: offset/length/type/byte order; text: separator-split header and repeated lines),
// how each becomes a value (scale, value_offset, unit), which field is the provider id, the frame
// counter and the timestamp, and which fields become which resources. A new device type is a YAML
// block, no code.
//
// The decoder takes one datagram (binary, or hex text as operator platforms forward it) and gives
// the matched layout, the provider id, the resource values, the frame counter, and the repeated
// line entries (the crowd counter's MAC@RSSI lines) kept apart from the resources: fields marked
// `personal: true` never become resources (privacy hashing is the bridge's job).
//
// Threads: a loaded LayoutSet is immutable (its data is shared, never changed), so decode() may be
// called from any threads at once. Nothing here does I/O except loadFile (reads the file once).
// Bounded work: decode() reads only inside the datagram, refuses datagrams above the file's
// max_datagram_bytes, and its work is linear in the datagram's size.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <sys/socket.h>

#include "gatehouse/kit/result.h"
#include "gatehouse/sdk/value.h"

namespace gatehouse::bridge::nbiot {

using kit::Result;

// How decode() reads its input.
enum class InputEncoding : std::uint8_t {
  Binary,   // the bytes are the frame
  Hex,      // the bytes are hex text (optional 0x prefix, surrounding ASCII whitespace ignored)
  Auto,     // hex text when every byte (after trimming whitespace) is a hex digit, else binary
};

// One value for the model: a field declared with `resource: service/name`.
struct Reading {
  std::string service;
  std::string resource;
  sdk::Value value;
  std::string unit;    // "" when the layout gives none
  std::string field;   // the layout's field name (for messages)
};

// A field of the repeated lines of a text layout (`lines.fields`).
struct LineField {
  std::string name;
  bool personal = false;   // personal data (a MAC address): never put into the model as is
};

struct DecodedFrame {
  std::string layout;            // the matched layout's name
  std::size_t layoutIndex = 0;   // its index in the file
  std::string provider;          // the provider id (passed kit::isValidIdentifier)
  std::vector<Reading> readings; // in the layout's field order
  std::optional<std::uint64_t> counter;      // the frame counter, when the layout declares one
  std::optional<std::int64_t> timestampMs;   // the frame's own time, when the layout declares one
  // Text layouts with `lines`: the names of the line fields and one entry per line, values in
  // that order (the crowd counter: mac (personal, "aa:bb:cc:dd:ee:ff"), rssi (int)).
  std::vector<LineField> lineFields;
  std::vector<std::vector<sdk::Value>> lines;
};

// A network of a layout's `sources` allow-list: "10.0.0.0/8", "2001:db8::/32", or one address.
struct Network {
  int family = 0;                     // AF_INET or AF_INET6
  std::array<unsigned char, 16> address{};
  unsigned prefix = 0;                // bits
};
// Errors name what is wrong ("not an IPv4 or IPv6 address", "prefix 33 is larger than 32", "host
// bits set: did you mean 10.0.0.0/8?").
Result<Network> parseNetwork(std::string_view text);
// Whether addr (sockaddr_in or sockaddr_in6; an IPv4-mapped IPv6 address counts as IPv4) is inside.
bool networkContains(const Network& network, const sockaddr* addr) noexcept;
std::string formatNetwork(const Network& network);

// A SET or ACT a layout declares for its devices (`downlinks:` in the layouts file): the bridge
// declares the resource on each device of the layout and encodes the command with encodeDownlink().
struct DownlinkParam {
  std::string name;
  sdk::ValueType type = sdk::ValueType::Int;
  std::optional<double> min, max;
};
struct DownlinkInfo {
  std::string service, resource;
  bool action = false;                          // ACT (else SET on a modifiable resource)
  sdk::ValueType type = sdk::ValueType::Int;    // SET: the resource's type
  std::string unit;                             // SET: the resource's unit
  std::optional<double> min, max;               // SET: bounds of the value
  std::vector<DownlinkParam> params;            // ACT: its parameters, in order
  std::string description;
};

struct LayoutInfo {
  std::string name;
  bool text = false;
  std::string matchField;   // the discriminator field ("" for a text prefix)
  std::string matchValue;   // the value it must have, or the text prefix
  // Text layouts with lines: where the bridge puts the entries (lines.resource) and their number
  // (lines.count_resource); "" when not given.
  std::string linesService, linesResource;
  std::string countService, countResource;
};

class LayoutSet {
 public:
  LayoutSet();   // empty: decode() matches nothing

  // Parses a layouts file strictly: unknown keys, duplicate keys, wrong types and bad values are
  // all reported at once, one "FILE:LINE:COL: key.path: message" line each, in the error.
  static Result<LayoutSet> loadFile(const std::string& path);
  static Result<LayoutSet> loadString(std::string_view yaml, const std::string& displayName);

  // Decodes one datagram. Errors (BadRequest; TooLarge above max_datagram_bytes) name the reason:
  // empty, too large, bad hex, no layout matches (with what was found), too short, LENGTH
  // mismatch, trailing bytes, bad text structure, a field that is not what its type says, a
  // provider id that is not a valid name.
  Result<DecodedFrame> decode(std::string_view datagram, InputEncoding encoding = InputEncoding::Auto) const;

  std::size_t size() const;
  std::size_t maxDatagramBytes() const;
  std::vector<LayoutInfo> layouts() const;

  // Whether a frame of the layout may come from addr (its `sources`; true when it has none).
  bool sourceAllowed(std::size_t layoutIndex, const sockaddr* addr) const noexcept;
  // The layout's `sources`, as written ("" when any source is allowed), for messages.
  std::string sourcesText(std::size_t layoutIndex) const;
  // The downlinks the layout declares (empty for an unknown index).
  const std::vector<DownlinkInfo>& downlinks(std::size_t layoutIndex) const;
  // The frame of downlink `downlinkIndex` of the layout, from the SET value (named "value") or the
  // ACT parameters. Errors (BadRequest) name the part and why: a value outside min/max or outside
  // what its field can hold, a missing parameter, text with a line end or the separator.
  Result<std::string> encodeDownlink(std::size_t layoutIndex, std::size_t downlinkIndex,
                                     const std::vector<std::pair<std::string, sdk::Value>>& values) const;

  struct Data;   // defined in layout_data.h (private to the library)

 private:
  explicit LayoutSet(std::shared_ptr<const Data> data) : data_(std::move(data)) {}
  friend Result<LayoutSet> loadLayouts(std::string_view yaml, const std::string& displayName);
  std::shared_ptr<const Data> data_;
};

// Hex text to bytes: even number of digits, case-insensitive, optional 0x prefix, surrounding
// ASCII whitespace ignored. Errors say "odd number of hex digits (N)" or "invalid hex digit 'x' at
// position P".
Result<std::string> decodeHexText(std::string_view text);

}  // namespace gatehouse::bridge::nbiot
