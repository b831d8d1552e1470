// Reading the layouts file with the kit's config engine (gatehouse/kit/config), like the MQTT
// bridge's mappings file: the file's schema in one table, the rules between keys as checks of that
// table, then a short conversion into the LayoutSet data. Strict, every problem reported at once as
// "FILE:LINE:COL: key.path: message".
#include <cmath>
#include <fstream>
#include <map>
#include <set>

#include "gatehouse/kit/codec.h"
#include "gatehouse/kit/config/schema.h"
#include "gatehouse/kit/config/yaml_document.h"
#include "layout_data.h"

namespace gatehouse::bridge::nbiot {

namespace {

using kit::config::Diagnostics;
using kit::config::Field;
using kit::config::Problems;
using kit::config::Schema;
using kit::config::Values;

constexpr std::size_t kMaxFileBytes = kit::config::YamlLimits{}.maxBytes;
constexpr std::size_t kMaxLayouts = 256;
constexpr std::size_t kMaxFields = 256;
constexpr std::int64_t kMaxOffset = 65535;

struct KindName {
  const char* name;
  FieldKind kind;
};
constexpr KindName kKinds[] = {
    {"u8", FieldKind::U8},         {"u16", FieldKind::U16},     {"u32", FieldKind::U32},
    {"u64", FieldKind::U64},       {"i8", FieldKind::I8},       {"i16", FieldKind::I16},
    {"i32", FieldKind::I32},       {"i64", FieldKind::I64},     {"float32", FieldKind::F32},
    {"float64", FieldKind::F64},   {"ascii", FieldKind::Ascii}, {"ascii_nul", FieldKind::AsciiNul},
    {"bcd", FieldKind::Bcd},       {"integer", FieldKind::Integer}, {"decimal", FieldKind::Decimal},
    {"timestamp", FieldKind::Timestamp}, {"mac", FieldKind::Mac},
};

std::vector<std::string> kindNames() {
  std::vector<std::string> out;
  for (const auto& k : kKinds) out.emplace_back(k.name);
  return out;
}

FieldKind parseKind(std::string_view name) {
  for (const auto& k : kKinds) {
    if (name == k.name) return k.kind;
  }
  return FieldKind::Ascii;   // not reached: the enum check ran first
}

const std::vector<std::string> kValueTypes = {"int", "long", "double", "string"};

ValueKind parseValueKind(std::string_view name) {
  if (name == "int") return ValueKind::Int;
  if (name == "long") return ValueKind::Long;
  if (name == "double") return ValueKind::Double;
  return ValueKind::String;
}

// --- checks of single values ---------------------------------------------------------------------

std::string checkName(std::string_view v) {
  return kit::isValidIdentifier(v) ? std::string() : "must be a name of 1 to 128 characters A-Z a-z 0-9 _ . : - (no \"..\")";
}

std::string checkResource(std::string_view v) {
  const auto slash = v.find('/');
  if (slash == std::string_view::npos || v.find('/', slash + 1) != std::string_view::npos) {
    return "resource must be written service/name (one '/'), found " + kit::quoteForMessage(v);
  }
  const auto service = v.substr(0, slash);
  const auto name = v.substr(slash + 1);
  if (!kit::isValidIdentifier(service)) return "the service name " + kit::quoteForMessage(service) + " is not a valid name (A-Z a-z 0-9 _ . : -)";
  if (!kit::isValidIdentifier(name)) return "the resource name " + kit::quoteForMessage(name) + " is not a valid name (A-Z a-z 0-9 _ . : -)";
  return {};
}

std::string checkSeparator(std::string_view v) {
  if (v.size() > 8) return "a separator is 1 to 8 characters";
  for (char c : v) {
    if (c < 0x20 || c > 0x7e) return "a separator must be printable ASCII (lines are split at line ends first)";
  }
  return {};
}

std::string checkPatternValue(std::string_view v) { return checkTimestampPattern(v); }

// An integer literal: decimal (optional '-') or 0x hex. nullopt when it is neither or too large.
struct IntLiteral {
  bool negative = false;
  std::uint64_t magnitude = 0;
};
std::optional<IntLiteral> parseIntLiteral(std::string_view s) {
  IntLiteral out;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    s.remove_prefix(2);
    if (s.empty() || s.size() > 16) return std::nullopt;
    for (char c : s) {
      const int d = kit::hexDigitValue(c);
      if (d < 0) return std::nullopt;
      out.magnitude = out.magnitude * 16 + static_cast<std::uint64_t>(d);
    }
    return out;
  }
  if (!s.empty() && s[0] == '-') {
    out.negative = true;
    s.remove_prefix(1);
  }
  if (s.empty() || s.size() > 19) return std::nullopt;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    out.magnitude = out.magnitude * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return out;
}

// The literal as the field's raw bits (what the decoder reads), or why it does not fit.
std::optional<std::uint64_t> literalBits(const IntLiteral& v, FieldKind kind, std::string* why) {
  const std::size_t bits = fixedSize(kind) * 8;
  if (bits == 0 || !isIntegerKind(kind)) {   // a text type in a binary layout (reported by checkField too)
    *why = "needs a binary integer field";
    return std::nullopt;
  }
  const std::uint64_t mask = bits >= 64 ? ~std::uint64_t{0} : ((std::uint64_t{1} << bits) - 1);
  if (isUnsignedKind(kind)) {
    if (v.negative && v.magnitude != 0) { *why = "is negative but the field is unsigned"; return std::nullopt; }
    if (v.magnitude > mask) { *why = "does not fit in " + std::to_string(bits) + " bits"; return std::nullopt; }
    return v.magnitude;
  }
  const std::uint64_t limit = std::uint64_t{1} << (bits - 1);   // |min|
  if (v.negative ? v.magnitude > limit : v.magnitude >= limit) {
    *why = "does not fit in a signed " + std::to_string(bits) + "-bit field";
    return std::nullopt;
  }
  const std::uint64_t twos = v.negative ? (~v.magnitude + 1) : v.magnitude;
  return twos & mask;
}

// --- rules between keys ----------------------------------------------------------------------------

// Reports at `key` of a list item (its value's position, else the item's).
void report(Problems& problems, const std::string& itemPath, const Values& item, std::string_view key, std::string message) {
  const Values::Entry* e = key.empty() ? nullptr : item.find(key);
  const std::string path = key.empty() ? itemPath : itemPath + "." + std::string(key);
  if (e != nullptr && e->line > 0) {
    problems.add(path, e->line, e->column, std::move(message));
  } else {
    problems.add(path, item.line(), item.column(), std::move(message));
  }
}

bool isVariableBinary(FieldKind k) { return k == FieldKind::Ascii || k == FieldKind::AsciiNul || k == FieldKind::Bcd; }
bool isTextual(FieldKind k) { return k == FieldKind::Ascii || k == FieldKind::AsciiNul || k == FieldKind::Mac; }
bool isNumeric(FieldKind k) {
  return isIntegerKind(k) || k == FieldKind::F32 || k == FieldKind::F64 || k == FieldKind::Decimal;
}
bool fitsInt32(FieldKind k) {
  return k == FieldKind::U8 || k == FieldKind::U16 || k == FieldKind::I8 || k == FieldKind::I16 || k == FieldKind::I32;
}

ValueKind defaultValueKind(FieldKind k, bool scaled) {
  if (isTextual(k) || k == FieldKind::Bcd) return ValueKind::String;
  if (k == FieldKind::Timestamp) return ValueKind::Long;
  if (scaled || k == FieldKind::F32 || k == FieldKind::F64 || k == FieldKind::Decimal) return ValueKind::Double;
  return fitsInt32(k) ? ValueKind::Int : ValueKind::Long;
}

// One field (binary field, text header field or line field).
void checkField(const Values& f, const std::string& path, bool text, bool lineField, Problems& problems) {
  const std::string& typeName = f.getString("type");
  const FieldKind kind = parseKind(typeName);
  if (text && isBinaryKind(kind) && kind != FieldKind::Ascii) {
    report(problems, path, f, "type", typeName + " is a binary type; text fields are ascii, integer, decimal, timestamp or mac");
    return;
  }
  if (!text && isTextKind(kind) && kind != FieldKind::Ascii) {
    report(problems, path, f, "type", typeName + " is a text type; binary fields are u8-u64, i8-i64, float32, float64, ascii, ascii_nul or bcd");
    return;
  }
  if (text) {
    for (const char* key : {"offset", "length", "byte_order"}) {
      if (f.isSet(key)) report(problems, path, f, key, std::string("only binary fields have ") + key + " (text fields are split by the separator)");
    }
  } else {
    if (!f.isSet("offset")) report(problems, path, f, "", "missing required key offset (where the field starts, in bytes from 0)");
    if (isVariableBinary(kind)) {
      if (!f.isSet("length")) report(problems, path, f, "", "missing required key length (" + typeName + " fields have no fixed size)");
    } else if (f.isSet("length") && static_cast<std::size_t>(f.getInt("length")) != fixedSize(kind)) {
      report(problems, path, f, "length", typeName + " is " + std::to_string(fixedSize(kind)) + " bytes, found length " +
                                              std::to_string(f.getInt("length")) + " (leave length out)");
    }
    if (f.isSet("byte_order") && fixedSize(kind) <= 1) {
      report(problems, path, f, "byte_order", "byte_order is only for numbers of 2 bytes or more, not " + typeName);
    }
  }
  if (kind == FieldKind::Timestamp && !f.isSet("pattern")) {
    report(problems, path, f, "", "missing required key pattern (how the timestamp is written, e.g. YYYYMMDD-hh:mm:ss)");
  }
  if (kind != FieldKind::Timestamp && f.isSet("pattern")) report(problems, path, f, "pattern", "only timestamp fields have a pattern");
  const bool scaled = f.isSet("scale") || f.isSet("value_offset");
  if (scaled && !isNumeric(kind)) {
    report(problems, path, f, f.isSet("scale") ? "scale" : "value_offset", "only numeric fields can be scaled, not " + typeName);
  }
  if (f.isSet("scale") && f.getDouble("scale") == 0.0) report(problems, path, f, "scale", "scale 0 would make every value 0");
  const bool hasResource = f.isSet("resource");
  if (f.getBool("personal") && hasResource) {
    report(problems, path, f, "resource", "a personal field never becomes a resource (its values are personal data)");
  }
  if (lineField && hasResource) {
    report(problems, path, f, "resource", "line fields do not become resources (they are returned as line entries)");
  }
  if (f.isSet("value_type")) {
    if (!hasResource && !lineField) {
      report(problems, path, f, "value_type", "value_type is the type of the resource; add resource or remove value_type");
    } else {
      const ValueKind vk = parseValueKind(f.getString("value_type"));
      std::string allowed;
      if (isTextual(kind)) allowed = vk == ValueKind::String ? "" : "string";
      else if (kind == FieldKind::Timestamp) allowed = (vk == ValueKind::Long || vk == ValueKind::String) ? "" : "long (ms since 1970) or string (ISO-8601)";
      else if (kind == FieldKind::Bcd) allowed = vk != ValueKind::Int ? "" : "string, long or double";
      else if (scaled || kind == FieldKind::F32 || kind == FieldKind::F64 || kind == FieldKind::Decimal) {
        allowed = (vk == ValueKind::Double || vk == ValueKind::String) ? "" : "double or string (the value has a fraction)";
      } else if (vk == ValueKind::Int && !fitsInt32(kind) && kind != FieldKind::Integer) {
        allowed = "long, double or string (" + typeName + " does not always fit in an int)";
      }
      if (!allowed.empty()) {
        report(problems, path, f, "value_type", "a " + typeName + (scaled ? " scaled" : "") + " field's value_type is " + allowed +
                                                    ", found " + f.getString("value_type"));
      }
    }
  }
}

struct FieldRef {
  std::string path;
  const Values* values;
  FieldKind kind;
  bool line;
};

void checkLayout(const Values& l, Problems& problems) {
  const bool text = l.getString("format") == "text";
  std::map<std::string, FieldRef> byName;   // header/binary fields and line fields
  std::set<std::string> resources;

  const auto addFields = [&](const std::vector<Values>& fields, const std::string& listPath, bool line) {
    for (std::size_t i = 0; i < fields.size(); ++i) {
      const std::string path = listPath + "[" + std::to_string(i) + "]";
      const Values& f = fields[i];
      checkField(f, path, text, line, problems);
      const std::string& name = f.getString("name");
      const FieldKind kind = parseKind(f.getString("type"));
      if (!byName.emplace(name, FieldRef{path, &f, kind, line}).second) {
        report(problems, path, f, "name", "field " + kit::quoteForMessage(name) + " is declared twice (first at " + byName.at(name).path + ")");
      }
      if (f.isSet("resource") && !resources.insert(f.getString("resource")).second) {
        report(problems, path, f, "resource", "resource " + kit::quoteForMessage(f.getString("resource")) + " is given by two fields");
      }
    }
  };
  addFields(l.list("fields"), "fields", false);
  if (l.isSet("lines")) {
    if (!text) problems.add("lines", "only text layouts have lines (repeated lines after the header)");
    else addFields(l.section("lines").list("fields"), "lines.fields", true);
  }

  // Layout keys for one format only.
  if (text) {
    for (const char* key : {"byte_order", "allow_trailing_bytes"}) {
      if (l.isSet(key)) problems.add(key, std::string(key) + " is only for binary layouts");
    }
    if (l.isSet("length")) problems.add("length", "only binary layouts have a LENGTH field check");
  } else if (l.isSet("separator")) {
    problems.add("separator", "only text layouts have a separator");
  }

  // A layout key naming a field of the header (text) or of the frame (binary).
  const auto lookup = [&](const std::string& key) -> const FieldRef* {
    if (!l.isSet(key)) return nullptr;
    const std::string& name = l.getString(key);
    const auto it = byName.find(name);
    if (it == byName.end() || it->second.line) {
      problems.add(key, "no field " + kit::quoteForMessage(name) + (text ? " in the header fields" : " in fields"));
      return nullptr;
    }
    return &it->second;
  };

  // The discriminator.
  const bool hasField = l.isSet("match.field");
  const bool hasEquals = l.isSet("match.equals");
  const bool hasPrefix = l.isSet("match.prefix");
  if (hasPrefix && !text) {
    problems.add("match.prefix", "a prefix is for text layouts; a binary layout matches a field: {field: TYPE, equals: 0x01}");
  } else if (hasPrefix && (hasField || hasEquals)) {
    problems.add("match.prefix", "give either prefix or field and equals, not both");
  } else if (!hasPrefix && !(hasField && hasEquals)) {
    problems.add("match", text ? "the discriminator needs prefix, or field and equals" : "the discriminator needs field and equals");
  } else if (hasField) {
    if (const FieldRef* ref = lookup("match.field")) {
      const std::string& equals = l.getString("match.equals");
      if (!text) {
        if (!isIntegerKind(ref->kind) || fixedSize(ref->kind) == 0) {
          problems.add("match.field", "the discriminator must be an integer field (u8-u64, i8-i64)");
        } else {
          std::string why;
          const auto literal = parseIntLiteral(equals);
          if (!literal) problems.add("match.equals", "must be an integer (decimal or 0x hex), found " + kit::quoteForMessage(equals));
          else if (!literalBits(*literal, ref->kind, &why)) problems.add("match.equals", equals + " " + why);
        }
      } else if (equals.find(l.getString("separator")) != std::string::npos) {
        problems.add("match.equals", "the value cannot contain the separator " + kit::quoteForMessage(l.getString("separator")));
      }
    }
  }

  if (const FieldRef* ref = lookup("provider")) {
    if (ref->kind == FieldKind::F32 || ref->kind == FieldKind::F64 || ref->kind == FieldKind::Decimal ||
        ref->kind == FieldKind::Timestamp) {
      problems.add("provider", "the provider id must be a text, BCD or integer field");
    } else if (ref->values->getBool("personal")) {
      problems.add("provider", "a personal field cannot be the provider id");
    }
  }
  if (const FieldRef* ref = lookup("counter"); ref != nullptr && !isUnsignedKind(ref->kind) && ref->kind != FieldKind::Integer) {
    problems.add("counter", "the frame counter must be an unsigned integer field (u8-u64, or integer in text)");
  }
  if (const FieldRef* ref = lookup("timestamp"); ref != nullptr && ref->kind != FieldKind::Timestamp) {
    problems.add("timestamp", "the timestamp must be a field of type timestamp");
  }
  if (!text && l.isSet("length")) {
    const std::string& name = l.getString("length.field");
    const auto it = byName.find(name);
    if (it == byName.end()) problems.add("length.field", "no field " + kit::quoteForMessage(name) + " in fields");
    else if (!isUnsignedKind(it->second.kind)) problems.add("length.field", "the LENGTH field must be unsigned (u8-u64)");
  }

  // Binary fields must not overlap (a slip in an offset, almost always).
  if (!text) {
    const auto& fields = l.list("fields");
    std::vector<std::pair<std::size_t, std::size_t>> spans;   // [begin, end)
    for (const Values& f : fields) {
      const FieldKind kind = parseKind(f.getString("type"));
      const std::size_t size = isVariableBinary(kind) ? (f.isSet("length") ? static_cast<std::size_t>(f.getInt("length")) : 0) : fixedSize(kind);
      const std::size_t begin = f.isSet("offset") ? static_cast<std::size_t>(f.getInt("offset")) : 0;
      spans.emplace_back(begin, begin + size);
    }
    for (std::size_t i = 0; i < spans.size(); ++i) {
      for (std::size_t j = 0; j < i; ++j) {
        if (!fields[i].isSet("offset") || spans[i].first >= spans[j].second || spans[j].first >= spans[i].second) continue;
        report(problems, "fields[" + std::to_string(i) + "]", fields[i], "offset",
               "bytes " + std::to_string(spans[i].first) + ".." + std::to_string(spans[i].second - 1) + " overlap field " +
                   fields[j].getString("name") + " (bytes " + std::to_string(spans[j].first) + ".." + std::to_string(spans[j].second - 1) + ")");
        break;
      }
    }
  }
}

// Across layouts: unique names, and no two layouts with the same discriminator (the second would
// never match). Runs only when every layout passed its own checks.
void checkFile(const Values& file, Problems& problems) {
  std::map<std::string, std::size_t> names;
  std::map<std::string, std::size_t> discriminators;
  const auto& layouts = file.list("layouts");
  for (std::size_t i = 0; i < layouts.size(); ++i) {
    const Values& l = layouts[i];
    const std::string path = "layouts[" + std::to_string(i) + "]";
    const std::string& name = l.getString("name");
    if (auto [it, fresh] = names.emplace(name, i); !fresh) {
      report(problems, path, l, "name", "layout " + kit::quoteForMessage(name) + " is declared twice (first at layouts[" + std::to_string(it->second) + "])");
    }
    std::string key;
    if (l.isSet("match.prefix")) {
      key = "prefix:" + l.getString("match.prefix");
    } else {
      const std::string& fieldName = l.getString("match.field");
      for (std::size_t k = 0; k < l.list("fields").size(); ++k) {
        const Values& f = l.list("fields")[k];
        if (f.getString("name") != fieldName) continue;
        if (l.getString("format") == "text") {
          key = "text:" + std::to_string(k) + ":" + l.getString("separator") + ":" + l.getString("match.equals");
        } else {
          const FieldKind kind = parseKind(f.getString("type"));
          std::string why;
          const auto bits = literalBits(*parseIntLiteral(l.getString("match.equals")), kind, &why);
          key = "binary:" + std::to_string(f.getInt("offset")) + ":" + f.getString("type") + ":" +
                (f.isSet("byte_order") ? f.getString("byte_order") : l.getString("byte_order")) + ":" + std::to_string(bits.value_or(0));
        }
      }
    }
    if (auto [it, fresh] = discriminators.emplace(key, i); !fresh) {
      problems.add(path + ".match", l.line(), l.column(),
                   "the same discriminator as layouts[" + std::to_string(it->second) + "] (" + layouts[it->second].getString("name") +
                       "); this layout would never match");
    }
  }
}

// --- the table -------------------------------------------------------------------------------------

std::vector<Field> fieldKeys() {
  return {
      Field::string("name", "").require().validatedBy(checkName, "a name: 1-128 of `A-Z a-z 0-9 _ . : -`").doc("Field name."),
      Field::oneOf("type", "u8", kindNames()).require("u8..u64, i8..i64, float32, float64, ascii, ascii_nul, bcd; text: ascii, integer, decimal, timestamp, mac")
          .doc("How the bytes or the text are read."),
      Field::integer("offset", 0).range(0, kMaxOffset).noDefault().doc("Binary: first byte, from 0."),
      Field::integer("length", 1).range(1, kMaxOffset).noDefault().doc("Binary: bytes (ascii, ascii_nul, bcd; implied for numbers)."),
      Field::oneOf("byte_order", "big", {"big", "little"}).noDefault().doc("Binary numbers: overrides the layout's byte_order."),
      Field::number("scale", 1.0).noDefault().doc("value = raw * scale + value_offset (the value becomes a double)."),
      Field::number("value_offset", 0.0).noDefault().doc("Added after scale."),
      Field::string("unit", "").doc("Unit of the resource value."),
      Field::string("pattern", "").noDefault().checkedBy(checkPatternValue, "YYYY MM DD hh mm ss and literal characters")
          .doc("timestamp fields: how the date is written (UTC), e.g. `YYYYDDMM-hh:mm:ss`."),
      Field::string("resource", "").noDefault().checkedBy(checkResource, "`service/name`").doc("The resource this field becomes."),
      Field::oneOf("value_type", "double", kValueTypes).noDefault().doc("Type of the resource (or line value); default from the field type."),
      Field::boolean("personal", false).doc("Personal data (a MAC address): never a resource, never the provider id."),
  };
}

Schema buildSchema() {
  return Schema{{
      Field::integer("max_datagram_bytes", 2048).range(16, 65507).doc("Larger datagrams are refused before decoding."),
      Field::list("layouts", {
          Field::string("name", "").require().validatedBy(checkName, "a name: 1-128 of `A-Z a-z 0-9 _ . : -`").doc("Layout name."),
          Field::oneOf("format", "binary", {"binary", "text"}).require("binary or text").doc("Binary fields by offset, or text split by a separator."),
          Field::section("match", {
              Field::string("field", "").noDefault().doc("A field whose value identifies the layout."),
              Field::string("equals", "").noDefault().doc("That field's value (binary: decimal or 0x hex)."),
              Field::string("prefix", "").noDefault().doc("Text: the frame starts with this text."),
          }).require("how a frame of this layout is recognised").doc("The discriminator; layouts are tried in file order."),
          Field::oneOf("byte_order", "big", {"big", "little"}).doc("Binary: byte order of the numbers."),
          Field::string("separator", "@").checkedBy(checkSeparator, "1-8 printable ASCII characters").doc("Text: between fields of a line."),
          Field::string("provider", "").require("the field whose value is the provider id").doc("The field that is the provider id."),
          Field::string("counter", "").noDefault().doc("The frame counter field."),
          Field::string("timestamp", "").noDefault().doc("The field with the frame's time (type timestamp)."),
          Field::section("length", {
              Field::string("field", "").require("the LENGTH field's name").doc("The LENGTH field."),
              Field::oneOf("counts", "after", {"after", "frame"}).doc("`after`: the bytes after the LENGTH field; `frame`: the whole datagram."),
          }).doc("Binary: the LENGTH field must equal what it counts."),
          Field::boolean("allow_trailing_bytes", false).doc("Binary: accept bytes after the last field."),
          Field::list("fields", fieldKeys()).require("the frame's fields").itemCount(1, kMaxFields).itemsCalled("fields")
              .doc("Binary: the frame's fields; text: the header line's fields, in order."),
          Field::section("lines", {
              Field::list("fields", fieldKeys()).require("the fields of each line").itemCount(1, 64).itemsCalled("fields")
                  .doc("The fields of each line, in order."),
              Field::integer("max_lines", 256).range(1, 10000).doc("More lines are refused."),
          }).doc("Text: repeated lines after the header (returned as line entries, never resources)."),
      }).require("a list of frame layouts").itemCount(1, kMaxLayouts).itemsCalled("layouts").checkedWith(checkLayout)
        .doc("Frame layouts, tried in order."),
  }, checkFile};
}

const Schema& layoutsFileSchema() {
  static const Schema schema = buildSchema();
  return schema;
}

// --- the conversion --------------------------------------------------------------------------------
// Runs only on a file without problems.

FieldRule toField(const Values& f, bool bigEndianDefault) {
  FieldRule r;
  r.name = f.getString("name");
  r.kind = parseKind(f.getString("type"));
  if (f.isSet("offset")) r.offset = static_cast<std::size_t>(f.getInt("offset"));
  r.length = isVariableBinary(r.kind) && f.isSet("length") ? static_cast<std::size_t>(f.getInt("length")) : fixedSize(r.kind);
  r.bigEndian = f.isSet("byte_order") ? f.getString("byte_order") == "big" : bigEndianDefault;
  r.scaled = f.isSet("scale") || f.isSet("value_offset");
  if (f.isSet("scale")) r.scale = f.getDouble("scale");
  if (f.isSet("value_offset")) r.valueOffset = f.getDouble("value_offset");
  r.unit = f.getString("unit");
  if (f.isSet("pattern")) r.pattern = f.getString("pattern");
  r.personal = f.getBool("personal");
  if (f.isSet("resource")) {
    const std::string& res = f.getString("resource");
    const auto slash = res.find('/');
    r.hasResource = true;
    r.service = res.substr(0, slash);
    r.resource = res.substr(slash + 1);
  }
  r.valueKind = f.isSet("value_type") ? parseValueKind(f.getString("value_type")) : defaultValueKind(r.kind, r.scaled);
  return r;
}

std::size_t indexOf(const std::vector<FieldRule>& fields, const std::string& name) {
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (fields[i].name == name) return i;
  }
  return 0;   // not reached: checked
}

