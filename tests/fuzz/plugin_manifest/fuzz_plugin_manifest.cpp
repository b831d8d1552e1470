// Fuzzes the .sig file parser (parseSignatureFile, hence parseManifest and base64Decode) and the
// small parsers beside it with arbitrary bytes. Invariants beyond "no crash":
//  - an accepted file has a 64-byte signature, and writing it back gives a file that parses
//    to the same manifest line and signature;
//  - the canonical form of an accepted manifest parses to the same fields;
//  - base64Decode, parseSemVer, parseUtcTimestamp accept only canonical text (re-encoding an
//    accepted input gives the input back).

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "signing/crypto.h"
#include "signing/manifest.h"
#include "signing/semver.h"

using namespace gatehouse::core::signing;

namespace {

[[noreturn]] void fail(const char* what, std::string_view input, const std::string& detail) {
  std::fprintf(stderr, "plugin_manifest: %s\ninput: %.*s\ndetail: %s\n", what, static_cast<int>(input.size()), input.data(),
               detail.c_str());
  std::abort();
}

bool sameFields(const Manifest& a, const Manifest& b) {
  return a.format == b.format && a.name == b.name && a.version == b.version && a.abi == b.abi && a.sha256Hex == b.sha256Hex &&
         a.size == b.size && a.keyId == b.keyId && a.notAfter == b.notAfter && a.notAfterText == b.notAfterText;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string copy(reinterpret_cast<const char*>(data), size);
  const std::string_view input = copy;

  auto file = parseSignatureFile(input);
  if (file.ok()) {
    if (file->signature.size() != kSignatureBytes) fail("signature is not 64 bytes", input, "");
    auto canonical = parseManifest(serializeManifest(file->manifest));
    if (!canonical.ok()) fail("canonical manifest does not parse", input, canonical.error().message);
    if (!sameFields(*canonical, file->manifest)) fail("canonical manifest differs", input, serializeManifest(file->manifest));
    auto again = parseSignatureFile(writeSignatureFile(file->manifestLine, file->signature));
    if (!again.ok()) fail("written signature file does not parse", input, again.error().message);
    if (again->manifestLine != file->manifestLine || again->signature != file->signature) fail("round trip changed it", input, "");
    if (!parseSemVer(file->manifest.version)) fail("accepted a manifest with an invalid version", input, file->manifest.version);
  } else if (file.error().message.rfind("signature file: ", 0) != 0) {
    fail("error without the signature file prefix", input, file.error().message);
  }

  if (auto decoded = base64Decode(input); decoded.ok() && base64Encode(*decoded) != input) {
    fail("base64 accepted a non-canonical text", input, base64Encode(*decoded));
  }
  if (input.size() <= 256) {
    if (auto v = parseSemVer(input); v && toString(*v) != input) fail("semver not canonical", input, toString(*v));
    if (auto t = parseUtcTimestamp(input); t && formatUtcTimestamp(*t) != input) {
      fail("timestamp not canonical", input, formatUtcTimestamp(*t));
    }
  }
  return 0;
}
