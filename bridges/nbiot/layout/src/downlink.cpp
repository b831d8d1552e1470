// Downlink frames: encoding a SET value or ACT parameters with a layout's `downlinks` rules, and
// the LayoutSet accessors for sources and downlinks.
#include <cmath>
#include <cstring>
#include <limits>

#include "gatehouse/kit/codec.h"
#include "gatehouse/kit/json_write.h"
#include "layout_data.h"

namespace gatehouse::bridge::nbiot {

namespace {

const std::vector<DownlinkInfo> kNoDownlinks;

void putBits(std::string& out, std::uint64_t bits, std::size_t size, bool bigEndian) {
  for (std::size_t i = 0; i < size; ++i) {
    const std::size_t shift = 8 * (bigEndian ? size - 1 - i : i);
    out.push_back(static_cast<char>((bits >> shift) & 0xff));
  }
}

std::string describeValue(const sdk::Value& v) {
  if (v.isNull()) return "null";
  switch (v.type()) {
    case sdk::ValueType::Int:
    case sdk::ValueType::Long: return std::to_string(v.asInteger());
    case sdk::ValueType::Double: {
      std::string out;
      kit::json::appendDouble(out, v.asDouble());
      return out;
    }
    case sdk::ValueType::Boolean: return v.asBool() ? "true" : "false";
    case sdk::ValueType::String: return kit::quoteForMessage(v.asString(), 64);
    default: return "a value of type " + std::string(sdk::toString(v.type()));
  }
}

// The number a value holds (Int, Long, Double), or nullopt for anything else.
std::optional<double> numberOf(const sdk::Value& v) {
  if (v.isNull()) return std::nullopt;
  switch (v.type()) {
    case sdk::ValueType::Int:
    case sdk::ValueType::Long:
    case sdk::ValueType::Double: return v.asDouble();
    default: return std::nullopt;
  }
}

Result<void> checkBounds(const std::string& what, const sdk::Value& v, std::optional<double> min, std::optional<double> max) {
  if (!min && !max) return {};
  const auto number = numberOf(v);
  if (!number) return kit::badRequest(what + " must be a number, found " + describeValue(v));
  if ((min && *number < *min) || (max && *number > *max)) {
    std::string range;
    if (min) kit::json::appendDouble(range, *min);
    range += "..";
    if (max) kit::json::appendDouble(range, *max);
    return kit::badRequest(what + " " + describeValue(v) + " is outside " + range);
  }
  return {};
}

Result<void> encodePart(std::string& out, const EncodePart& part, const sdk::Value* value, const std::string& what,
                        bool text, const std::string& separator) {
  if (part.kind == FieldKind::Ascii) {
    std::string t;
    if (part.isConst) {
      t = part.constText;
    } else if (value->type() == sdk::ValueType::String) {
      t = value->asString();
      for (char c : t) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return kit::badRequest(what + ": control characters are not allowed");
      }
      if (text && !separator.empty() && t.find(separator) != std::string::npos) {
        return kit::badRequest(what + " must not contain the separator " + kit::quoteForMessage(separator));
      }
    } else if (value->type() == sdk::ValueType::Int || value->type() == sdk::ValueType::Long) {
      t = std::to_string(value->asInteger());
    } else if (value->type() == sdk::ValueType::Double) {
      kit::json::appendDouble(t, value->asDouble());
    } else if (value->type() == sdk::ValueType::Boolean) {
      t = value->asBool() ? "1" : "0";
    } else {
      return kit::badRequest(what + " cannot be written as text: " + describeValue(*value));
    }
    out += t;
    return {};
  }
  const std::size_t size = fixedSize(part.kind);
  if (part.isConst) {
    putBits(out, part.constBits, size, part.bigEndian);
    return {};
  }
  const auto number = numberOf(*value);
  if (!number) return kit::badRequest(what + " must be a number, found " + describeValue(*value));
  const double scaled = *number / part.scale;
  if (part.kind == FieldKind::F32) {
    const float f = static_cast<float>(scaled);
    std::uint32_t bits = 0;
    std::memcpy(&bits, &f, sizeof bits);
    putBits(out, bits, 4, part.bigEndian);
    return {};
  }
  if (part.kind == FieldKind::F64) {
    std::uint64_t bits = 0;
    std::memcpy(&bits, &scaled, sizeof bits);
    putBits(out, bits, 8, part.bigEndian);
    return {};
  }
  if (!std::isfinite(scaled)) return kit::badRequest(what + " is not a finite number");
  const double rounded = std::nearbyint(scaled);
  const std::size_t bits = size * 8;
  double lo = 0, hi = 0;
  if (isUnsignedKind(part.kind)) {
    hi = bits >= 64 ? 18446744073709549568.0 : std::ldexp(1.0, static_cast<int>(bits)) - 1;
  } else {
    lo = -std::ldexp(1.0, static_cast<int>(bits) - 1);
    hi = bits >= 64 ? 9223372036854774784.0 : std::ldexp(1.0, static_cast<int>(bits) - 1) - 1;
  }
  if (rounded < lo || rounded > hi) {
    std::string shown;
    kit::json::appendDouble(shown, rounded);
    return kit::badRequest(what + " " + describeValue(*value) + " does not fit the downlink's " + std::to_string(bits) + "-bit " +
                           (isUnsignedKind(part.kind) ? "unsigned" : "signed") + " field (raw " + shown + ")");
  }
  const std::uint64_t raw = isUnsignedKind(part.kind) ? static_cast<std::uint64_t>(rounded)
                                                      : static_cast<std::uint64_t>(static_cast<std::int64_t>(rounded));
  putBits(out, raw, size, part.bigEndian);
  return {};
}

}  // namespace