LayoutRule toLayout(const Values& l) {
  LayoutRule r;
  r.name = l.getString("name");
  r.text = l.getString("format") == "text";
  const bool big = l.getString("byte_order") == "big";
  for (const Values& f : l.list("fields")) {
    r.fields.push_back(toField(f, big));
    if (!r.text) r.minSize = std::max(r.minSize, r.fields.back().offset + r.fields.back().length);
  }
  r.separator = l.getString("separator");
  if (l.isSet("match.prefix")) {
    r.matchPrefix = true;
    r.matchText = l.getString("match.prefix");
  } else {
    r.matchField = indexOf(r.fields, l.getString("match.field"));
    r.matchText = l.getString("match.equals");
    if (!r.text) {
      std::string why;
      r.matchNumber = literalBits(*parseIntLiteral(r.matchText), r.fields[*r.matchField].kind, &why).value();
    }
  }
  r.allowTrailing = l.getBool("allow_trailing_bytes");
  if (l.isSet("length")) {
    r.lengthField = indexOf(r.fields, l.getString("length.field"));
    r.lengthCountsFrame = l.getString("length.counts") == "frame";
  }
  r.providerField = indexOf(r.fields, l.getString("provider"));
  if (l.isSet("counter")) r.counterField = indexOf(r.fields, l.getString("counter"));
  if (l.isSet("timestamp")) r.timestampField = indexOf(r.fields, l.getString("timestamp"));
  if (l.isSet("lines")) {
    r.hasLines = true;
    for (const Values& f : l.section("lines").list("fields")) r.lineFields.push_back(toField(f, big));
    r.maxLines = static_cast<std::size_t>(l.section("lines").getInt("max_lines"));
  }
  return r;
}

}  // namespace

