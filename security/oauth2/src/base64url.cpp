// Strict base64url: one accepted encoding per byte string, so a token cannot be re-encoded into a
// different-looking but equally valid one (malleability) and odd inputs fail early.

#include "gatehouse/oauth2/base64url.h"

#include <array>
#include <cstdint>

namespace gatehouse::oauth2 {

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr std::array<std::int8_t, 256> makeTable() {
  std::array<std::int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(kAlphabet[i])] = static_cast<std::int8_t>(i);
  return t;
}

constexpr std::array<std::int8_t, 256> kTable = makeTable();

}  // namespace

std::optional<std::size_t> base64UrlDecodeInto(std::string_view in, unsigned char* out, std::size_t capacity) {
  const std::size_t rest = in.size() % 4;
  if (rest == 1) return std::nullopt;
  const std::size_t size = in.size() / 4 * 3 + (rest == 0 ? 0 : rest - 1);
  if (size > capacity) return std::nullopt;
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  const unsigned char* const fullEnd = p + (in.size() - rest);
  // Four characters -> three bytes per step; any -1 from the table makes the OR negative.
  for (; p != fullEnd; p += 4, out += 3) {
    const int a = kTable[p[0]], b = kTable[p[1]], c = kTable[p[2]], d = kTable[p[3]];
    if ((a | b | c | d) < 0) return std::nullopt;
    const auto n = static_cast<std::uint32_t>((a << 18) | (b << 12) | (c << 6) | d);
    out[0] = static_cast<unsigned char>(n >> 16);
    out[1] = static_cast<unsigned char>(n >> 8);
    out[2] = static_cast<unsigned char>(n);
  }
  // Left-over bits (4 after two characters, 2 after three) must be zero for the canonical encoding.
  if (rest == 2) {
    const int a = kTable[p[0]], b = kTable[p[1]];
    if ((a | b) < 0 || (b & 0x0F) != 0) return std::nullopt;
    out[0] = static_cast<unsigned char>((a << 2) | (b >> 4));
  } else if (rest == 3) {
    const int a = kTable[p[0]], b = kTable[p[1]], c = kTable[p[2]];
    if ((a | b | c) < 0 || (c & 0x03) != 0) return std::nullopt;
    const auto n = static_cast<std::uint32_t>((a << 18) | (b << 12) | (c << 6));
    out[0] = static_cast<unsigned char>(n >> 16);
    out[1] = static_cast<unsigned char>(n >> 8);
  }
  return size;
}

std::optional<std::string> base64UrlDecode(std::string_view in) {
  if (in.size() % 4 == 1) return std::nullopt;
  std::string out(in.size() / 4 * 3 + 2, '\0');
  auto size = base64UrlDecodeInto(in, reinterpret_cast<unsigned char*>(out.data()), out.size());
  if (!size) return std::nullopt;
  out.resize(*size);
  return out;
}

std::string base64UrlEncode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  std::size_t i = 0;
  auto at = [&](std::size_t k) { return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[k])); };
  for (; i + 3 <= bytes.size(); i += 3) {
    std::uint32_t n = (at(i) << 16) | (at(i + 1) << 8) | at(i + 2);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  std::size_t rest = bytes.size() - i;
  if (rest == 1) {
    std::uint32_t n = at(i) << 16;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
  } else if (rest == 2) {
    std::uint32_t n = (at(i) << 16) | (at(i + 1) << 8);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
  }
  return out;
}

}  // namespace gatehouse::oauth2
