#pragma once
// Keys built with OpenSSL directly, for the cases the library itself must not produce: keys of
// other types, RFC 8032 keys from raw seeds, encrypted private keys.

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <string>

namespace gatehouse::core::signing::testing {

enum class PemKind { Public, Private, EncryptedPrivate };

// PEM text of `pkey`, which it frees. EncryptedPrivate uses AES-256-CBC with passphrase "secret".
inline std::string pemOf(EVP_PKEY* pkey, PemKind kind) {
  BIO* bio = BIO_new(BIO_s_mem());
  char pass[] = "secret";
  switch (kind) {
    case PemKind::Public: PEM_write_bio_PUBKEY(bio, pkey); break;
    case PemKind::Private: PEM_write_bio_PrivateKey(bio, pkey, nullptr, nullptr, 0, nullptr, nullptr); break;
    case PemKind::EncryptedPrivate: PEM_write_bio_PKCS8PrivateKey(bio, pkey, EVP_aes_256_cbc(), pass, 6, nullptr, nullptr); break;
  }
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string pem(data, n > 0 ? static_cast<std::size_t>(n) : 0);
  BIO_free(bio);
  EVP_PKEY_free(pkey);
  return pem;
}

// A fresh key of another type: "RSA" (2048 bits) or "EC" (P-256).
inline std::string otherKeyPem(const std::string& type, PemKind kind) {
  EVP_PKEY* pkey = type == "RSA" ? EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048))
                                 : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  return pemOf(pkey, kind);
}

// An Ed25519 private key from its 32-byte RFC 8032 seed.
inline std::string ed25519PemFromSeed(const std::string& seed, PemKind kind = PemKind::Private) {
  return pemOf(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(seed.data()),
                                            seed.size()),
               kind);
}

}  // namespace gatehouse::core::signing::testing
