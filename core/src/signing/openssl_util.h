#pragma once
// The one place the signing library touches OpenSSL's handle types and error queue (internal to
// core/src/signing: nothing outside this folder includes it, so no OpenSSL type leaks out).
//
// Threads: everything here is free of shared state. OpenSSL's error queue is per thread, so
// opensslError() drains the calling thread's queue only.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <openssl/evp.h>

#include "common/result.h"

namespace gatehouse::core::signing::detail {

struct PkeyDeleter {
  void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
struct PkeyCtxDeleter {
  void operator()(EVP_PKEY_CTX* p) const noexcept { EVP_PKEY_CTX_free(p); }
};
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* p) const noexcept { EVP_MD_CTX_free(p); }
};
struct BioDeleter {
  void operator()(BIO* p) const noexcept;
};

using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDeleter>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

// Builds an Error whose message is `what` followed by every reason on this thread's OpenSSL error
// queue (which it empties, so a later call does not report stale reasons).
Error opensslError(ErrorCode code, std::string what);

// Empties this thread's OpenSSL error queue (after an expected failure such as a bad signature).
void clearOpensslErrors() noexcept;

// A read-only memory BIO over `bytes` (which must outlive it); null on allocation failure.
BioPtr memoryBio(std::string_view bytes);

// Everything written to a memory BIO so far.
std::string bioContents(BIO* bio);

// Incremental SHA-256, for hashing a file while it is copied.
class Sha256 {
 public:
  Sha256();
  bool ok() const noexcept { return ok_; }
  void update(const void* data, std::size_t size);
  // Lowercase hex of the digest; empty if any step failed.
  std::string finishHex();

 private:
  MdCtxPtr ctx_;
  bool ok_ = false;
};

// Lowercase hex of `bytes`.
std::string toHex(const unsigned char* bytes, std::size_t size);

}  // namespace gatehouse::core::signing::detail
