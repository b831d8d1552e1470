#include "signing/crypto.h"

#include "gatehouse/kit/codec.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include <openssl/crypto.h>
#include <openssl/pem.h>

#include "common/json_writer.h"
#include "signing/openssl_util.h"
#include "signing/secure_file.h"

namespace gatehouse::core::signing {

namespace detail {
struct KeyHandle {
  PkeyPtr pkey;
};
}  // namespace detail

namespace {

using detail::KeyHandle;
using detail::opensslError;

constexpr std::size_t kRawKeyBytes = 32;
constexpr std::uint64_t kMaxKeyFileBytes = 64 * 1024;

// Overwrites a string holding key material before it is freed.
struct Cleanser {
  std::string& s;
  ~Cleanser() { OPENSSL_cleanse(s.data(), s.size()); }
};

std::shared_ptr<const KeyHandle> wrap(EVP_PKEY* pkey) {
  auto h = std::make_shared<KeyHandle>();
  h->pkey.reset(pkey);
  return h;
}

std::string rawPublicKey(EVP_PKEY* pkey) {
  std::array<unsigned char, kRawKeyBytes> raw{};
  std::size_t len = raw.size();
  if (EVP_PKEY_get_raw_public_key(pkey, raw.data(), &len) != 1 || len != raw.size()) return {};
  return std::string(reinterpret_cast<const char*>(raw.data()), len);
}

std::string keyTypeName(EVP_PKEY* pkey) {
  const char* name = EVP_PKEY_get0_type_name(pkey);
  return name != nullptr ? name : "unknown";
}

// -1: refuse to decrypt; never prompt on a terminal for a passphrase.
int noPassphrase(char*, int, int, void*) { return -1; }

// The whole of `bytes`, flushed to disk.
Result<void> writeSynced(int fd, std::string_view bytes, const std::string& path) {
  if (auto written = detail::writeAll(fd, bytes, path); !written.ok()) return written;
  if (::fsync(fd) != 0) return makeError(ErrorCode::Internal, "cannot fsync " + path + ": " + std::strerror(errno));
  return {};
}

Result<void> createExclusive(const std::string& path, std::string_view bytes, mode_t mode) {
  detail::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode));
  if (fd.get() < 0) {
    if (errno == EEXIST) return makeError(ErrorCode::Conflict, path + " already exists; refusing to overwrite it");
    return makeError(ErrorCode::Internal, "cannot create " + path + ": " + std::strerror(errno));
  }
  // The umask may have taken bits away (0644 -> 0600); set exactly what was asked.
  Result<void> written = ::fchmod(fd.get(), mode) == 0
                             ? writeSynced(fd.get(), bytes, path)
                             : Result<void>(makeError(ErrorCode::Internal, "cannot chmod " + path + ": " + std::strerror(errno)));
  if (!written.ok()) ::unlink(path.c_str());   // created above, so ours to remove
  return written;
}

}  // namespace

std::string sha256Hex(std::string_view bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr) != 1) {
    detail::clearOpensslErrors();
    return {};
  }
  return detail::toHex(md, len);
}

Result<std::string> base64Decode(std::string_view text) {
  auto decoded = kit::base64Decode(text);
  if (!decoded) return kit::prefixed("invalid base64: ", decoded.error());
  return decoded;
}

// ---- PublicKey -------------------------------------------------------------------------------

PublicKey::PublicKey(std::shared_ptr<const KeyHandle> key, std::string raw)
    : key_(std::move(key)), raw_(std::move(raw)), keyId_(sha256Hex(raw_).substr(0, 16)) {}

Result<PublicKey> PublicKey::fromPem(std::string_view pem) {
  auto bio = detail::memoryBio(pem);
  if (!bio) return opensslError(ErrorCode::Internal, "cannot read the public key");
  EVP_PKEY* pkey = PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
  if (pkey == nullptr) {
    return opensslError(ErrorCode::BadRequest, "not a PEM public key (expected \"-----BEGIN PUBLIC KEY-----\")");
  }
  auto handle = wrap(pkey);
  if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_ED25519) {
    return makeError(ErrorCode::BadRequest, "is a key of type " + keyTypeName(pkey) + "; only Ed25519 keys are accepted");
  }
  std::string raw = rawPublicKey(pkey);
  if (raw.empty()) return opensslError(ErrorCode::BadRequest, "cannot read the Ed25519 key bytes");
  return PublicKey(std::move(handle), std::move(raw));
}

Result<PublicKey> PublicKey::fromRaw(std::string_view raw) {
  if (raw.size() != kRawKeyBytes) {
    return makeError(ErrorCode::BadRequest, "an Ed25519 public key is 32 bytes, not " + std::to_string(raw.size()));
  }
  EVP_PKEY* pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                               reinterpret_cast<const unsigned char*>(raw.data()), raw.size());
  if (pkey == nullptr) return opensslError(ErrorCode::BadRequest, "not a valid Ed25519 public key");
  return PublicKey(wrap(pkey), std::string(raw));
}

std::string PublicKey::toPem() const {
  detail::BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), key_->pkey.get()) != 1) {
    detail::clearOpensslErrors();
    return {};
  }
  return detail::bioContents(bio.get());
}