std::size_t fixedSize(FieldKind kind) noexcept {
  switch (kind) {
    case FieldKind::U8: case FieldKind::I8: return 1;
    case FieldKind::U16: case FieldKind::I16: return 2;
    case FieldKind::U32: case FieldKind::I32: case FieldKind::F32: return 4;
    case FieldKind::U64: case FieldKind::I64: case FieldKind::F64: return 8;
    default: return 0;
  }
}
bool isBinaryKind(FieldKind kind) noexcept { return kind <= FieldKind::Ascii; }
bool isTextKind(FieldKind kind) noexcept { return kind >= FieldKind::Ascii; }
bool isIntegerKind(FieldKind kind) noexcept { return kind <= FieldKind::I64 || kind == FieldKind::Integer; }
bool isUnsignedKind(FieldKind kind) noexcept { return kind <= FieldKind::U64; }

std::string checkTimestampPattern(std::string_view p) {
  if (p.empty() || p.size() > 64) return "a timestamp pattern is 1 to 64 characters";
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  for (std::size_t i = 0; i < p.size();) {
    if (p.substr(i, 4) == "YYYY") { ++year; i += 4; continue; }
    const std::string_view two = p.substr(i, 2);
    if (two == "MM") ++month;
    else if (two == "DD") ++day;
    else if (two == "hh") ++hour;
    else if (two == "mm") ++minute;
    else if (two == "ss") ++second;
    else {
      const char c = p[i];
      if ((c >= '0' && c <= '9') || c < 0x20 || c > 0x7e) return "pattern literals must be printable and not digits";
      ++i;
      continue;
    }
    i += 2;
  }
  if (year != 1 || month != 1 || day != 1) return "a timestamp pattern needs YYYY, MM and DD once each";
  if (hour > 1 || minute > 1 || second > 1) return "hh, mm and ss may appear at most once each";
  return {};
}

