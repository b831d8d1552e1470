// Payload decoders of the CoAP bridge: SenML (RFC 8428) in JSON and CBOR, single values by
// Content-Format, and link-format (RFC 6690).
#include "gatehouse/bridge/coap/payload.h"

#include <charconv>
#include <cmath>

#include "gatehouse/kit/cbor.h"
#include "gatehouse/kit/codec.h"

namespace gatehouse::bridge::coap {

namespace {

// SenML CBOR labels (RFC 8428 6) as the JSON names.
const char* cborLabel(std::string_view key) {
  static constexpr std::pair<const char*, const char*> kLabels[] = {
      {"-1", "bver"}, {"-2", "bn"}, {"-3", "bt"}, {"-4", "bu"}, {"-5", "bv"}, {"-6", "bs"}, {"0", "n"},
      {"1", "u"},     {"2", "v"},   {"3", "vs"},  {"4", "vb"},  {"5", "s"},   {"6", "t"},   {"7", "ut"}, {"8", "vd"},
  };
  for (const auto& [label, name] : kLabels) {
    if (key == label) return name;
  }
  return nullptr;
}

// RFC 8428 4.5.1: names are A-Z a-z 0-9 - : . / _, starting with a letter or digit.
bool validSenmlName(std::string_view n) {
  if (n.empty() || n.size() > 256) return false;
  const auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); };
  if (!alnum(n[0])) return false;
  for (char c : n) {
    if (!alnum(c) && c != '-' && c != ':' && c != '.' && c != '/' && c != '_') return false;
  }
  return true;
}

constexpr double kRelativeTimeLimit = 268435456.0;   // 2^28 s: below, a time is relative to now

kit::Error recordError(std::size_t index, const std::string& what) {
  return kit::badRequest("SenML record " + std::to_string(index) + ": " + what);
}

// The pack with CBOR's integer labels renamed to the JSON names (other keys kept as they are).
kit::Json renameCborLabels(const kit::Json& pack) {
  kit::Json out = pack;
  for (auto& record : out.items) {
    if (!record.isObject()) continue;
    for (auto& m : record.members) {
      if (const char* name = cborLabel(m.name)) m.name = name;
    }
  }
  return out;
}

std::optional<sdk::Value> scalarValue(const kit::Json& j) {
  switch (j.kind) {
    case kit::Json::Kind::Boolean: return sdk::Value::ofBool(j.boolean);
    case kit::Json::Kind::String: return sdk::Value::ofString(j.text);
    case kit::Json::Kind::Number:
      if (j.isInteger()) return sdk::Value::ofLong(j.asInt());
      return sdk::Value::ofDouble(j.number);
    default: return std::nullopt;
  }
}

Result<sdk::Value> fromTree(const kit::Json& j, const char* format) {
  if (j.isNull()) return kit::badRequest(std::string(format) + " payload is null: no value");
  if (auto v = scalarValue(j)) return *v;
  return sdk::Value::ofJson(kit::toJsonText(j));
}

bool isTokenChar(char c) {
  return c > 0x20 && c < 0x7f && c != '"' && c != ',' && c != ';' && c != '<' && c != '>' && c != '=';
}

}  // namespace

std::string contentFormatName(std::uint16_t format) {
  switch (format) {
    case 0: return "text/plain";
    case 40: return "application/link-format";
    case 42: return "application/octet-stream";
    case 50: return "application/json";
    case 60: return "application/cbor";
    case 110: return "application/senml+json";
    case 112: return "application/senml+cbor";
    default: return "content-format " + std::to_string(format);
  }
}

bool isSenml(std::uint16_t format) noexcept { return format == 110 || format == 112; }

