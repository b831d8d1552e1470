#include "signing/openssl_util.h"

#include <openssl/bio.h>
#include <openssl/err.h>

namespace gatehouse::core::signing::detail {

void BioDeleter::operator()(BIO* p) const noexcept { BIO_free(p); }

Error opensslError(ErrorCode code, std::string what) {
  std::string reasons;
  for (unsigned long e = ERR_get_error(); e != 0; e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    reasons += reasons.empty() ? "" : "; ";
    reasons += buf;
  }
  if (!reasons.empty()) what += " (OpenSSL: " + reasons + ")";
  return makeError(code, std::move(what));
}

void clearOpensslErrors() noexcept { ERR_clear_error(); }

BioPtr memoryBio(std::string_view bytes) {
  if (bytes.size() > static_cast<std::size_t>(INT32_MAX)) return nullptr;
  return BioPtr(BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size())));
}

std::string bioContents(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  if (n <= 0 || data == nullptr) return {};
  return std::string(data, static_cast<std::size_t>(n));
}

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  ok_ = ctx_ != nullptr && EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) == 1;
}

void Sha256::update(const void* data, std::size_t size) {
  if (ok_ && size > 0) ok_ = EVP_DigestUpdate(ctx_.get(), data, size) == 1;
}

std::string Sha256::finishHex() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!ok_ || EVP_DigestFinal_ex(ctx_.get(), md, &len) != 1) {
    ok_ = false;
    return {};
  }
  ok_ = false;   // a context is good for one digest
  return toHex(md, len);
}

std::string toHex(const unsigned char* bytes, std::size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (std::size_t i = 0; i < size; ++i) {
    out += kDigits[bytes[i] >> 4];
    out += kDigits[bytes[i] & 0x0f];
  }
  return out;
}

}  // namespace gatehouse::core::signing::detail
