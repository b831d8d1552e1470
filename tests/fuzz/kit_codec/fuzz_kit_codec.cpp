// libFuzzer target for the kit's codecs (core/sdk/kit/include/gatehouse/kit/codec.h). Beyond "no
// crash", it checks the property the codecs promise: strictness means one accepted encoding per
// byte string, so whatever a decoder accepts re-encodes to exactly the same text, and whatever
// is encoded decodes back to the same bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "gatehouse/kit/codec.h"

namespace {

void check(bool ok, const char* what) {
  if (!ok) {
    __builtin_printf("kit codec property violated: %s\n", what);
    std::abort();
  }
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace gatehouse::kit;
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  if (auto b = base64Decode(text)) check(base64Encode(*b) == text, "base64 decode/encode is not canonical");
  check(*base64Decode(base64Encode(text)) == text, "base64 round trip");
  if (auto b = base64UrlDecode(text)) check(base64UrlEncode(*b) == text, "base64url decode/encode is not canonical");
  check(*base64UrlDecode(base64UrlEncode(text)) == text, "base64url round trip");
  unsigned char buf[64];
  if (auto n = base64UrlDecodeInto(text, buf, sizeof buf)) check(*n <= sizeof buf, "base64UrlDecodeInto wrote past capacity");

  if (auto h = hexDecode(text)) {
    std::string_view digits = text;
    if (digits.size() >= 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) digits.remove_prefix(2);
    check(hexEncode(*h) == lower(digits), "hex decode/encode");
  }
  check(*hexDecode(hexEncode(text)) == text, "hex round trip");

  if (isValidUtf8(text)) {
    for (std::string_view rest = text; !rest.empty();) {
      const std::size_t n = validUtf8Sequence(rest);
      check(n >= 1 && n <= 4 && n <= rest.size(), "valid UTF-8 splits into sequences");
      rest.remove_prefix(n);
    }
  }

  if (auto ms = parseIso8601(text)) {
    check(*ms >= 0 && *ms <= kMaxEpochMs, "ISO-8601 result in range");
    check(*parseIso8601(formatIso8601(*ms)) == *ms, "ISO-8601 format/parse round trip");
  }
  if (auto ms = parseMillisOrIso8601(text)) check(*ms >= 0 && *ms <= kMaxEpochMs, "ms result in range");

  if (isValidIdentifier(text)) {
    check(text.size() >= 1 && text.size() <= 128, "identifier length");
    check(text.find("..") == std::string_view::npos && text.find('/') == std::string_view::npos, "identifier chars");
  }
  const std::string quoted = quoteForMessage(text);
  check(quoted.find('\n') == std::string::npos, "a quoted message never holds a raw newline");
  return 0;
}