Result<std::vector<SenmlRecord>> decodeSenml(const kit::Json& pack, std::int64_t nowMs, const SenmlLimits& limits) {
  if (!pack.isArray()) return kit::badRequest("a SenML pack is an array of records, not " + std::string(kit::kindName(pack.kind)));
  if (pack.items.size() > limits.maxRecords) {
    return kit::badRequest("SenML pack of " + std::to_string(pack.items.size()) + " records; at most " + std::to_string(limits.maxRecords));
  }
  std::string baseName, baseUnit;
  double baseTime = 0, baseValue = 0, baseSum = 0;
  std::vector<SenmlRecord> out;
  for (std::size_t i = 0; i < pack.items.size(); ++i) {
    const kit::Json& r = pack.items[i];
    if (!r.isObject()) return recordError(i, "not an object");
    const kit::Json* n = nullptr;
    const kit::Json* u = nullptr;
    const kit::Json* t = nullptr;
    const kit::Json* s = nullptr;
    const kit::Json* value = nullptr;
    const char* valueField = nullptr;
    for (const auto& m : r.members) {
      const std::string& k = m.name;
      const kit::Json& v = m.value;
      const auto need = [&](kit::Json::Kind kind) -> Result<void> {
        if (v.kind != kind) {
          return recordError(i, k + " must be a " + std::string(kit::kindName(kind)) + ", not " + std::string(kit::kindName(v.kind)));
        }
        return {};
      };
      if (k == "bver") {
        if (auto c = need(kit::Json::Kind::Number); !c) return c.error();
        if (!v.isInteger() || v.asInt() < 1 || v.asInt() > 10) return recordError(i, "bver " + v.text + " is not a version this reader knows (1-10)");
      } else if (k == "bn") {
        if (auto c = need(kit::Json::Kind::String); !c) return c.error();
        baseName = v.text;
      } else if (k == "bt" || k == "bv" || k == "bs") {
        if (auto c = need(kit::Json::Kind::Number); !c) return c.error();
        (k == "bt" ? baseTime : k == "bv" ? baseValue : baseSum) = v.number;
      } else if (k == "bu") {
        if (auto c = need(kit::Json::Kind::String); !c) return c.error();
        baseUnit = v.text;
      } else if (k == "n" || k == "u") {
        if (auto c = need(kit::Json::Kind::String); !c) return c.error();
        (k == "n" ? n : u) = &v;
      } else if (k == "t" || k == "s" || k == "ut") {
        if (auto c = need(kit::Json::Kind::Number); !c) return c.error();
        if (k == "t") t = &v;
        if (k == "s") s = &v;
      } else if (k == "v" || k == "vs" || k == "vb" || k == "vd") {
        if (value != nullptr) return recordError(i, "two values (" + std::string(valueField) + " and " + k + ")");
        const kit::Json::Kind kind = k == "v" ? kit::Json::Kind::Number : k == "vb" ? kit::Json::Kind::Boolean : kit::Json::Kind::String;
        if (auto c = need(kind); !c) return c.error();
        value = &v;
        valueField = k == "v" ? "v" : k == "vs" ? "vs" : k == "vb" ? "vb" : "vd";
      } else if (!k.empty() && k.back() == '_') {
        return recordError(i, "must-understand field " + kit::quoteForMessage(k) + " is not supported");
      }
      // other fields: extensions, ignored (RFC 8428 4.4)
    }
    if (value == nullptr && s == nullptr) {
      if (n == nullptr && u == nullptr && t == nullptr) continue;   // base fields only
      return recordError(i, "no value (v, vs, vb, vd or s)");
    }
    SenmlRecord rec;
    rec.name = baseName + (n != nullptr ? n->text : std::string());
    if (!validSenmlName(rec.name)) {
      return recordError(i, "name " + kit::quoteForMessage(rec.name) + " is not a SenML name (A-Z a-z 0-9 - : . / _, starting with a letter or digit)");
    }
    rec.unit = u != nullptr ? u->text : baseUnit;
    const double time = baseTime + (t != nullptr ? t->number : 0.0);
    const double seconds = time < kRelativeTimeLimit ? static_cast<double>(nowMs) / 1000.0 + time : time;
    auto ms = kit::epochMillisFromSeconds(seconds, "SenML time");
    if (!ms) return recordError(i, ms.message());
    rec.timeMs = *ms;
    if (value != nullptr) {
      const std::string_view f = valueField;
      if (f == "v") {
        const double v = baseValue + value->number;
        if (!std::isfinite(v)) return recordError(i, "v + bv is not a finite number");
        rec.value = sdk::Value::ofDouble(v);
      } else if (f == "vs") {
        rec.value = sdk::Value::ofString(value->text);
      } else if (f == "vb") {
        rec.value = sdk::Value::ofBool(value->boolean);
      } else {
        auto bytes = kit::base64UrlDecode(value->text);
        if (!bytes) return recordError(i, "vd is not base64url: " + bytes.message());
        rec.value = sdk::Value::ofBytes(std::move(*bytes));
      }
    } else {
      const double v = baseSum + s->number;
      if (!std::isfinite(v)) return recordError(i, "s + bs is not a finite number");
      rec.value = sdk::Value::ofDouble(v);
      rec.sum = true;
    }
    out.push_back(std::move(rec));
  }
  return out;
}

Result<std::vector<SenmlRecord>> decodeSenmlJson(std::string_view payload, std::int64_t nowMs, const SenmlLimits& limits) {
  auto pack = kit::parseJson(payload);
  if (!pack) return kit::badRequest("SenML JSON: " + pack.message());
  return decodeSenml(*pack, nowMs, limits);
}

Result<std::vector<SenmlRecord>> decodeSenmlCbor(std::string_view payload, std::int64_t nowMs, const SenmlLimits& limits) {
  auto pack = kit::parseCbor(payload);
  if (!pack) return kit::badRequest("SenML CBOR: " + pack.message());
  // Integer labels become the JSON names; unknown integer labels stay as their decimal text and
  // are ignored like unknown names (extensions).
  return decodeSenml(renameCborLabels(*pack), nowMs, limits);
}