Result<LayoutSet> loadLayouts(std::string_view yaml, const std::string& displayName) {
  try {
    Diagnostics diagnostics;
    const auto root = kit::config::parseYamlDocument(yaml, kit::config::YamlLimits{}, diagnostics);
    if (!root) return kit::badRequest(diagnostics.format(displayName));
    if (!root->IsDefined() || root->IsNull()) {
      return kit::badRequest(displayName + ": the file is empty; it needs a top-level key layouts (a list)");
    }
    const Values values = kit::config::validate(*root, layoutsFileSchema(), {}, diagnostics);
    if (!diagnostics.empty()) return kit::badRequest(diagnostics.format(displayName));

    auto data = std::make_shared<LayoutSet::Data>();
    data->maxDatagramBytes = static_cast<std::size_t>(values.getInt("max_datagram_bytes"));
    for (const Values& l : values.list("layouts")) data->layouts.push_back(toLayout(l));
    return Result<LayoutSet>(LayoutSet(std::move(data)));
  } catch (const std::exception& e) {
    return kit::badRequest(displayName + ": cannot read: " + e.what());
  }
}

LayoutSet::LayoutSet() : data_(std::make_shared<Data>()) {}

Result<LayoutSet> LayoutSet::loadString(std::string_view yaml, const std::string& displayName) {
  return loadLayouts(yaml, displayName);
}

