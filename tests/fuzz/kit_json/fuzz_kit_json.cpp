// Fuzzes the kit's JSON reader (core/sdk/kit: kit::parseJson, pointers, writer) with arbitrary
// bytes, under the default limits and under small ones. Its corpus merges the seeds of the
// targets whose parsers the kit's reader replaced (oauth2_token, rest_body, mqtt_payload) plus its
// own. Besides "no crash, no sanitizer report", it checks what callers rely on: a refusal is a
// BadRequest saying "at offset N" with N within the input; an accepted document respects the
// limits (depth, number length), has unique member names, finite numbers kept as written and
// valid UTF-8 strings, and its compact text reads back to the same text. For "A\nB" inputs, A is
// also resolved as a JSON pointer in B.

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>

#include "gatehouse/kit/codec.h"
#include "gatehouse/kit/json.h"

namespace kit = gatehouse::kit;

namespace {

[[noreturn]] void fail(const char* what, std::size_t size) {
  std::fprintf(stderr, "kit_json: %s (input %zu bytes)\n", what, size);
  std::abort();
}

void checkTree(const kit::Json& v, int depth, const kit::JsonLimits& limits, std::size_t size) {
  if ((v.isArray() || v.isObject()) && depth + 1 > limits.maxDepth) fail("deeper than the limit", size);
  if (v.isNumber()) {
    if (v.text.empty() || v.text.size() > limits.maxNumberLength) fail("number literal missing or too long", size);
    if (!std::isfinite(v.number)) fail("non-finite number", size);
  }
  if ((v.isString() && !kit::isValidUtf8(v.text))) fail("string is not UTF-8", size);
  std::set<std::string_view> names;
  for (const auto& m : v.members) {
    if (!kit::isValidUtf8(m.name)) fail("member name is not UTF-8", size);
    if (!names.insert(m.name).second) fail("duplicate member name accepted", size);
    checkTree(m.value, depth + 1, limits, size);
  }
  for (const auto& item : v.items) checkTree(item, depth + 1, limits, size);
}

void checkRefusal(const kit::Result<kit::Json>& r, std::size_t size) {
  if (r.error().code != kit::ErrorCode::BadRequest || r.message().empty()) fail("refusal is not a BadRequest with a message", size);
  const std::string& m = r.message();
  if (m.rfind("JSON text of ", 0) == 0) return;   // over maxBytes
  const auto at = m.rfind(" at offset ");
  if (m.rfind("invalid JSON: ", 0) != 0 || at == std::string::npos) fail("refusal does not say where", size);
  if (std::strtoull(m.c_str() + at + 11, nullptr, 10) > size) fail("offset beyond the input", size);
}

void parseAndCheck(std::string_view input, const kit::JsonLimits& limits) {
  auto doc = kit::parseJson(input, limits);
  if (!doc) {
    checkRefusal(doc, input.size());
    return;
  }
  checkTree(*doc, 0, limits, input.size());
  const std::string text = kit::toJsonText(*doc);
  auto again = kit::parseJson(text, kit::JsonLimits{text.size(), limits.maxDepth, limits.maxNumberLength});
  if (!again || kit::toJsonText(*again) != text) fail("written text does not read back to itself", input.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  parseAndCheck(input, kit::JsonLimits{});
  parseAndCheck(input, kit::JsonLimits{4096, 4, 24});

  const auto nl = input.find('\n');
  if (nl != std::string_view::npos) {
    auto tokens = kit::parsePointer(input.substr(0, nl));
    auto doc = kit::parseJson(input.substr(nl + 1));
    if (tokens && doc) {
      auto at = kit::resolvePointer(*doc, *tokens);
      if (!at && at.message().empty()) fail("pointer refusal without a message", size);
      if (tokens->empty() && (!at || *at != &*doc)) fail("the empty pointer is not the document", size);
    }
  }
  return 0;
}
