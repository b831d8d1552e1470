#include "gatehouse/bridge/mqtt/json.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <string_view>

#include "gatehouse/bridge/mqtt/payload.h"

namespace gatehouse::bridge::mqtt {

namespace {

// A number literal longer than this is refused: no device sends 500 digits, and it bounds the
// work from_chars does per number.
constexpr std::size_t kMaxNumberLiteral = 400;

class Parser {
 public:
  Parser(std::string_view text, int maxDepth) : s_(text), maxDepth_(maxDepth) {}

  Result<JsonValue> run() {
    JsonValue root;
    skipSpace();
    if (!parseValue(root, 0)) return kit::badRequest(error_);
    skipSpace();
    if (pos_ != s_.size()) {
      fail("unexpected text after the JSON value");
      return kit::badRequest(error_);
    }
    return Result<JsonValue>(std::move(root));
  }

 private:
  bool fail(const std::string& what) {
    if (error_.empty()) error_ = "invalid JSON: " + what + " at offset " + std::to_string(pos_);
    return false;
  }
  void skipSpace() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) ++pos_;
  }
  bool literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) return fail("unknown literal");
    pos_ += word.size();
    return true;
  }

  bool parseValue(JsonValue& out, int depth) {
    if (pos_ >= s_.size()) return fail("unexpected end of input");
    const char c = s_[pos_];
    switch (c) {
      case '{': return parseObject(out, depth + 1);
      case '[': return parseArray(out, depth + 1);
      case '"': out.kind = JsonValue::Kind::String; return parseString(out.text);
      case 't': out.kind = JsonValue::Kind::Boolean; out.boolean = true; return literal("true");
      case 'f': out.kind = JsonValue::Kind::Boolean; out.boolean = false; return literal("false");
      case 'n': out.kind = JsonValue::Kind::Null; return literal("null");
      default:
        if (c == '-' || (c >= '0' && c <= '9')) return parseNumber(out);
        return fail("unexpected character");
    }
  }

  bool parseObject(JsonValue& out, int depth) {
    if (depth > maxDepth_) return fail("nesting deeper than " + std::to_string(maxDepth_));
    out.kind = JsonValue::Kind::Object;
    ++pos_;
    skipSpace();
    if (pos_ < s_.size() && s_[pos_] == '}') { ++pos_; return true; }
    while (true) {
      skipSpace();
      if (pos_ >= s_.size() || s_[pos_] != '"') return fail("expected a member name in quotes");
      const std::size_t keyOffset = pos_;
      std::string key;
      if (!parseString(key)) return false;
      skipSpace();
      if (pos_ >= s_.size() || s_[pos_] != ':') return fail("expected ':' after a member name");
      ++pos_;
      skipSpace();
      JsonValue member;
      if (!parseValue(member, depth)) return false;
      out.members.push_back(JsonMember{std::move(key), std::move(member)});
      offsets_.push_back(keyOffset);
      skipSpace();
      if (pos_ >= s_.size()) return fail("unexpected end of input in an object");
      if (s_[pos_] == ',') { ++pos_; continue; }
      if (s_[pos_] == '}') { ++pos_; break; }
      return fail("expected ',' or '}' in an object");
    }
    // Duplicate keys: sort the names once (n log n, so 40k members stay cheap) and compare neighbours.
    std::vector<std::size_t> order(out.members.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      return out.members[a].first < out.members[b].first || (out.members[a].first == out.members[b].first && a < b);
    });
    const std::size_t base = offsets_.size() - out.members.size();
    for (std::size_t i = 1; i < order.size(); ++i) {
      if (out.members[order[i]].first == out.members[order[i - 1]].first) {
        pos_ = offsets_[base + order[i]];
        return fail("duplicate member name \"" + shorten(out.members[order[i]].first) + "\"");
      }
    }
    offsets_.resize(base);
    return true;
  }

  bool parseArray(JsonValue& out, int depth) {
    if (depth > maxDepth_) return fail("nesting deeper than " + std::to_string(maxDepth_));
    out.kind = JsonValue::Kind::Array;
    ++pos_;
    skipSpace();
    if (pos_ < s_.size() && s_[pos_] == ']') { ++pos_; return true; }
    while (true) {
      skipSpace();
      JsonValue item;
      if (!parseValue(item, depth)) return false;
      out.items.push_back(std::move(item));
      skipSpace();
      if (pos_ >= s_.size()) return fail("unexpected end of input in an array");
      if (s_[pos_] == ',') { ++pos_; continue; }
      if (s_[pos_] == ']') { ++pos_; return true; }
      return fail("expected ',' or ']' in an array");
    }
  }

  bool parseNumber(JsonValue& out) {
    const std::size_t start = pos_;
    auto digits = [&] {
      const std::size_t from = pos_;
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
      return pos_ - from;
    };
    if (s_[pos_] == '-') ++pos_;
    if (pos_ < s_.size() && s_[pos_] == '0') {
      ++pos_;
    } else if (digits() == 0) {
      return fail("expected a digit");
    }
    if (pos_ < s_.size() && s_[pos_] == '.') {
      ++pos_;
      if (digits() == 0) return fail("expected a digit after '.'");
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
      if (digits() == 0) return fail("expected a digit in the exponent");
    }
    const std::string_view lit = s_.substr(start, pos_ - start);
    if (lit.size() > kMaxNumberLiteral) {
      pos_ = start;
      return fail("number literal longer than " + std::to_string(kMaxNumberLiteral) + " characters");
    }
    double v = 0;
    const auto [ptr, ec] = std::from_chars(lit.data(), lit.data() + lit.size(), v);
    if (ec != std::errc() || ptr != lit.data() + lit.size() || !std::isfinite(v)) {
      pos_ = start;
      return fail("number " + std::string(lit.substr(0, 40)) + " is outside the range of a double");
    }
    out.kind = JsonValue::Kind::Number;
    out.number = v;
    out.text.assign(lit);
    return true;
  }

  static void appendUtf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  bool hex4(std::uint32_t& out) {
    if (s_.size() - pos_ < 4) return fail("truncated \\u escape");
    out = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = s_[pos_++];
      out <<= 4;
      if (c >= '0' && c <= '9') out |= static_cast<std::uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f') out |= static_cast<std::uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') out |= static_cast<std::uint32_t>(c - 'A' + 10);
      else { --pos_; return fail("bad hex digit in a \\u escape"); }
    }
    return true;
  }

  bool parseString(std::string& out) {
    ++pos_;   // opening quote
    while (true) {
      if (pos_ >= s_.size()) return fail("unterminated string");
      const auto c = static_cast<unsigned char>(s_[pos_]);
      if (c == '"') { ++pos_; return true; }
      if (c < 0x20) return fail("control character in a string");
      if (c == '\\') {
        ++pos_;
        if (pos_ >= s_.size()) return fail("unterminated string");
        const char e = s_[pos_++];
        switch (e) {
          case '"': out += '"'; break;
          case '\\': out += '\\'; break;
          case '/': out += '/'; break;
          case 'b': out += '\b'; break;
          case 'f': out += '\f'; break;
          case 'n': out += '\n'; break;
          case 'r': out += '\r'; break;
          case 't': out += '\t'; break;
          case 'u': {
            std::uint32_t cp = 0;
            if (!hex4(cp)) return false;
            if (cp >= 0xDC00 && cp <= 0xDFFF) return fail("lone low surrogate in a \\u escape");
            if (cp >= 0xD800 && cp <= 0xDBFF) {
              std::uint32_t low = 0;
              if (s_.substr(pos_, 2) != "\\u") return fail("high surrogate without a low surrogate");
              pos_ += 2;
              if (!hex4(low)) return false;
              if (low < 0xDC00 || low > 0xDFFF) return fail("high surrogate without a low surrogate");
              cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            }
            appendUtf8(out, cp);
            break;
          }
          default: --pos_; return fail("unknown escape");
        }
        continue;
      }
      const std::size_t len = validUtf8Sequence(s_.substr(pos_));
      if (len == 0) return fail("invalid UTF-8 in a string");
      out.append(s_.substr(pos_, len));
      pos_ += len;
    }
  }

  static std::string shorten(const std::string& s) { return s.size() <= 40 ? s : s.substr(0, 40) + "..."; }

  std::string_view s_;
  std::size_t pos_ = 0;
  int maxDepth_;
  std::string error_;
  std::vector<std::size_t> offsets_;   // offsets of member names of the objects being parsed
};

