// verifySignature: every VerifyFailure from a real case (real keys, real files, real stores),
// the order of the checks, and an end-to-end load of a signed shared object from its sealed
// memfd (B1, B8).

#include "signing/verify.h"

#include <dlfcn.h>
#include <gtest/gtest.h>

#include <optional>
#include <random>

#include "signing/crypto.h"
#include "signing/elf_inspect.h"
#include "temp_dir.h"

namespace gatehouse::core::signing {
namespace {

using testing::TempDir;

class Verify : public ::testing::Test {
 protected:
  void SetUp() override {
    tmp.write("trust/signer.pub", key.publicKey().toPem());
    auto loaded = TrustStore::loadDirectory(tmp / "trust");
    ASSERT_TRUE(loaded.ok()) << loaded.error().message;
    trust.emplace(std::move(*loaded));
    std::mt19937 rng(1);
    content.resize(3000);
    for (auto& c : content) c = static_cast<char>(rng() & 0xff);
  }

  Manifest manifestFor(std::string_view bytes, const PrivateKey& signer) const {
    Manifest m;
    m.name = "sim";
    m.version = "1.2.0";
    m.abi = "1.0";
    m.sha256Hex = sha256Hex(bytes);
    m.size = bytes.size();
    m.keyId = signer.publicKey().keyId();
    m.notAfterText = "2027-12-01T00:00:00Z";
    return m;
  }

  static std::string signedText(const Manifest& m, const PrivateKey& signer) {
    const std::string line = serializeManifest(m);
    return writeSignatureFile(line, signer.sign(line));
  }

  SealedImage imageOf(std::string_view bytes) {
    auto image = readSealed(tmp.write("plugins/libsim.so", bytes), FilePolicy{});
    EXPECT_TRUE(image.ok()) << image.error().message;
    return std::move(image).value();
  }

  VerifyPolicy policy() const {
    VerifyPolicy p;
    p.trust = &*trust;
    p.nowEpochSeconds = *parseUtcTimestamp("2027-06-01T00:00:00Z");
    p.hostAbi = "1.0";
    return p;
  }

  static void expectFailure(const VerifyOutcome& out, VerifyFailure failure, const std::string& reasonPart) {
    EXPECT_EQ(out.failure, failure) << "got " << toString(out.failure) << ": " << out.reason;
    EXPECT_NE(out.reason.find(reasonPart), std::string::npos) << out.reason << "\nexpected: " << reasonPart;
    EXPECT_EQ(out.reason.find('\n'), std::string::npos) << "reason is not one line: " << out.reason;
  }

