// parseCbor: libcbor's streaming decoder (one item header per call) drives an explicit stack of
// open containers, so hostile nesting costs neither stack nor time beyond the depth limit.
#include "gatehouse/kit/cbor.h"

#include <cbor.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "gatehouse/kit/codec.h"
#include "gatehouse/kit/json_write.h"

namespace gatehouse::kit {

namespace {

struct Frame {
  enum class Kind : std::uint8_t { Array, Map, Text, Bytes } kind = Kind::Array;
  bool indefinite = false;
  std::uint64_t remaining = 0;   // definite: items (arrays) or keys+values (maps) still to come
  Json value;                    // the container being built (Text/Bytes: the chunks so far in text)
  bool haveKey = false;          // maps: a key is waiting for its value
  std::string key;
};

struct Builder {
  const JsonLimits* limits = nullptr;
  std::vector<Frame> stack;
  bool done = false;             // the root item is complete
  Json root;
  std::string error;             // first error; decoding stops at it
  std::size_t offset = 0;        // where the current header starts

  void fail(std::string what) {
    if (error.empty()) error = std::move(what) + " at offset " + std::to_string(offset);
  }

  // A complete value: into the open container, or the root.
  void put(Json v) {
    if (!error.empty()) return;
    if (done) {
      fail("invalid CBOR: more than one item");
      return;
    }
    while (true) {
      if (stack.empty()) {
        root = std::move(v);
        done = true;
        return;
      }
      Frame& top = stack.back();
      if (top.kind == Frame::Kind::Text || top.kind == Frame::Kind::Bytes) {
        fail("invalid CBOR: an indefinite-length string holds a chunk that is not a string of its kind");
        return;
      }
      if (top.kind == Frame::Kind::Map && !top.haveKey) {
        if (v.kind == Json::Kind::String) {
          top.key = std::move(v.text);
        } else if (v.kind == Json::Kind::Number && v.isInteger()) {
          top.key = v.text;
        } else if (v.kind == Json::Kind::Number && !v.text.empty() && v.text.find_first_of(".eE") == std::string::npos) {
          top.key = v.text;   // an integer beyond int64 range, kept as its decimal text
        } else {
          fail("invalid CBOR: a map key must be a text string or an integer, not " + std::string(kindName(v.kind)));
          return;
        }
        if (top.value.find(top.key) != nullptr) {
          fail("invalid CBOR: duplicate map key");
          return;
        }
        top.haveKey = true;
        if (!top.indefinite) --top.remaining;
        return;
      }
      if (top.kind == Frame::Kind::Map) {
        top.value.members.push_back(JsonMember{std::move(top.key), std::move(v)});
        top.key.clear();
        top.haveKey = false;
      } else {
        top.value.items.push_back(std::move(v));
      }
      if (top.indefinite) return;
      if (--top.remaining > 0) return;
      v = std::move(top.value);   // the container is complete: it is the value to put one level up
      stack.pop_back();
    }
  }

  bool open(Frame::Kind kind, bool indefinite, std::uint64_t count) {
    if (!error.empty()) return false;
    if (done) {
      fail("invalid CBOR: more than one item");
      return false;
    }
    if (kind == Frame::Kind::Array || kind == Frame::Kind::Map) {
      if (stack.size() + 1 > static_cast<std::size_t>(limits->maxDepth)) {
        fail("invalid CBOR: nested deeper than " + std::to_string(limits->maxDepth));
        return false;
      }
    }
    if (!stack.empty() && (stack.back().kind == Frame::Kind::Text || stack.back().kind == Frame::Kind::Bytes)) {
      fail("invalid CBOR: an indefinite-length string holds a chunk that is not a string of its kind");
      return false;
    }
    Frame f;
    f.kind = kind;
    f.indefinite = indefinite;
    f.remaining = count;
    f.value.kind = kind == Frame::Kind::Map ? Json::Kind::Object : kind == Frame::Kind::Array ? Json::Kind::Array : Json::Kind::String;
    if (!indefinite && count == 0) {   // [] or {}: complete at once
      put(std::move(f.value));
      return true;
    }
    stack.push_back(std::move(f));
    return true;
  }

  void integer(bool negative, std::uint64_t n) {
    Json v;
    v.kind = Json::Kind::Number;
    if (!negative) {
      v.number = static_cast<double>(n);
      v.text = std::to_string(n);
    } else {
      // -1 - n, exactly, down to -2^64
      v.number = -(static_cast<double>(n) + 1.0);
      v.text = n == UINT64_MAX ? std::string("-18446744073709551616") : "-" + std::to_string(n + 1);
    }
    put(std::move(v));
  }

  void floating(double d) {
    if (!std::isfinite(d)) {
      fail("invalid CBOR: a float that is not finite (NaN or infinity)");
      return;
    }
    Json v;
    v.kind = Json::Kind::Number;
    v.number = d;
    json::appendDouble(v.text, d);
    put(std::move(v));
  }

  void string(bool bytes, cbor_data data, std::size_t size) {
    if (!error.empty()) return;
    const std::string_view chunk(reinterpret_cast<const char*>(data), size);
    if (!bytes && !isValidUtf8(chunk)) {
      fail("invalid CBOR: a text string is not valid UTF-8");
      return;
    }
    if (!stack.empty() && (stack.back().kind == Frame::Kind::Text || stack.back().kind == Frame::Kind::Bytes)) {
      Frame& top = stack.back();
      if ((top.kind == Frame::Kind::Bytes) != bytes) {
        fail("invalid CBOR: an indefinite-length string holds a chunk that is not a string of its kind");
        return;
      }
      top.value.text.append(chunk);   // Bytes: raw for now, encoded when the string ends
      return;
    }
    Json v;
    v.kind = Json::Kind::String;
    v.text = bytes ? base64UrlEncode(chunk) : std::string(chunk);
    put(std::move(v));
  }