void appendValue(std::string& out, const JsonValue& v) {
  switch (v.kind) {
    case JsonValue::Kind::Null: out += "null"; break;
    case JsonValue::Kind::Boolean: out += v.boolean ? "true" : "false"; break;
    case JsonValue::Kind::Number: out += v.text; break;
    case JsonValue::Kind::String: appendJsonString(out, v.text); break;
    case JsonValue::Kind::Array:
      out += '[';
      for (std::size_t i = 0; i < v.items.size(); ++i) {
        if (i > 0) out += ',';
        appendValue(out, v.items[i]);
      }
      out += ']';
      break;
    case JsonValue::Kind::Object:
      out += '{';
      for (std::size_t i = 0; i < v.members.size(); ++i) {
        if (i > 0) out += ',';
        appendJsonString(out, v.members[i].first);
        out += ':';
        appendValue(out, v.members[i].second);
      }
      out += '}';
      break;
  }
}

std::string escapeToken(std::string_view token) {
  std::string out;
  for (const char c : token) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out += c;
  }
  return out;
}

}  // namespace

const JsonValue* JsonValue::member(std::string_view key) const {
  if (kind != Kind::Object) return nullptr;
  for (const auto& [name, value] : members) {
    if (name == key) return &value;
  }
  return nullptr;
}

