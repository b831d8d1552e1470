#pragma once
// The loaded form of a layouts file (private to the library): made by layout_file.cpp from a file
// that passed every check, read by decoder.cpp.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "gatehouse/bridge/nbiot/layout.h"

namespace gatehouse::bridge::nbiot {

enum class FieldKind : std::uint8_t {
  // binary
  U8, U16, U32, U64, I8, I16, I32, I64, F32, F64, AsciiNul, Bcd,
  // both
  Ascii,
  // text
  Integer, Decimal, Timestamp, Mac,
};

enum class ValueKind : std::uint8_t { Int, Long, Double, String };

struct FieldRule {
  std::string name;
  FieldKind kind = FieldKind::Ascii;
  std::size_t offset = 0;   // binary
  std::size_t length = 0;   // binary: bytes
  bool bigEndian = true;    // binary multi-byte numbers
  double scale = 1.0;
  double valueOffset = 0.0;
  bool scaled = false;      // scale or value_offset given: the value is a double
  std::string unit;
  std::string pattern;      // Timestamp
  bool personal = false;
  // resource
  bool hasResource = false;
  std::string service, resource;
  ValueKind valueKind = ValueKind::String;
};

// One part of a downlink frame: a constant or a value (the SET value, or an ACT parameter).
struct EncodePart {
  FieldKind kind = FieldKind::U8;   // an integer kind, F32/F64, or Ascii
  bool bigEndian = true;
  bool isConst = false;
  std::uint64_t constBits = 0;      // integer constants, as the field's raw bits
  std::string constText;            // ascii constants
  std::string from;                 // "value" (SET) or a parameter name (ACT)
  double scale = 1.0;               // raw = value / scale
};

struct DownlinkRule {
  DownlinkInfo info;
  std::vector<EncodePart> parts;
};

struct LayoutRule {
  std::string name;
  bool text = false;
  // discriminator: a field equal to a value, or (text) a prefix
  std::optional<std::size_t> matchField;   // index into fields
  std::uint64_t matchNumber = 0;           // binary
  std::string matchText;                   // text: the field's value or the prefix
  bool matchPrefix = false;
  std::string separator = "@";
  std::vector<FieldRule> fields;           // binary fields, or the header fields of a text layout
  std::size_t minSize = 0;                 // binary: end of the last field
  bool allowTrailing = false;
  std::optional<std::size_t> lengthField;  // binary
  bool lengthCountsFrame = false;          // else: the bytes after the LENGTH field
  std::size_t providerField = 0;
  std::optional<std::size_t> counterField;
  std::optional<std::size_t> timestampField;
  bool hasLines = false;
  std::vector<FieldRule> lineFields;
  std::size_t maxLines = 256;
  std::string linesService, linesResource;   // lines.resource ("" when not given)
  std::string countService, countResource;   // lines.count_resource
  std::vector<Network> sources;            // empty: any source
  std::vector<DownlinkRule> downlinks;
};

struct LayoutSet::Data {
  std::vector<LayoutRule> layouts;
  std::vector<std::vector<DownlinkInfo>> downlinkInfos;   // per layout: its downlinks' info (downlinks())
  std::size_t maxDatagramBytes = 2048;
};

// Sizes of the fixed-size binary kinds (0 for the others).
std::size_t fixedSize(FieldKind kind) noexcept;
bool isBinaryKind(FieldKind kind) noexcept;
bool isTextKind(FieldKind kind) noexcept;
bool isIntegerKind(FieldKind kind) noexcept;    // U8..I64, Integer
bool isUnsignedKind(FieldKind kind) noexcept;   // U8..U64

// "YYYYDDMM-hh:mm:ss" style patterns: tokens YYYY MM DD hh mm ss, anything else literal. "" when
// valid, else why not.
std::string checkTimestampPattern(std::string_view pattern);

}  // namespace gatehouse::bridge::nbiot