Result<LayoutSet> LayoutSet::loadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return kit::badRequest(path + ": cannot open the layouts file");
  in.seekg(0, std::ios::end);
  const auto size = in.tellg();
  if (size < 0) return kit::badRequest(path + ": cannot read the layouts file");
  if (static_cast<std::size_t>(size) > kMaxFileBytes) {
    return kit::badRequest(path + ": the file is larger than " + std::to_string(kMaxFileBytes) + " bytes");
  }
  in.seekg(0);
  std::string text(static_cast<std::size_t>(size), '\0');
  if (!in.read(text.data(), size)) return kit::badRequest(path + ": cannot read the layouts file");
  return loadLayouts(text, path);
}

std::size_t LayoutSet::size() const { return data_->layouts.size(); }
std::size_t LayoutSet::maxDatagramBytes() const { return data_->maxDatagramBytes; }

std::vector<LayoutInfo> LayoutSet::layouts() const {
  std::vector<LayoutInfo> out;
  for (const auto& l : data_->layouts) {
    LayoutInfo info;
    info.name = l.name;
    info.text = l.text;
    if (l.matchField) info.matchField = l.fields[*l.matchField].name;
    info.matchValue = l.matchText;
    out.push_back(std::move(info));
  }
  return out;
}

}  // namespace gatehouse::bridge::nbiot