  TempDir tmp;
  std::string pluginDir = tmp.mkdir("plugins", 0755);
  std::string trustDir = tmp.mkdir("trust", 0755);
  PrivateKey key = *PrivateKey::generate();
  std::optional<TrustStore> trust;
  std::string content;
};

TEST_F(Verify, ACorrectlySignedImagePasses) {
  const SealedImage image = imageOf(content);
  const VerifyOutcome out = verifySignature(image, signedText(manifestFor(content, key), key), policy());
  EXPECT_EQ(out.failure, VerifyFailure::None) << out.reason;
  EXPECT_TRUE(out.ok());
  EXPECT_TRUE(out.reason.empty());
  EXPECT_EQ(out.signature.manifest.name, "sim");
  EXPECT_EQ(out.signature.manifest.keyId, key.publicKey().keyId());
}

TEST_F(Verify, Malformed) {
  const SealedImage image = imageOf(content);
  const std::string line = serializeManifest(manifestFor(content, key));
  const std::string duplicated = line.substr(0, line.size() - 1) + ",\"name\":\"other\"}";
  // Correctly signed, but the manifest has a duplicate key (B7).
  expectFailure(verifySignature(image, writeSignatureFile(duplicated, key.sign(duplicated)), policy()),
                VerifyFailure::Malformed, "duplicate key \"name\"");
  expectFailure(verifySignature(image, "", policy()), VerifyFailure::Malformed, "expected two lines");
  expectFailure(verifySignature(image, line + "\n" + "AAAA\n", policy()), VerifyFailure::Malformed, "the signature is 3 bytes");
}

TEST_F(Verify, UnknownKey) {
  const SealedImage image = imageOf(content);
  const PrivateKey stranger = *PrivateKey::generate();
  const VerifyOutcome out = verifySignature(image, signedText(manifestFor(content, stranger), stranger), policy());
  expectFailure(out, VerifyFailure::UnknownKey, stranger.publicKey().keyId());
  EXPECT_NE(out.reason.find(tmp / "trust"), std::string::npos) << out.reason;

  VerifyPolicy noTrust = policy();
  noTrust.trust = nullptr;
  expectFailure(verifySignature(image, signedText(manifestFor(content, key), key), noTrust), VerifyFailure::UnknownKey,
                key.publicKey().keyId());
}

TEST_F(Verify, Revoked) {
  const SealedImage image = imageOf(content);
  auto revoked = RevocationList::loadFile(tmp.write("revoked.txt", "# stolen\n" + key.publicKey().keyId() + "\n"));
  ASSERT_TRUE(revoked.ok()) << revoked.error().message;
  VerifyPolicy p = policy();
  p.revoked = &*revoked;
  expectFailure(verifySignature(image, signedText(manifestFor(content, key), key), p), VerifyFailure::Revoked,
                "key " + key.publicKey().keyId() + ", which is on the revocation list");

  auto other = RevocationList::loadFile(tmp.write("other.txt", "0123456789abcdef\n"));
  p.revoked = &*other;
  EXPECT_EQ(verifySignature(image, signedText(manifestFor(content, key), key), p).failure, VerifyFailure::None);
}

TEST_F(Verify, Signature) {
  const SealedImage image = imageOf(content);
  const std::string text = signedText(manifestFor(content, key), key);
  // The manifest edited after signing: version raised by hand.
  std::string edited = text;
  edited.replace(edited.find("1.2.0"), 5, "1.2.1");
  expectFailure(verifySignature(image, edited, policy()), VerifyFailure::Signature,
                "signature by key " + key.publicKey().keyId() + " does not verify");

  // One bit of the signature flipped.
  auto parsed = parseSignatureFile(text);
  ASSERT_TRUE(parsed.ok());
  std::string sig = parsed->signature;
  sig[10] = static_cast<char>(sig[10] ^ 0x04);
  expectFailure(verifySignature(image, writeSignatureFile(parsed->manifestLine, sig), policy()), VerifyFailure::Signature,
                "does not verify");

  // Signed by another key that claims the trusted key's id.
  const PrivateKey impostor = *PrivateKey::generate();
  const std::string line = serializeManifest(manifestFor(content, key));
  expectFailure(verifySignature(image, writeSignatureFile(line, impostor.sign(line)), policy()), VerifyFailure::Signature,
                "does not verify");
}

TEST_F(Verify, ExpiredAfterNotAfterOnly) {
  const SealedImage image = imageOf(content);
  const std::string text = signedText(manifestFor(content, key), key);
  VerifyPolicy p = policy();
  p.nowEpochSeconds = *parseUtcTimestamp("2027-12-01T00:00:00Z");   // the last valid second
  EXPECT_EQ(verifySignature(image, text, p).failure, VerifyFailure::None);
  p.nowEpochSeconds += 1;
  expectFailure(verifySignature(image, text, p), VerifyFailure::Expired, "expired at 2027-12-01T00:00:00Z (now 2027-12-01T00:00:01Z)");
}

TEST_F(Verify, HashMismatch) {
  const std::string text = signedText(manifestFor(content, key), key);
  std::string flipped = content;
  flipped[1500] = static_cast<char>(flipped[1500] ^ 0x01);
  expectFailure(verifySignature(imageOf(flipped), text, policy()), VerifyFailure::HashMismatch,
                "manifest says 3000 bytes with sha256 " + sha256Hex(content));
  expectFailure(verifySignature(imageOf(content + "x"), text, policy()), VerifyFailure::HashMismatch, "file is 3001 bytes");
  // Another plugin's file with this plugin's manifest (B6).
  expectFailure(verifySignature(imageOf("a different plugin"), text, policy()), VerifyFailure::HashMismatch,
                "does not match its signed manifest");
}

TEST_F(Verify, Abi) {
  const SealedImage image = imageOf(content);
  for (const char* abi : {"2.0", "1.1", "0.9"}) {
    Manifest m = manifestFor(content, key);
    m.abi = abi;
    expectFailure(verifySignature(image, signedText(m, key), policy()), VerifyFailure::Abi,
                  std::string("built for ABI ") + abi + "; this gateway implements ABI 1.0");
  }
  Manifest m = manifestFor(content, key);
  VerifyPolicy p = policy();
  p.hostAbi = "1.3";
  EXPECT_EQ(verifySignature(image, signedText(m, key), p).failure, VerifyFailure::None);
  p.hostAbi = "one";
  expectFailure(verifySignature(image, signedText(m, key), p), VerifyFailure::Abi, "host ABI");
}

TEST_F(Verify, Rollback) {
  const SealedImage image = imageOf(content);
  auto versions = VersionStore::open(tmp / "state");
  ASSERT_TRUE(versions.ok());
  VerifyPolicy p = policy();
  p.versions = &*versions;
  const std::string text = signedText(manifestFor(content, key), key);   // 1.2.0
  EXPECT_EQ(verifySignature(image, text, p).failure, VerifyFailure::None);
  ASSERT_TRUE(versions->record("sim", *parseSemVer("1.2.0")).ok());
  EXPECT_EQ(verifySignature(image, text, p).failure, VerifyFailure::None);   // same version again is fine
  ASSERT_TRUE(versions->record("sim", *parseSemVer("1.3.0")).ok());
  expectFailure(verifySignature(image, text, p), VerifyFailure::Rollback, "version 1.2.0 is older than 1.3.0");
  // Persisted: a restart does not forget the mark (B5).
  auto reopened = VersionStore::open(tmp / "state");
  p.versions = &*reopened;
  expectFailure(verifySignature(image, text, p), VerifyFailure::Rollback, "1.3.0");
  ASSERT_TRUE(versions->record("other", *parseSemVer("9.0.0")).ok());
  Manifest newer = manifestFor(content, key);
  newer.version = "1.3.1-rc.1";
  EXPECT_EQ(verifySignature(image, signedText(newer, key), p).failure, VerifyFailure::None);
}

TEST_F(Verify, File) {
  SealedImage image = imageOf(content);
  SealedImage taken = std::move(image);
  expectFailure(verifySignature(image, signedText(manifestFor(content, key), key), policy()), VerifyFailure::File, "not open");
  EXPECT_EQ(verifySignature(taken, signedText(manifestFor(content, key), key), policy()).failure, VerifyFailure::None);
}

TEST_F(Verify, ChecksRunInTheDocumentedOrder) {
  auto revoked = RevocationList::loadFile(tmp.write("revoked.txt", key.publicKey().keyId() + "\n"));
  ASSERT_TRUE(revoked.ok());
  VerifyPolicy p = policy();
  p.revoked = &*revoked;
  p.nowEpochSeconds = *parseUtcTimestamp("2030-01-01T00:00:00Z");
  const SealedImage wrongBytes = imageOf("not the signed bytes");
  Manifest m = manifestFor(content, key);
  m.abi = "7.0";
  const std::string text = signedText(m, key);
  // Revoked beats expired, hash and ABI problems ...
  EXPECT_EQ(verifySignature(wrongBytes, text, p).failure, VerifyFailure::Revoked);
  p.revoked = nullptr;
  // ... then expiry beats hash and ABI ...
  EXPECT_EQ(verifySignature(wrongBytes, text, p).failure, VerifyFailure::Expired);
  p.nowEpochSeconds = *parseUtcTimestamp("2027-01-01T00:00:00Z");
  // ... then the hash beats the ABI.
  EXPECT_EQ(verifySignature(wrongBytes, text, p).failure, VerifyFailure::HashMismatch);
  // An unknown key is reported before a bad signature is looked at.
  std::string edited = text;
  edited.replace(edited.find(key.publicKey().keyId()), 16, "0123456789abcdef");
  EXPECT_EQ(verifySignature(wrongBytes, edited, p).failure, VerifyFailure::UnknownKey);
}

TEST_F(Verify, EndToEndTheVerifiedBytesAreTheLoadedBytes) {
  const std::string so = testing::readFile(SIGNING_FIXTURE_PLAIN);
  ASSERT_FALSE(so.empty());
  const std::string path = tmp.write("plugins/libsim.so", so);
  const std::string sigText = signedText(manifestFor(so, key), key);
  auto image = readSealed(path, FilePolicy{});
  ASSERT_TRUE(image.ok()) << image.error().message;
  const VerifyOutcome out = verifySignature(*image, sigText, policy());
  ASSERT_EQ(out.failure, VerifyFailure::None) << out.reason;
  auto elf = inspectElf(image->bytes());
  ASSERT_TRUE(elf.ok()) << elf.error().message;

  // The file is replaced between verification and load (B8): the sealed bytes are loaded anyway.
  tmp.write("plugins/libsim.so", "#!/bin/sh\necho swapped\n");
  void* handle = ::dlopen(image->procPath().c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(handle, nullptr) << ::dlerror();
  auto fn = reinterpret_cast<int (*)()>(::dlsym(handle, "gatehouse_signing_fixture"));
  ASSERT_NE(fn, nullptr);
  EXPECT_EQ(fn(), 42);
  ::dlclose(handle);
}

}  // namespace
}  // namespace gatehouse::core::signing