  void indefBreak() {
    if (!error.empty()) return;
    if (stack.empty() || !stack.back().indefinite) {
      fail("invalid CBOR: a break outside an indefinite-length item");
      return;
    }
    Frame f = std::move(stack.back());
    stack.pop_back();
    if (f.kind == Frame::Kind::Map && f.haveKey) {
      fail("invalid CBOR: a map key without a value");
      return;
    }
    if (f.kind == Frame::Kind::Bytes) f.value.text = base64UrlEncode(f.value.text);
    put(std::move(f.value));
  }
};

Builder& self(void* ctx) { return *static_cast<Builder*>(ctx); }

const cbor_callbacks kCallbacks = [] {
  cbor_callbacks c = cbor_empty_callbacks;
  c.uint8 = [](void* x, std::uint8_t v) { self(x).integer(false, v); };
  c.uint16 = [](void* x, std::uint16_t v) { self(x).integer(false, v); };
  c.uint32 = [](void* x, std::uint32_t v) { self(x).integer(false, v); };
  c.uint64 = [](void* x, std::uint64_t v) { self(x).integer(false, v); };
  c.negint8 = [](void* x, std::uint8_t v) { self(x).integer(true, v); };
  c.negint16 = [](void* x, std::uint16_t v) { self(x).integer(true, v); };
  c.negint32 = [](void* x, std::uint32_t v) { self(x).integer(true, v); };
  c.negint64 = [](void* x, std::uint64_t v) { self(x).integer(true, v); };
  c.byte_string = [](void* x, cbor_data d, std::size_t n) { self(x).string(true, d, n); };
  c.byte_string_start = [](void* x) { self(x).open(Frame::Kind::Bytes, true, 0); };
  c.string = [](void* x, cbor_data d, std::size_t n) { self(x).string(false, d, n); };
  c.string_start = [](void* x) { self(x).open(Frame::Kind::Text, true, 0); };
  c.array_start = [](void* x, std::size_t n) { self(x).open(Frame::Kind::Array, false, n); };
  c.indef_array_start = [](void* x) { self(x).open(Frame::Kind::Array, true, 0); };
  c.map_start = [](void* x, std::size_t n) {
    // keys + values; a size whose double overflows cannot be in the input anyway
    self(x).open(Frame::Kind::Map, false, n > (SIZE_MAX >> 1) ? SIZE_MAX : n * 2);
  };
  c.indef_map_start = [](void* x) { self(x).open(Frame::Kind::Map, true, 0); };
  c.tag = [](void*, std::uint64_t) {};   // the tagged item follows and is kept as is
  c.float2 = [](void* x, float v) { self(x).floating(v); };
  c.float4 = [](void* x, float v) { self(x).floating(v); };
  c.float8 = [](void* x, double v) { self(x).floating(v); };
  c.undefined = [](void* x) { self(x).put(Json{}); };
  c.null = [](void* x) { self(x).put(Json{}); };
  c.boolean = [](void* x, bool v) {
    Json j;
    j.kind = Json::Kind::Boolean;
    j.boolean = v;
    self(x).put(std::move(j));
  };
  c.indef_break = [](void* x) { self(x).indefBreak(); };
  return c;
}();

}  // namespace

Result<Json> parseCbor(std::string_view bytes, const JsonLimits& limits) {
  if (bytes.size() > limits.maxBytes) {
    return badRequest("CBOR item of " + std::to_string(bytes.size()) + " bytes is larger than the limit of " +
                      std::to_string(limits.maxBytes));
  }
  if (bytes.empty()) return badRequest("invalid CBOR: empty input");
  Builder b;
  b.limits = &limits;
  const auto* data = reinterpret_cast<cbor_data>(bytes.data());
  std::size_t at = 0;
  while (at < bytes.size() && b.error.empty()) {
    b.offset = at;
    // Items inside a definite string/array claim lengths; the decoder never reads past `size`.
    const cbor_decoder_result r = cbor_stream_decode(data + at, bytes.size() - at, &kCallbacks, &b);
    if (r.status == CBOR_DECODER_NEDATA) {
      return badRequest("invalid CBOR: truncated (an item at offset " + std::to_string(at) + " needs " +
                        std::to_string(r.required) + " bytes, " + std::to_string(bytes.size() - at) + " left)");
    }
    if (r.status == CBOR_DECODER_ERROR || r.read == 0) {
      return badRequest("invalid CBOR: malformed item header at offset " + std::to_string(at));
    }
    at += r.read;
    if (b.done && b.error.empty() && at < bytes.size()) {
      return badRequest("invalid CBOR: " + std::to_string(bytes.size() - at) + " bytes after the item at offset " + std::to_string(at));
    }
  }
  if (!b.error.empty()) return badRequest(b.error);
  if (!b.done) return badRequest("invalid CBOR: truncated (" + std::to_string(b.stack.size()) + " containers not closed)");
  return std::move(b.root);
}

}  // namespace gatehouse::kit