Result<sdk::Value> decodeValue(std::uint16_t format, std::string_view payload) {
  switch (format) {
    case 0: {   // text/plain
      if (!kit::isValidUtf8(payload)) return kit::badRequest("text/plain payload is not valid UTF-8");
      std::string_view t = payload;
      while (!t.empty() && (t.front() == ' ' || t.front() == '\t' || t.front() == '\r' || t.front() == '\n')) t.remove_prefix(1);
      while (!t.empty() && (t.back() == ' ' || t.back() == '\t' || t.back() == '\r' || t.back() == '\n')) t.remove_suffix(1);
      if (t == "true") return sdk::Value::ofBool(true);
      if (t == "false") return sdk::Value::ofBool(false);
      if (!t.empty()) {
        std::int64_t i = 0;
        auto [ip, iec] = std::from_chars(t.data(), t.data() + t.size(), i);
        if (iec == std::errc() && ip == t.data() + t.size()) return sdk::Value::ofLong(i);
        double d = 0;
        auto [dp, dec] = std::from_chars(t.data(), t.data() + t.size(), d);
        if (dec == std::errc() && dp == t.data() + t.size() && std::isfinite(d)) return sdk::Value::ofDouble(d);
      }
      return sdk::Value::ofString(std::string(payload));
    }
    case 42: return sdk::Value::ofBytes(std::string(payload));
    case 50: {
      auto j = kit::parseJson(payload);
      if (!j) return kit::badRequest("application/json: " + j.message());
      return fromTree(*j, "application/json");
    }
    case 60: {
      auto j = kit::parseCbor(payload);
      if (!j) return kit::badRequest("application/cbor: " + j.message());
      return fromTree(*j, "application/cbor");
    }
    default:
      return kit::badRequest(contentFormatName(format) + " is not a single-value format (text/plain, application/json, application/cbor, "
                             "application/octet-stream; SenML packs are read as records)");
  }
}

const std::string* Link::attribute(std::string_view name) const noexcept {
  for (const auto& [k, v] : attributes) {
    if (k == name) return &v;
  }
  return nullptr;
}

std::optional<std::uint16_t> Link::contentFormat() const noexcept {
  const std::string* ct = attribute("ct");
  if (ct == nullptr || ct->empty()) return std::nullopt;
  unsigned value = 0;
  auto [p, ec] = std::from_chars(ct->data(), ct->data() + ct->size(), value);
  // ct may list several formats separated by spaces: the first one is taken
  if (ec != std::errc() || value > 65535 || (p != ct->data() + ct->size() && *p != ' ')) return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

Result<std::vector<Link>> parseLinkFormat(std::string_view text, const LinkLimits& limits) {
  std::vector<Link> links;
  std::size_t i = 0;
  const auto fail = [&](const std::string& what) { return kit::badRequest("link-format: " + what + " at offset " + std::to_string(i)); };
  const auto skipSpace = [&] {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n')) ++i;
  };
  if (!kit::isValidUtf8(text)) return kit::badRequest("link-format: not valid UTF-8");
  skipSpace();
  if (i == text.size()) return links;   // an empty document: no links
  while (true) {
    skipSpace();
    if (i >= text.size() || text[i] != '<') return fail("expected '<' starting a link");
    const auto close = text.find('>', i + 1);
    if (close == std::string_view::npos) return fail("no '>' closing the link target");
    Link link;
    link.target = std::string(text.substr(i + 1, close - i - 1));
    for (char c : link.target) {
      if (static_cast<unsigned char>(c) <= 0x20 || c == '<' || c == '"') return fail("the link target holds a character not allowed in a URI");
    }
    i = close + 1;
    skipSpace();
    while (i < text.size() && text[i] == ';') {
      ++i;
      skipSpace();
      const std::size_t start = i;
      while (i < text.size() && isTokenChar(text[i]) && text[i] != '*') ++i;
      if (i < text.size() && text[i] == '*') ++i;   // RFC 5987 extended parameter name (title*)
      if (i == start) return fail("expected a parameter name");
      std::string name(text.substr(start, i - start));
      std::string value;
      skipSpace();
      if (i < text.size() && text[i] == '=') {
        ++i;
        skipSpace();
        if (i < text.size() && text[i] == '"') {
          ++i;
          while (true) {
            if (i >= text.size()) return fail("unterminated quoted string");
            const char c = text[i++];
            if (c == '"') break;
            if (c == '\\') {
              if (i >= text.size()) return fail("unterminated quoted string");
              value += text[i++];
              continue;
            }
            value += c;
          }
        } else {
          const std::size_t vstart = i;
          while (i < text.size() && isTokenChar(text[i])) ++i;
          if (i == vstart) return fail("expected a parameter value after '='");
          value = std::string(text.substr(vstart, i - vstart));
        }
      }
      if (link.attributes.size() >= limits.maxAttributes) return fail("more than " + std::to_string(limits.maxAttributes) + " attributes on one link");
      link.attributes.emplace_back(std::move(name), std::move(value));
      skipSpace();
    }
    if (links.size() >= limits.maxLinks) return fail("more than " + std::to_string(limits.maxLinks) + " links");
    links.push_back(std::move(link));
    skipSpace();
    if (i == text.size()) return links;
    if (text[i] != ',') return fail("expected ',' or ';' after a link");
    ++i;
  }
}

}  // namespace gatehouse::bridge::coap
