// Reading the layouts file with the kit's config engine (gatehouse/kit/config), like the MQTT
// bridge's mappings file: the file's schema in one table, the rules between keys as checks of that
// table, then a short conversion into the LayoutSet data. Strict, every problem reported at once as
// "FILE:LINE:COL: key.path: message".
#include <cmath>
#include <map>
#include <set>

#include "gatehouse/kit/codec.h"
#include "gatehouse/kit/json_write.h"
#include "gatehouse/kit/config/file.h"
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
const std::vector<std::string> kEncodeKinds = {"u8", "u16", "u32", "u64", "i8", "i16", "i32", "i64", "float32", "float64", "ascii"};

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

// One downlink of a layout. `uplink` holds the resources the layout's fields become (a resource is
// either read from frames or commanded, not both); `seen` the downlink resources so far.
void checkDownlink(const Values& d, const std::string& path, bool text, const std::set<std::string>& uplink,
                   std::set<std::string>& seen, Problems& problems) {
  const std::string& resource = d.getString("resource");
  if (uplink.count(resource) != 0) {
    report(problems, path, d, "resource", "resource " + kit::quoteForMessage(resource) + " is also a field's resource (read from frames); a downlink needs its own");
  }
  if (!seen.insert(resource).second) {
    report(problems, path, d, "resource", "resource " + kit::quoteForMessage(resource) + " has two downlinks");
  }
  const bool action = d.getBool("action");
  std::set<std::string> names;   // what `from` may name
  if (action) {
    for (const char* key : {"value_type", "min", "max"}) {
      if (d.isSet(key)) report(problems, path, d, key, std::string(key) + " is for a SET; an action's values are its params");
    }
    const auto& params = d.list("params");
    for (std::size_t i = 0; i < params.size(); ++i) {
      const std::string ppath = path + ".params[" + std::to_string(i) + "]";
      if (!names.insert(params[i].getString("name")).second) {
        report(problems, ppath, params[i], "name", "parameter " + kit::quoteForMessage(params[i].getString("name")) + " is declared twice");
      }
      const bool textParam = params[i].getString("value_type") == "string";
      for (const char* key : {"min", "max"}) {
        if (textParam && params[i].isSet(key)) report(problems, ppath, params[i], key, std::string(key) + " is for numbers, not a string parameter");
      }
      if (params[i].isSet("min") && params[i].isSet("max") && params[i].getDouble("min") > params[i].getDouble("max")) {
        report(problems, ppath, params[i], "min", "min is larger than max");
      }
    }
  } else {
    if (!d.isSet("value_type")) report(problems, path, d, "", "missing required key value_type (the type of the value a SET gives)");
    if (!d.list("params").empty()) report(problems, path, d, "params", "params are for an action (action: true); a SET gives one value");
    if (d.isSet("min") && d.isSet("max") && d.getDouble("min") > d.getDouble("max")) report(problems, path, d, "min", "min is larger than max");
    if (d.isSet("value_type") && d.getString("value_type") == "string") {
      for (const char* key : {"min", "max"}) {
        if (d.isSet(key)) report(problems, path, d, key, std::string(key) + " is for numbers, not a string value");
      }
    }
    names.insert("value");
  }
  const auto& parts = d.list("encode");
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const std::string ppath = path + ".encode[" + std::to_string(i) + "]";
    const Values& p = parts[i];
    const FieldKind kind = parseKind(p.getString("type"));
    if (p.isSet("const") == p.isSet("from")) {
      report(problems, ppath, p, "", "give either const (a constant) or from (value, or a parameter), not " +
                                         std::string(p.isSet("const") ? "both" : "neither"));
      continue;
    }
    if (text && kind != FieldKind::Ascii) {
      report(problems, ppath, p, "type", "a text layout's downlink is text: its parts are ascii");
    }
    if (p.isSet("byte_order") && fixedSize(kind) <= 1) report(problems, ppath, p, "byte_order", "byte_order is only for numbers of 2 bytes or more");
    if (p.isSet("scale") && (kind == FieldKind::Ascii || p.isSet("const"))) report(problems, ppath, p, "scale", "scale is for numbers taken from a value");
    if (p.isSet("scale") && p.getDouble("scale") == 0.0) report(problems, ppath, p, "scale", "scale 0 would divide by zero");
    if (p.isSet("from") && names.count(p.getString("from")) == 0) {
      report(problems, ppath, p, "from", action ? "no parameter " + kit::quoteForMessage(p.getString("from")) + " in params"
                                               : "a SET's part takes from: value, found " + kit::quoteForMessage(p.getString("from")));
    }
    // The declared bounds of what the part takes must fit the part (after scale).
    if (p.isSet("from") && isIntegerKind(kind) && names.count(p.getString("from")) != 0) {
      const std::string& from = p.getString("from");
      std::optional<double> lo, hi;
      if (!action) {
        if (d.isSet("min")) lo = d.getDouble("min");
        if (d.isSet("max")) hi = d.getDouble("max");
      } else {
        for (const Values& param : d.list("params")) {
          if (param.getString("name") != from) continue;
          if (param.isSet("min")) lo = param.getDouble("min");
          if (param.isSet("max")) hi = param.getDouble("max");
        }
      }
      const double scale = p.isSet("scale") ? p.getDouble("scale") : 1.0;
      const int bits = static_cast<int>(fixedSize(kind) * 8);
      const double fieldMin = isUnsignedKind(kind) ? 0.0 : -std::ldexp(1.0, bits - 1);
      const double fieldMax = isUnsignedKind(kind) ? std::ldexp(1.0, bits) - 1 : std::ldexp(1.0, bits - 1) - 1;
      const auto outside = [&](double v) {
        const double raw = scale != 0.0 ? std::nearbyint(v / scale) : v;
        return raw < fieldMin || raw > fieldMax;
      };
      for (const auto& [bound, name] : {std::pair{lo, "min"}, std::pair{hi, "max"}}) {
        if (!bound || !outside(*bound)) continue;
        std::string shown, range;
        kit::json::appendDouble(shown, *bound);
        range = "(" + std::to_string(static_cast<long long>(fieldMin)) + ".." +
                (bits >= 64 ? std::string("2^") + std::to_string(bits) : std::to_string(static_cast<unsigned long long>(fieldMax))) + ")";
        report(problems, ppath, p, "from", std::string(action ? "the parameter's " : "the value's ") + name + " " + shown +
                                               " does not fit this " + p.getString("type") + " part " + range);
      }
    }
    if (p.isSet("const") && kind != FieldKind::Ascii) {
      const std::string& c = p.getString("const");
      std::string why;
      if (kind == FieldKind::F32 || kind == FieldKind::F64) {
        report(problems, ppath, p, "const", "a float constant is not supported; use an integer part");
      } else if (const auto literal = parseIntLiteral(c); !literal) {
        report(problems, ppath, p, "const", "must be an integer (decimal or 0x hex), found " + kit::quoteForMessage(c));
      } else if (!literalBits(*literal, kind, &why)) {
        report(problems, ppath, p, "const", c + " " + why);
      }
    }
    if (p.isSet("const") && kind == FieldKind::Ascii) {
      for (char c : p.getString("const")) {
        if (static_cast<unsigned char>(c) < 0x20 && c != '\n') {
          report(problems, ppath, p, "const", "control characters other than a line end are not allowed in ascii constants");
          break;
        }
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
    else {
      addFields(l.section("lines").list("fields"), "lines.fields", true);
      for (const char* key : {"resource", "count_resource"}) {
        if (l.section("lines").isSet(key) && !resources.insert(l.section("lines").getString(key)).second) {
          problems.add(std::string("lines.") + key, "resource " + kit::quoteForMessage(l.section("lines").getString(key)) + " is given twice");
        }
      }
    }
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

  // Sources: each a network.
  const auto& sources = l.getStringList("sources");
  for (std::size_t i = 0; i < sources.size(); ++i) {
    if (auto n = parseNetwork(sources[i]); !n) problems.add("sources[" + std::to_string(i) + "]", n.message());
  }

  // Downlinks.
  std::set<std::string> downlinkResources;
  const auto& downlinks = l.list("downlinks");
  for (std::size_t i = 0; i < downlinks.size(); ++i) {
    checkDownlink(downlinks[i], "downlinks[" + std::to_string(i) + "]", text, resources, downlinkResources, problems);
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

std::vector<Field> downlinkKeys() {
  return {
      Field::string("resource", "").require("the resource, `service/name`").checkedBy(checkResource, "`service/name`")
          .doc("The resource SET (or ACT, with action: true) on a device of this layout."),
      Field::boolean("action", false).doc("An ACT with params (else a SET of the resource's value)."),
      Field::oneOf("value_type", "int", kValueTypes).noDefault().doc("SET: the value's type (required for a SET)."),
      Field::number("min", 0.0).noDefault().doc("SET: the smallest value accepted."),
      Field::number("max", 0.0).noDefault().doc("SET: the largest value accepted."),
      Field::string("unit", "").doc("SET: the resource's unit."),
      Field::string("description", "").doc("Shown in the resource's metadata."),
      Field::list("params", {
          Field::string("name", "").require().validatedBy(checkName, "a name: 1-128 of `A-Z a-z 0-9 _ . : -`").doc("Parameter name."),
          Field::oneOf("value_type", "int", kValueTypes).require("int, long, double or string").doc("Parameter type."),
          Field::number("min", 0.0).noDefault().doc("Smallest value accepted."),
          Field::number("max", 0.0).noDefault().doc("Largest value accepted."),
      }).itemCount(0, 16).itemsCalled("params").doc("ACT: its parameters, in order."),
      Field::list("encode", {
          Field::oneOf("type", "u8", kEncodeKinds).require("u8..u64, i8..i64, float32, float64 or ascii").doc("How the part is written."),
          Field::oneOf("byte_order", "big", {"big", "little"}).noDefault().doc("Numbers of 2 bytes or more: overrides the layout's."),
          Field::string("const", "").noDefault().doc("A constant: an integer (decimal or 0x hex) or, for ascii, text."),
          Field::string("from", "").noDefault().doc("`value` (SET) or a parameter's name (ACT)."),
          Field::number("scale", 1.0).noDefault().doc("raw = value / scale, rounded (numbers)."),
      }).require("the parts of the downlink frame, in order").itemCount(1, 64).itemsCalled("parts")
        .doc("The downlink frame: its parts in order."),
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
              Field::string("resource", "").noDefault().checkedBy(checkResource, "`service/name`")
                  .doc("The resource the entries become: a JSON array of objects, personal fields as keyed hashes."),
              Field::string("count_resource", "").noDefault().checkedBy(checkResource, "`service/name`")
                  .doc("The resource that gets the number of lines."),
          }).doc("Text: repeated lines after the header (returned as line entries, never resources)."),
          Field::stringList("sources").itemCount(0, 256).itemsCalled("networks")
              .doc("Networks frames of this layout may come from (`10.0.0.0/8`, `2001:db8::/32`); empty: any source."),
          Field::list("downlinks", downlinkKeys()).itemCount(0, 64).itemsCalled("downlinks")
              .doc("SET/ACT commands for the layout's devices, sent as the reply to their next uplink."),
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

sdk::ValueType toValueType(const std::string& name) {
  switch (parseValueKind(name)) {
    case ValueKind::Int: return sdk::ValueType::Int;
    case ValueKind::Long: return sdk::ValueType::Long;
    case ValueKind::Double: return sdk::ValueType::Double;
    case ValueKind::String: return sdk::ValueType::String;
  }
  return sdk::ValueType::String;
}

std::optional<double> optionalNumber(const Values& v, const char* key) {
  return v.isSet(key) ? std::optional<double>(v.getDouble(key)) : std::nullopt;
}

DownlinkRule toDownlink(const Values& d, bool bigEndianDefault) {
  DownlinkRule r;
  const std::string& res = d.getString("resource");
  const auto slash = res.find('/');
  r.info.service = res.substr(0, slash);
  r.info.resource = res.substr(slash + 1);
  r.info.action = d.getBool("action");
  r.info.unit = d.getString("unit");
  r.info.description = d.getString("description");
  if (!r.info.action) {
    r.info.type = toValueType(d.getString("value_type"));
    r.info.min = optionalNumber(d, "min");
    r.info.max = optionalNumber(d, "max");
  }
  for (const Values& p : d.list("params")) {
    DownlinkParam param;
    param.name = p.getString("name");
    param.type = toValueType(p.getString("value_type"));
    param.min = optionalNumber(p, "min");
    param.max = optionalNumber(p, "max");
    r.info.params.push_back(std::move(param));
  }
  for (const Values& p : d.list("encode")) {
    EncodePart part;
    part.kind = parseKind(p.getString("type"));
    part.bigEndian = p.isSet("byte_order") ? p.getString("byte_order") == "big" : bigEndianDefault;
    if (p.isSet("const")) {
      part.isConst = true;
      if (part.kind == FieldKind::Ascii) {
        part.constText = p.getString("const");
      } else {
        std::string why;
        part.constBits = literalBits(*parseIntLiteral(p.getString("const")), part.kind, &why).value();
      }
    } else {
      part.from = p.getString("from");
    }
    if (p.isSet("scale")) part.scale = p.getDouble("scale");
    r.parts.push_back(std::move(part));
  }
  return r;
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
  for (const std::string& n : l.getStringList("sources")) r.sources.push_back(parseNetwork(n).value());
  for (const Values& d : l.list("downlinks")) r.downlinks.push_back(toDownlink(d, big));
  if (l.isSet("lines")) {
    r.hasLines = true;
    for (const Values& f : l.section("lines").list("fields")) r.lineFields.push_back(toField(f, big));
    r.maxLines = static_cast<std::size_t>(l.section("lines").getInt("max_lines"));
    const auto split = [](const std::string& res, std::string& service, std::string& name) {
      const auto slash = res.find('/');
      service = res.substr(0, slash);
      name = res.substr(slash + 1);
    };
    if (l.section("lines").isSet("resource")) split(l.section("lines").getString("resource"), r.linesService, r.linesResource);
    if (l.section("lines").isSet("count_resource")) split(l.section("lines").getString("count_resource"), r.countService, r.countResource);
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
    for (const Values& l : values.list("layouts")) {
      data->layouts.push_back(toLayout(l));
      auto& infos = data->downlinkInfos.emplace_back();
      for (const auto& d : data->layouts.back().downlinks) infos.push_back(d.info);
    }
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
  auto text = kit::config::readConfigFile(path, kMaxFileBytes, "the layouts file");
  if (!text) return std::move(text).error();
  return loadLayouts(*text, path);
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
    info.linesService = l.linesService;
    info.linesResource = l.linesResource;
    info.countService = l.countService;
    info.countResource = l.countResource;
    out.push_back(std::move(info));
  }
  return out;
}

}  // namespace gatehouse::bridge::nbiot
