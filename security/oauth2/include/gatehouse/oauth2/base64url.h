#pragma once
// base64url (RFC 4648 section 5) without padding, as used by JOSE (RFC 7515 section 2).
// Threads: pure functions, callable from any thread.

#include <optional>
#include <string>
#include <string_view>

namespace gatehouse::oauth2 {

// Strict decoder: accepts only the canonical unpadded form. Rejects '=', '+', '/', whitespace
// and every other byte outside [A-Za-z0-9_-], length % 4 == 1, and non-zero unused trailing bits
// (so each byte string has exactly one accepted encoding). Empty input decodes to "".
std::optional<std::string> base64UrlDecode(std::string_view in);

// Canonical unpadded encoding of arbitrary bytes.
std::string base64UrlEncode(std::string_view bytes);

}  // namespace gatehouse::oauth2
