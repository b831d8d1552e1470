#pragma once
// Plugin signing (docs/plugin-abi.md, SECURITY-CHECKLIST.md B1-B12): the one header the plugin
// host and the `gatehouse plugin` CLI include. The pieces live in the headers below; this
// comment fixes the file formats they read and write.
//
// Signature file "<plugin file>.sig", exactly two lines, at most 4096 bytes, LF only:
//
//   {"format":1,"name":"sim","version":"1.2.0","abi":"1.0","sha256":"<64 lowercase hex>","size":12345,"key_id":"<16 lowercase hex>","not_after":"2027-12-01T00:00:00Z"}
//   <base64 (standard, padded) of the 64-byte Ed25519 signature over the exact bytes of line 1>
//
//   Line 1 is written with the keys in exactly that order and no spaces (serializeManifest). It
//   is parsed strictly (parseManifest): one flat JSON object, all 8 keys and no others, no
//   duplicates; format the integer 1; size a non-negative integer; the rest strings: name
//   [a-z0-9_-]{1,64}; version semver MAJOR.MINOR.PATCH[-PRERELEASE] without build metadata;
//   abi "MAJOR.MINOR"; sha256 64 and key_id 16 lowercase hex; not_after "YYYY-MM-DDTHH:MM:SSZ"
//   (UTC, ranges checked). String escapes: \" \\ \/ only (\uXXXX and \n etc. are refused).
//   Line 2 may end in "\n" or not; nothing may follow; CR is refused anywhere.
//
// Key id: the first 16 lowercase hex digits of SHA-256 over the raw 32-byte Ed25519 public key.
//
// Trust store: a directory; each regular file "*.pub" is a PEM Ed25519 public key
// ("-----BEGIN PUBLIC KEY-----", SubjectPublicKeyInfo); other files are ignored.
//
// Revocation list: a text file, one key id per line; blank lines and '#' comments ignored.
//
// Version high-water store: "<state_dir>/plugin-versions", lines "NAME VERSION\n", raised only,
// replaced atomically.
//
// The host's order: readSealed(plugin) -> read the .sig -> verifySignature (or the pieces) ->
// inspectElf(image.bytes()) -> dlopen(image.procPath()) -> VersionStore::record().

#include "signing/crypto.h"
#include "signing/elf_inspect.h"
#include "signing/manifest.h"
#include "signing/sealed_image.h"
#include "signing/semver.h"
#include "signing/trust_store.h"
#include "signing/verify.h"
#include "signing/version_store.h"