std::string_view kindName(JsonValue::Kind kind) {
  switch (kind) {
    case JsonValue::Kind::Null: return "null";
    case JsonValue::Kind::Boolean: return "boolean";
    case JsonValue::Kind::Number: return "number";
    case JsonValue::Kind::String: return "string";
    case JsonValue::Kind::Array: return "array";
    case JsonValue::Kind::Object: return "object";
  }
  return "?";
}

Result<JsonValue> parseJson(std::string_view text, const JsonLimits& limits) {
  if (text.size() > limits.maxBytes) {
    return kit::badRequest("JSON payload of " + std::to_string(text.size()) + " bytes is larger than the limit of " +
                                   std::to_string(limits.maxBytes) + " bytes");
  }
  return Parser(text, limits.maxDepth).run();
}

Result<std::vector<std::string>> parsePointer(std::string_view pointer) {
  using R = Result<std::vector<std::string>>;
  std::vector<std::string> tokens;
  if (pointer.empty()) return R(std::move(tokens));
  if (pointer.front() != '/') {
    return kit::badRequest("JSON pointer \"" + std::string(pointer.substr(0, 64)) + "\" must be empty or start with '/'");
  }
  std::string current;
  for (std::size_t i = 1; i <= pointer.size(); ++i) {
    if (i == pointer.size() || pointer[i] == '/') {
      tokens.push_back(std::move(current));
      current.clear();
      continue;
    }
    if (pointer[i] == '~') {
      if (i + 1 < pointer.size() && pointer[i + 1] == '0') current += '~';
      else if (i + 1 < pointer.size() && pointer[i + 1] == '1') current += '/';
      else return kit::badRequest("JSON pointer \"" + std::string(pointer.substr(0, 64)) + "\": '~' must be followed by 0 or 1 (RFC 6901)");
      ++i;
      continue;
    }
    current += pointer[i];
  }
  return R(std::move(tokens));
}

Result<const JsonValue*> resolvePointer(const JsonValue& root, const std::vector<std::string>& tokens) {
  using R = Result<const JsonValue*>;
  const JsonValue* at = &root;
  std::string path;
  for (const auto& token : tokens) {
    const std::string parent = path.empty() ? std::string("the document") : path;
    path += '/' + escapeToken(token);
    if (at->kind == JsonValue::Kind::Object) {
      at = at->member(token);
      if (at == nullptr) return kit::badRequest("no member at " + path.substr(0, 128));
    } else if (at->kind == JsonValue::Kind::Array) {
      const bool digitsOnly = !token.empty() && token.size() <= 9 &&
                              std::all_of(token.begin(), token.end(), [](char c) { return c >= '0' && c <= '9'; });
      if (!digitsOnly || (token.size() > 1 && token[0] == '0')) {
        return kit::badRequest("no array element at " + path.substr(0, 128) + " (an index is a number without leading zeros)");
      }
      const auto index = static_cast<std::size_t>(std::stoul(token));
      if (index >= at->items.size()) {
        return kit::badRequest("no array element at " + path.substr(0, 128) + " (the array has " + std::to_string(at->items.size()) +
                       " elements)");
      }
      at = &at->items[index];
    } else {
      return kit::badRequest("no value at " + path.substr(0, 128) + ": " + parent.substr(0, 128) + " is a " +
                     std::string(kindName(at->kind)));
    }
  }
  return R(at);
}

std::string toJsonText(const JsonValue& value) {
  std::string out;
  appendValue(out, value);
  return out;
}

void appendJsonString(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (u < 0x20 || u == 0x7f) {
          out += "\\u00";
          out += kHex[u >> 4];
          out += kHex[u & 0xf];
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

Result<std::string> toJsonText(const sdk::Value& value) {
  using R = Result<std::string>;
  if (value.isNull()) return R("null");
  switch (value.type()) {
    case sdk::ValueType::Int:
    case sdk::ValueType::Long: return R(std::to_string(value.asInteger()));
    case sdk::ValueType::Double: {
      const double d = value.asDouble();
      if (!std::isfinite(d)) return kit::badRequest("a non-finite number cannot be written as JSON");
      char buf[64];
      const auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, d);
      if (ec != std::errc()) return kit::badRequest("cannot format the number");
      return R(std::string(buf, ptr));
    }
    case sdk::ValueType::Boolean: return R(value.asBool() ? "true" : "false");
    case sdk::ValueType::String: {
      std::string out;
      appendJsonString(out, value.asString());
      return R(std::move(out));
    }
    case sdk::ValueType::Json: return R(value.asString());
    case sdk::ValueType::Bytes: {
      std::string out;
      appendJsonString(out, encodeBase64(value.asString()));
      return R(std::move(out));
    }
  }
  return kit::badRequest("unknown value type");
}

}  // namespace gatehouse::bridge::mqtt
