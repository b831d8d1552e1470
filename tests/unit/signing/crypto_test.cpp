// Ed25519 keys, SHA-256 and base64: known-answer vectors (FIPS 180-2, RFC 4648, RFC 8032),
// round trips, tampering, PEM handling and key files on disk.

#include "signing/crypto.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <random>
#include <set>

#include "temp_dir.h"
#include "test_keys.h"

namespace gatehouse::core::signing {
namespace {

using testing::ed25519PemFromSeed;
using testing::otherKeyPem;
using testing::PemKind;
using testing::TempDir;

std::string fromHex(std::string_view hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) out += static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16));
  return out;
}

std::string randomBytes(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng() & 0xff);
  return s;
}

PrivateKey newKey() {
  auto key = PrivateKey::generate();
  EXPECT_TRUE(key.ok());
  return std::move(key).value();
}

TEST(Sha256, KnownAnswers) {
  EXPECT_EQ(sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Base64, Rfc4648Vectors) {
  const std::pair<const char*, const char*> vectors[] = {{"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},
                                                         {"foo", "Zm9v"},  {"foob", "Zm9vYg=="},  {"fooba", "Zm9vYmE="},
                                                         {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(base64Encode(plain), encoded);
    auto decoded = base64Decode(encoded);
    ASSERT_TRUE(decoded.ok()) << encoded << ": " << decoded.error().message;
    EXPECT_EQ(*decoded, plain);
  }
}

TEST(Base64, RoundTripsEveryLengthAndByte) {
  for (std::size_t n = 0; n < 100; ++n) {
    const std::string bytes = randomBytes(n, static_cast<unsigned>(n));
    auto decoded = base64Decode(base64Encode(bytes));
    ASSERT_TRUE(decoded.ok()) << n;
    EXPECT_EQ(*decoded, bytes) << n;
  }
  std::string all;
  for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
  EXPECT_EQ(*base64Decode(base64Encode(all)), all);
}

TEST(Base64, DecodeIsStrict) {
  for (const char* bad : {"Zg=", "Zg", "Zg=a", "Z===", "====", "Zm9v=", "Zh==", "Zm9=", "Zm9v\n", " Zm9v", "Zm9v ",
                          "Zm-v", "Zm_v", "Zm=v", "=Zm9", "Zg==Zg==", "Zm\r9v"}) {
    auto r = base64Decode(bad);
    EXPECT_FALSE(r.ok()) << '"' << bad << "\" decoded";
    if (!r.ok()) {
      EXPECT_EQ(r.error().code, ErrorCode::BadRequest);
      EXPECT_NE(r.error().message.find("invalid base64"), std::string::npos);
    }
  }
}

// RFC 8032 section 7.1, TEST 1 and TEST 2.
TEST(Ed25519, Rfc8032Vectors) {
  struct Vector {
    const char* seed;
    const char* pub;
    const char* message;
    const char* signature;
  };
  const Vector vectors[] = {
      {"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
       "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
       "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
      {"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
       "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
       "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
  };
  for (const Vector& v : vectors) {
    auto key = PrivateKey::fromPem(ed25519PemFromSeed(fromHex(v.seed)));
    ASSERT_TRUE(key.ok()) << key.error().message;
    EXPECT_EQ(key->publicKey().raw(), fromHex(v.pub));
    const std::string message = fromHex(v.message);
    EXPECT_EQ(key->sign(message), fromHex(v.signature));

    auto pub = PublicKey::fromRaw(fromHex(v.pub));
    ASSERT_TRUE(pub.ok());
    EXPECT_TRUE(pub->verify(message, fromHex(v.signature)));
    EXPECT_EQ(pub->keyId(), sha256Hex(fromHex(v.pub)).substr(0, 16));
  }
}

TEST(Ed25519, SignVerifyRoundTrip) {
  const PrivateKey key = newKey();
  const PublicKey pub = key.publicKey();
  const std::string message = "{\"format\":1,\"name\":\"sim\"}";
  const std::string sig = key.sign(message);
  ASSERT_EQ(sig.size(), 64u);
  EXPECT_TRUE(pub.verify(message, sig));

  // Through PEM, as the trust store reads it.
  auto reread = PublicKey::fromPem(pub.toPem());
  ASSERT_TRUE(reread.ok()) << reread.error().message;
  EXPECT_TRUE(reread->verify(message, sig));
}

TEST(Ed25519, AnyFlippedBitIsRejected) {
  const PrivateKey key = newKey();
  const PublicKey pub = key.publicKey();
  const std::string message = randomBytes(200, 7);
  const std::string sig = key.sign(message);
  for (std::size_t i = 0; i < message.size(); ++i) {
    std::string m = message;
    m[i] = static_cast<char>(m[i] ^ 0x01);
    EXPECT_FALSE(pub.verify(m, sig)) << "message byte " << i;
  }
  for (std::size_t i = 0; i < sig.size(); ++i) {
    for (int bit : {0x01, 0x80}) {
      std::string s = sig;
      s[i] = static_cast<char>(s[i] ^ bit);
      EXPECT_FALSE(pub.verify(message, s)) << "signature byte " << i;
    }
  }
  EXPECT_FALSE(pub.verify(message + "x", sig));
  EXPECT_FALSE(pub.verify(message, sig.substr(0, 63)));
  EXPECT_FALSE(pub.verify(message, sig + '\0'));
  EXPECT_FALSE(pub.verify(message, std::string(64, '\0')));
  EXPECT_FALSE(newKey().publicKey().verify(message, sig));
}

TEST(Ed25519, KeyIdIsStableAndComesFromTheKey) {
  const PrivateKey key = newKey();
  const PublicKey pub = key.publicKey();
  ASSERT_EQ(pub.raw().size(), 32u);
  EXPECT_EQ(pub.keyId(), sha256Hex(pub.raw()).substr(0, 16));
  EXPECT_EQ(PublicKey::fromPem(pub.toPem())->keyId(), pub.keyId());
  EXPECT_EQ(PrivateKey::fromPem(key.toPem())->publicKey().keyId(), pub.keyId());
  EXPECT_EQ(PublicKey::fromRaw(pub.raw())->keyId(), pub.keyId());

  std::set<std::string> ids;
  for (int i = 0; i < 20; ++i) ids.insert(newKey().publicKey().keyId());
  EXPECT_EQ(ids.size(), 20u);
}

TEST(Ed25519, PemParsingRefusesOtherInput) {
  for (const std::string& bad : {std::string(), std::string("garbage"),
                                 std::string("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"),
                                 newKey().toPem()}) {
    auto r = PublicKey::fromPem(bad);
    EXPECT_FALSE(r.ok());
    if (!r.ok()) {
      EXPECT_EQ(r.error().code, ErrorCode::BadRequest);
    }
  }
  auto ec = PublicKey::fromPem(otherKeyPem("EC", PemKind::Public));
  ASSERT_FALSE(ec.ok());
  EXPECT_NE(ec.error().message.find("only Ed25519"), std::string::npos) << ec.error().message;
  EXPECT_NE(ec.error().message.find("EC"), std::string::npos) << ec.error().message;
  auto rsa = PrivateKey::fromPem(otherKeyPem("RSA", PemKind::Private));
  ASSERT_FALSE(rsa.ok());
  EXPECT_NE(rsa.error().message.find("only Ed25519"), std::string::npos) << rsa.error().message;
  EXPECT_FALSE(PublicKey::fromRaw(std::string(31, 'a')).ok());
}

TEST(Ed25519, EncryptedPrivateKeyIsRefusedWithoutPrompting) {
  // stdin is not read for a passphrase (the test would hang if it were).
  const std::string encrypted = ed25519PemFromSeed(std::string(32, 'k'), PemKind::EncryptedPrivate);
  ASSERT_NE(encrypted.find("ENCRYPTED"), std::string::npos);
  auto r = PrivateKey::fromPem(encrypted);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("unencrypted"), std::string::npos) << r.error().message;
}

TEST(KeyFiles, WriteKeyPairModesAndReload) {
  TempDir dir;
  const PrivateKey key = newKey();
  const std::string priv = dir / "signing.key";
  const std::string pub = dir / "signing.pub";
  const mode_t old = ::umask(077);   // the public key must still end up 0644
  auto written = writeKeyPair(key, priv, pub);
  ::umask(old);
  ASSERT_TRUE(written.ok()) << written.error().message;
  EXPECT_EQ(testing::fileMode(priv), 0600u);
  EXPECT_EQ(testing::fileMode(pub), 0644u);

  auto loaded = PrivateKey::loadFile(priv);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_EQ(loaded->publicKey().keyId(), key.publicKey().keyId());
  auto loadedPub = PublicKey::fromPem(testing::readFile(pub));
  ASSERT_TRUE(loadedPub.ok());
  EXPECT_TRUE(loadedPub->verify("m", loaded->sign("m")));
}

TEST(KeyFiles, WriteKeyPairNeverOverwrites) {
  TempDir dir;
  const std::string existing = dir.write("old.key", "keep me", 0600);
  auto r = writeKeyPair(newKey(), existing, dir / "new.pub");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::Conflict);
  EXPECT_EQ(testing::readFile(existing), "keep me");
  EXPECT_FALSE(std::filesystem::exists(dir / "new.pub"));

  // An existing public key file: nothing is written, not even the private key.
  const std::string existingPub = dir.write("old.pub", "keep me too");
  auto r2 = writeKeyPair(newKey(), dir / "other.key", existingPub);
  ASSERT_FALSE(r2.ok());
  EXPECT_EQ(r2.error().code, ErrorCode::Conflict);
  EXPECT_FALSE(std::filesystem::exists(dir / "other.key"));
  EXPECT_EQ(testing::readFile(existingPub), "keep me too");
}

TEST(KeyFiles, LoadFileRefusesAReadableKey) {
  TempDir dir;
  const PrivateKey key = newKey();
  for (mode_t mode : {0640, 0604, 0660, 0700 | 0004}) {
    const std::string path = dir.write("k" + std::to_string(mode), key.toPem(), mode);
    auto r = PrivateKey::loadFile(path);
    ASSERT_FALSE(r.ok()) << std::oct << mode;
    EXPECT_EQ(r.error().code, ErrorCode::NotAllowed);
    EXPECT_NE(r.error().message.find(path), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("chmod 600"), std::string::npos) << r.error().message;
  }
  EXPECT_TRUE(PrivateKey::loadFile(dir.write("ok.key", key.toPem(), 0400)).ok());
  auto missing = PrivateKey::loadFile(dir / "missing.key");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::NotFound);
  auto notAKey = PrivateKey::loadFile(dir.write("bad.key", "not a key", 0600));
  ASSERT_FALSE(notAKey.ok());
  EXPECT_NE(notAKey.error().message.find(dir / "bad.key"), std::string::npos);
}

}  // namespace
}  // namespace gatehouse::core::signing