bool LayoutSet::sourceAllowed(std::size_t layoutIndex, const sockaddr* addr) const noexcept {
  if (layoutIndex >= data_->layouts.size()) return false;
  const auto& sources = data_->layouts[layoutIndex].sources;
  if (sources.empty()) return true;
  for (const auto& n : sources) {
    if (networkContains(n, addr)) return true;
  }
  return false;
}

std::string LayoutSet::sourcesText(std::size_t layoutIndex) const {
  if (layoutIndex >= data_->layouts.size()) return {};
  std::string out;
  for (const auto& n : data_->layouts[layoutIndex].sources) {
    if (!out.empty()) out += ", ";
    out += formatNetwork(n);
  }
  return out;
}

const std::vector<DownlinkInfo>& LayoutSet::downlinks(std::size_t layoutIndex) const {
  if (layoutIndex >= data_->layouts.size()) return kNoDownlinks;
  return data_->downlinkInfos[layoutIndex];
}

Result<std::string> LayoutSet::encodeDownlink(std::size_t layoutIndex, std::size_t downlinkIndex,
                                              const std::vector<std::pair<std::string, sdk::Value>>& values) const {
  if (layoutIndex >= data_->layouts.size() || downlinkIndex >= data_->layouts[layoutIndex].downlinks.size()) {
    return kit::notFound("no such downlink");
  }
  const LayoutRule& layout = data_->layouts[layoutIndex];
  const DownlinkRule& rule = layout.downlinks[downlinkIndex];
  const auto find = [&](const std::string& name) -> const sdk::Value* {
    for (const auto& [n, v] : values) {
      if (n == name) return &v;
    }
    return nullptr;
  };
  // Bounds first, so that a value outside them is reported as such (not as a field overflow).
  if (!rule.info.action) {
    const sdk::Value* v = find("value");
    if (v == nullptr || v->isNull()) return kit::badRequest("the SET needs a value");
    if (auto b = checkBounds("the value", *v, rule.info.min, rule.info.max); !b) return b.error();
  } else {
    for (const auto& p : rule.info.params) {
      const sdk::Value* v = find(p.name);
      if (v == nullptr || v->isNull()) continue;   // reported by the part that needs it
      if (auto b = checkBounds("parameter " + p.name, *v, p.min, p.max); !b) return b.error();
    }
  }
  std::string out;
  for (std::size_t i = 0; i < rule.parts.size(); ++i) {
    const EncodePart& part = rule.parts[i];
    const sdk::Value* v = nullptr;
    std::string what;
    if (!part.isConst) {
      v = find(part.from);
      what = rule.info.action ? "parameter " + part.from : "the value";
      if (v == nullptr || v->isNull()) return kit::badRequest("the downlink needs " + what + " (encode[" + std::to_string(i) + "])");
    }
    if (auto r = encodePart(out, part, v, what, layout.text, layout.separator); !r) return r.error();
  }
  return out;
}

}  // namespace gatehouse::bridge::nbiot