bool PublicKey::verify(std::string_view message, std::string_view signature) const {
  if (signature.size() != 64) return false;
  detail::MdCtxPtr ctx(EVP_MD_CTX_new());
  // Ed25519 hashes internally: no digest is given, and the message goes in one call.
  const bool ok = ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key_->pkey.get()) == 1 &&
                  EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                                   reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
  if (!ok) detail::clearOpensslErrors();
  return ok;
}

// ---- PrivateKey ------------------------------------------------------------------------------

PrivateKey::PrivateKey(std::shared_ptr<const KeyHandle> key, PublicKey pub) : key_(std::move(key)), public_(std::move(pub)) {}

Result<PrivateKey> PrivateKey::adopt(std::shared_ptr<const KeyHandle> key) {
  auto pub = PublicKey::fromRaw(rawPublicKey(key->pkey.get()));
  if (!pub.ok()) return std::move(pub).error();
  return PrivateKey(std::move(key), std::move(*pub));
}

Result<PrivateKey> PrivateKey::generate() {
  detail::PkeyCtxPtr ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr));
  EVP_PKEY* pkey = nullptr;
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 || EVP_PKEY_keygen(ctx.get(), &pkey) != 1) {
    return opensslError(ErrorCode::Internal, "cannot generate an Ed25519 key");
  }
  return adopt(wrap(pkey));
}

Result<PrivateKey> PrivateKey::fromPem(std::string_view pem) {
  auto bio = detail::memoryBio(pem);
  if (!bio) return opensslError(ErrorCode::Internal, "cannot read the private key");
  EVP_PKEY* pkey = PEM_read_bio_PrivateKey(bio.get(), nullptr, noPassphrase, nullptr);
  if (pkey == nullptr) {
    return opensslError(ErrorCode::BadRequest,
                        "not an unencrypted PKCS#8 PEM private key, as `gatehouse plugin keygen` writes");
  }
  auto handle = wrap(pkey);
  if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_ED25519) {
    return makeError(ErrorCode::BadRequest, "is a key of type " + keyTypeName(pkey) + "; only Ed25519 keys are accepted");
  }
  return adopt(std::move(handle));
}

Result<PrivateKey> PrivateKey::loadFile(const std::string& path) {
  detail::OpenedFile file;
  file.fd = detail::UniqueFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (file.fd.get() < 0) {
    const int e = errno;
    return makeError(e == ENOENT ? ErrorCode::NotFound : ErrorCode::NotAllowed,
                     "cannot open private key " + path + ": " + std::strerror(e));
  }
  if (::fstat(file.fd.get(), &file.st) != 0 || !S_ISREG(file.st.st_mode)) {
    return makeError(ErrorCode::BadRequest, "private key " + path + " is not a regular file");
  }
  if (file.st.st_mode & 077) {
    return makeError(ErrorCode::NotAllowed, "private key " + path + " is accessible by group or others (mode " +
                                                detail::modeText(file.st.st_mode) + "); run chmod 600 on it");
  }
  if (static_cast<std::uint64_t>(file.st.st_size) > kMaxKeyFileBytes) {
    return makeError(ErrorCode::TooLarge, "private key " + path + " is " + std::to_string(file.st.st_size) +
                                              " bytes; a PEM Ed25519 key is under 200");
  }
  auto pem = detail::readAll(file, path, kMaxKeyFileBytes);
  if (!pem.ok()) return std::move(pem).error();
  Cleanser cleanse{*pem};
  auto key = fromPem(*pem);
  if (!key.ok()) return makeError(key.error().code, "private key " + path + ": " + key.error().message);
  return key;
}

std::string PrivateKey::toPem() const {
  detail::BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key_->pkey.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    detail::clearOpensslErrors();
    return {};
  }
  return detail::bioContents(bio.get());
}

PublicKey PrivateKey::publicKey() const { return public_; }

std::string PrivateKey::sign(std::string_view message) const {
  detail::MdCtxPtr ctx(EVP_MD_CTX_new());
  std::string sig(64, '\0');
  std::size_t len = sig.size();
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key_->pkey.get()) != 1 ||
      EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1 ||
      len != sig.size()) {
    detail::clearOpensslErrors();
    return {};
  }
  return sig;
}

Result<void> writeKeyPair(const PrivateKey& key, const std::string& privatePath, const std::string& publicPath) {
  std::string privatePem = key.toPem();
  Cleanser cleanse{privatePem};
  const std::string publicPem = key.publicKey().toPem();
  if (privatePem.empty() || publicPem.empty()) return makeError(ErrorCode::Internal, "cannot encode the key pair as PEM");
  if (::access(publicPath.c_str(), F_OK) == 0) {
    return makeError(ErrorCode::Conflict, publicPath + " already exists; refusing to overwrite it");
  }
  auto priv = createExclusive(privatePath, privatePem, 0600);
  if (!priv.ok()) return priv;
  auto pub = createExclusive(publicPath, publicPem, 0644);
  if (!pub.ok()) ::unlink(privatePath.c_str());   // no half-written pair is left behind
  return pub;
}

}  // namespace gatehouse::core::signing
