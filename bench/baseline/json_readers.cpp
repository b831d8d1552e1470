// json_readers: how the bridge kit's JSON reader was chosen (bench/RESULTS.md run 9). Thread CPU
// time per parse, building a DOM, of four documents: a JWT header (80 bytes) and payload (451
// bytes, Keycloak-shaped), a small MQTT payload (50 bytes) and a bigger one (2.4 KB), with
//   oauth2        security/oauth2's hand-written parseJsonStrict (before the kit),
//   mqtt          the MQTT mapping engine's hand-written parseJson (before the kit),
//   nlohmann-sax  nlohmann-json 3.11's sax_parse with a handler building the same DOM (the
//                 other candidate; depth and duplicate checks only),
//   simdjson-od   a bare simdjson 3.0 On-Demand walker building that DOM (no strictness layer),
//   kit           gatehouse::kit::parseJson as shipped (simdjson On-Demand + our checks).
// It needs both trees, so it is not part of the CMake build: compile it against the headers and
// libraries of the tree before the kit (b8c2694) and the kit of this one, as run 9 shows.
#include <chrono>
#include <time.h>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>
#include <algorithm>

#include <nlohmann/json.hpp>
#include <simdjson.h>

#include "gatehouse/oauth2/json.h"
#include "mqtt/json.h"
#include "gatehouse/kit/json.h"

struct JMember;
struct J {
  enum class Kind : unsigned char { Null, Boolean, Number, String, Array, Object };
  Kind kind = Kind::Null;
  bool boolean = false;
  double number = 0;
  std::string text;
  std::vector<J> items;
  std::vector<JMember> members;
};
struct JMember { std::string name; J value; };

// ---------------- nlohmann SAX
struct Sax {
  struct Frame { J value; std::string key; };
  std::vector<Frame> stack;
  J root;
  int maxDepth = 32;
  bool err = false;
  bool place(J&& v) {
    if (stack.empty()) { root = std::move(v); return true; }
    Frame& f = stack.back();
    if (f.value.kind == J::Kind::Array) f.value.items.push_back(std::move(v));
    else f.value.members.push_back(JMember{std::move(f.key), std::move(v)});
    return true;
  }
  bool null() { return place(J{}); }
  bool boolean(bool b) { J v; v.kind = J::Kind::Boolean; v.boolean = b; return place(std::move(v)); }
  bool number_integer(std::int64_t i) { J v; v.kind = J::Kind::Number; v.number = double(i); char buf[24]; auto r = std::to_chars(buf, buf + 24, i); v.text.assign(buf, r.ptr); return place(std::move(v)); }
  bool number_unsigned(std::uint64_t i) { J v; v.kind = J::Kind::Number; v.number = double(i); char buf[24]; auto r = std::to_chars(buf, buf + 24, i); v.text.assign(buf, r.ptr); return place(std::move(v)); }
  bool number_float(double d, const std::string& s) { J v; v.kind = J::Kind::Number; v.number = d; v.text = s; return place(std::move(v)); }
  bool string(std::string& s) { J v; v.kind = J::Kind::String; v.text = std::move(s); return place(std::move(v)); }
  bool binary(std::vector<std::uint8_t>&) { return false; }
  bool start_object(std::size_t) { if ((int)stack.size() >= maxDepth) return false; stack.push_back(Frame{}); stack.back().value.kind = J::Kind::Object; return true; }
  bool key(std::string& k) { stack.back().key = std::move(k); return true; }
  bool end_object() {
    J v = std::move(stack.back().value); stack.pop_back();
    auto& m = v.members;
    for (std::size_t i = 1; i < m.size(); ++i) for (std::size_t j = 0; j < i; ++j) if (m[i].name == m[j].name) return false;
    return place(std::move(v)); }
  bool start_array(std::size_t) { if ((int)stack.size() >= maxDepth) return false; stack.push_back(Frame{}); stack.back().value.kind = J::Kind::Array; return true; }
  bool end_array() { J v = std::move(stack.back().value); stack.pop_back(); return place(std::move(v)); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) { err = true; return false; }
};

bool parseNlohmann(std::string_view text, J& out) {
  thread_local Sax sax;
  sax.stack.clear();
  sax.err = false;
  bool ok = nlohmann::json::sax_parse(text.begin(), text.end(), &sax);
  if (ok) out = std::move(sax.root);
  return ok;
}

