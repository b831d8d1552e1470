#pragma once
// base64url (RFC 4648 section 5) without padding, as used by JOSE (RFC 7515 section 2).
// Threads: pure functions, callable from any thread.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace gatehouse::oauth2 {

// Strict decoder: accepts only the canonical unpadded form. Rejects '=', '+', '/', whitespace
// and every other byte outside [A-Za-z0-9_-], length % 4 == 1, and non-zero unused trailing bits
// (so each byte string has exactly one accepted encoding). Empty input decodes to "".
std::optional<std::string> base64UrlDecode(std::string_view in);

// The same strict decoder writing into caller memory (no allocation, for hot paths): returns the
// number of bytes written, or nullopt when `in` is not canonical base64url or its decoded size
// would exceed `capacity` (nothing meaningful is in `out` then). Decoded size is at most
// in.size() / 4 * 3 + 2.
std::optional<std::size_t> base64UrlDecodeInto(std::string_view in, unsigned char* out, std::size_t capacity);

// Canonical unpadded encoding of arbitrary bytes.
std::string base64UrlEncode(std::string_view bytes);

}  // namespace gatehouse::oauth2