// ---------------- simdjson on demand
namespace od = simdjson::ondemand;
bool walk(od::value v, J& out, int depth);
template <typename V>
bool walkAny(V& v, J& out, int depth) {
  od::json_type t;
  if (v.type().get(t)) return false;
  switch (t) {
    case od::json_type::object: {
      if (depth >= 32) return false;
      out.kind = J::Kind::Object;
      od::object o;
      if (v.get_object().get(o)) return false;
      for (auto field : o) {
        std::string_view k;
        if (field.unescaped_key().get(k)) return false;
        out.members.push_back(JMember{std::string(k), J{}});
        od::value fv;
        if (field.value().get(fv)) return false;
        if (!walk(fv, out.members.back().value, depth + 1)) return false;
      }
      auto& m = out.members;
      for (std::size_t i = 1; i < m.size(); ++i) for (std::size_t j = 0; j < i; ++j) if (m[i].name == m[j].name) return false;
      return true;
    }
    case od::json_type::array: {
      if (depth >= 32) return false;
      out.kind = J::Kind::Array;
      od::array a;
      if (v.get_array().get(a)) return false;
      for (auto item : a) {
        od::value iv;
        if (item.get(iv)) return false;
        out.items.emplace_back();
        if (!walk(iv, out.items.back(), depth + 1)) return false;
      }
      return true;
    }
    case od::json_type::number: {
      std::string_view raw;
      raw = v.raw_json_token();
      while (!raw.empty() && (raw.back() == ' ' || raw.back() == '\n' || raw.back() == '\t' || raw.back() == '\r')) raw.remove_suffix(1);
      out.kind = J::Kind::Number;
      auto r = std::from_chars(raw.data(), raw.data() + raw.size(), out.number);
      if (r.ec != std::errc() || r.ptr != raw.data() + raw.size()) return false;
      out.text.assign(raw);
      return true;
    }
    case od::json_type::string: {
      std::string_view s;
      if (v.get_string().get(s)) return false;
      out.kind = J::Kind::String;
      out.text.assign(s);
      return true;
    }
    case od::json_type::boolean: {
      bool b;
      if (v.get_bool().get(b)) return false;
      out.kind = J::Kind::Boolean;
      out.boolean = b;
      return true;
    }
    case od::json_type::null: {
      bool n;
      if (v.is_null().get(n) || !n) return false;
      return true;
    }
  }
  return false;
}
bool walk(od::value v, J& out, int depth) { return walkAny(v, out, depth); }

bool parseSimd(std::string_view text, J& out) {
  thread_local od::parser parser;
  thread_local std::string buf;
  if (buf.size() < text.size() + simdjson::SIMDJSON_PADDING) buf.resize(text.size() + simdjson::SIMDJSON_PADDING);
  std::memcpy(buf.data(), text.data(), text.size());
  od::document doc;
  if (parser.iterate(buf.data(), text.size(), buf.size()).get(doc)) return false;
  J root;
  if (!walkAny(doc, root, 0)) return false;
  const char* loc = nullptr; if (doc.current_location().get(loc) != simdjson::OUT_OF_BOUNDS) return false;
  out = std::move(root);
  return true;
}

template <typename F>
double timeIt(F f, int n) {
  timespec a{}, b{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
  for (int i = 0; i < n; ++i) f();
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
  return ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n;
}

int main() {
  const std::string payload = R"({"exp":1764650000,"iat":1764646400,"jti":"6f1c2c4e-8f2b-4c1e-9d61-0b7c0f2e9a11","iss":"https://idp.example.com/realms/gatehouse","aud":["gatehouse","account"],"sub":"2f6d1c58-52c7-4b8c-bb7e-3b8b2c1f0e77","typ":"Bearer","azp":"console","sid":"0c3f9a2e-7d51-4f7a-9a2b-1d9e8c7b6a54","client_id":"console","realm_access":{"roles":["reader","writer","operator"]},"resource_access":{"gatehouse":{"roles":["admin","auditor"]}},"scope":"openid profile email"})";
  const std::string header = R"({"alg":"RS256","typ":"JWT","kid":"k0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"})";
  const std::string small = R"({"temperature":21.5,"humidity":40,"ts":1693394285})";
  std::string big = R"({"device":"sensor-0042","fw":"1.2.3","count":1234567890123,"ts":1693394285123,"readings":[)";
  for (int i = 0; i < 40; ++i) big += (i ? "," : "") + std::string(R"({"name":"r)") + std::to_string(i) + R"(","value":)" + std::to_string(20 + i) + R"(.25,"unit":"\u00b0C","ok":true})";
  big += R"(],"meta":{"location":"hall 7 / bay \"B\"","limits":{"min":-40,"max":85.5,"alarm":[80,85]},"tags":["a","b"]}})";
  const int n = 100000;
  for (const std::string* doc : {&header, &payload, &small, (const std::string*)&big}) {
    volatile std::size_t sink = 0;
    for (int round = 0; round < 3; ++round) {
      double a = timeIt([&] { auto r = gatehouse::oauth2::parseJsonStrict(*doc, {1 << 20, 32}); sink = sink + r.value->members.size(); }, n);
      double b = timeIt([&] { auto r = gatehouse::bridge::mqtt::parseJson(*doc); sink = sink + r.value->members.size(); }, n);
      double c = timeIt([&] { J j; if (!parseNlohmann(*doc, j)) std::abort(); sink = sink + j.members.size(); }, n);
      double d = timeIt([&] { J j; if (!parseSimd(*doc, j)) std::abort(); sink = sink + j.members.size(); }, n);
      double e = timeIt([&] { auto r = gatehouse::kit::parseJson(*doc); sink = sink + r->members.size(); }, n);
      std::printf("%5zu bytes: oauth2 %7.0f ns  mqtt %7.0f ns  nlohmann-sax %7.0f ns  simdjson-od %7.0f ns  kit %7.0f ns\n", doc->size(), a, b, c, d, e);
    }
  }
}
