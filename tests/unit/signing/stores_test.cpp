// Trust store, revocation list and version high-water store, on real files in a temp directory.

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <thread>

#include "signing/crypto.h"
#include "signing/trust_store.h"
#include "signing/version_store.h"
#include "temp_dir.h"
#include "test_keys.h"

namespace gatehouse::core::signing {
namespace {

using testing::TempDir;

PublicKey newPublicKey() { return PrivateKey::generate()->publicKey(); }

void expectError(const Error& e, ErrorCode code, const std::string& part1, const std::string& part2 = "") {
  EXPECT_EQ(e.code, code) << e.message;
  EXPECT_NE(e.message.find(part1), std::string::npos) << e.message << "\nexpected: " << part1;
  if (!part2.empty()) {
    EXPECT_NE(e.message.find(part2), std::string::npos) << e.message << "\nexpected: " << part2;
  }
}

// ---- TrustStore ------------------------------------------------------------------------------

TEST(TrustStore, LoadsPubFilesOnlyAndIdsComeFromTheKeys) {
  TempDir tmp;
  const std::string dir = tmp.mkdir("trust", 0755);
  const PublicKey a = newPublicKey();
  const PublicKey b = newPublicKey();
  const PublicKey notLoaded = newPublicKey();
  auto put = [&](const std::string& name, const std::string& bytes, mode_t mode = 0644) {
    const std::string p = dir + "/" + name;
    std::ofstream(p) << bytes;
    ::chmod(p.c_str(), mode);
    return p;
  };
  put("0000000000000000.pub", a.toPem());   // the file name is not the key id
  put("second.pub", b.toPem());
  put("other.pem", notLoaded.toPem());      // not *.pub: ignored
  put("README", "not a key");
  put("second.pub.bak", "not a key either");
  ASSERT_EQ(::mkdir((dir + "/sub").c_str(), 0755), 0);

  auto store = TrustStore::loadDirectory(dir);
  ASSERT_TRUE(store.ok()) << store.error().message;
  std::vector<std::string> expected = {a.keyId(), b.keyId()};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(store->keyIds(), expected);
  ASSERT_NE(store->find(a.keyId()), nullptr);
  EXPECT_EQ(store->find(a.keyId())->raw(), a.raw());
  EXPECT_EQ(store->find(b.keyId())->raw(), b.raw());
  EXPECT_EQ(store->find(notLoaded.keyId()), nullptr);
  EXPECT_EQ(store->find("0000000000000000"), nullptr);
}

TEST(TrustStore, RejectsBadKeysNamingTheFile) {
  TempDir tmp;
  const std::string dir = tmp.mkdir("trust", 0755);
  tmp.write("trust/good.pub", newPublicKey().toPem());
  tmp.write("trust/broken.pub", "-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----\n");
  auto r = TrustStore::loadDirectory(dir);
  ASSERT_FALSE(r.ok());
  expectError(r.error(), ErrorCode::BadRequest, dir + "/broken.pub", "not a PEM public key");

  ::unlink((dir + "/broken.pub").c_str());
  tmp.write("trust/ec.pub", testing::otherKeyPem("EC", testing::PemKind::Public));
  auto ec = TrustStore::loadDirectory(dir);
  ASSERT_FALSE(ec.ok());
  expectError(ec.error(), ErrorCode::BadRequest, dir + "/ec.pub", "only Ed25519");
}

TEST(TrustStore, AppliesThePermissionRules) {
  TempDir tmp;
  const std::string dir = tmp.mkdir("trust", 0755);
  const std::string key = tmp.write("trust/a.pub", newPublicKey().toPem());
  ASSERT_TRUE(TrustStore::loadDirectory(dir).ok());

  ::chmod(key.c_str(), 0664);
  auto groupWritable = TrustStore::loadDirectory(dir);
  ASSERT_FALSE(groupWritable.ok());
  expectError(groupWritable.error(), ErrorCode::NotAllowed, key, "writable by group or others (mode 0664)");
  ::chmod(key.c_str(), 0644);

  ::chmod(dir.c_str(), 0757);
  auto worldWritableDir = TrustStore::loadDirectory(dir);
  ASSERT_FALSE(worldWritableDir.ok());
  expectError(worldWritableDir.error(), ErrorCode::NotAllowed, "directory " + dir, "writable by group or others");
  ::chmod(dir.c_str(), 0755);

  const std::string elsewhere = tmp.write("elsewhere.pem", newPublicKey().toPem());
  ASSERT_EQ(::symlink(elsewhere.c_str(), (dir + "/link.pub").c_str()), 0);
  auto symlinked = TrustStore::loadDirectory(dir);
  ASSERT_FALSE(symlinked.ok());
  expectError(symlinked.error(), ErrorCode::NotAllowed, dir + "/link.pub", "is a symbolic link");
  ::unlink((dir + "/link.pub").c_str());

  ASSERT_EQ(::symlink(dir.c_str(), (tmp / "trust-link").c_str()), 0);
  auto dirLink = TrustStore::loadDirectory(tmp / "trust-link");
  ASSERT_FALSE(dirLink.ok());
  expectError(dirLink.error(), ErrorCode::NotAllowed, "is a symbolic link");

  auto missing = TrustStore::loadDirectory(tmp / "nope");
  ASSERT_FALSE(missing.ok());
  expectError(missing.error(), ErrorCode::NotFound, tmp / "nope");
}

TEST(TrustStore, RefusesAKeyOwnedBySomeoneElse) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give a file away";
  TempDir tmp;
  const std::string dir = tmp.mkdir("trust", 0755);
  const std::string key = tmp.write("trust/a.pub", newPublicKey().toPem());
  ASSERT_EQ(::chown(key.c_str(), 65534, 65534), 0);
  auto r = TrustStore::loadDirectory(dir);
  ASSERT_FALSE(r.ok());
  expectError(r.error(), ErrorCode::NotAllowed, key, "owned by uid 65534");
}

// ---- RevocationList --------------------------------------------------------------------------

TEST(RevocationList, ParsesIdsCommentsAndBlankLines) {
  TempDir tmp;
  const std::string path = tmp.write("revoked.txt",
                                     "# revoked 2026-01-01: laptop stolen\n"
                                     "\n"
                                     "0123456789abcdef\n"
                                     "   \n"
                                     "  FEDCBA9876543210  \r\n"
                                     "# 1111111111111111 is only a comment\n"
                                     "0123456789abcdef\n"
                                     "aaaaaaaaaaaaaaaa");
  auto list = RevocationList::loadFile(path);
  ASSERT_TRUE(list.ok()) << list.error().message;
  EXPECT_EQ(list->size(), 3u);   // the repeated id counts once
  EXPECT_TRUE(list->isRevoked("0123456789abcdef"));
  EXPECT_TRUE(list->isRevoked("fedcba9876543210"));
  EXPECT_FALSE(list->isRevoked("aaaaaaaaaaaaaaab"));
  EXPECT_FALSE(list->isRevoked("1111111111111111"));
  EXPECT_TRUE(list->isRevoked("aaaaaaaaaaaaaaaa"));   // last line without newline
}

TEST(RevocationList, ErrorsNameFileAndLine) {
  TempDir tmp;
  const std::pair<const char*, int> cases[] = {
      {"0123456789abcdef\n# ok\n0123456789abcde\n", 3},
      {"0123456789abcdef0\n", 1},
      {"\n\n\n\n0123456789abcdeg\n", 5},
      {"0123456789abcdef # trailing comment\n", 1},
      {"key 0123456789abcdef\n", 1},
  };
  int i = 0;
  for (const auto& [text, line] : cases) {
    const std::string path = tmp.write("r" + std::to_string(i++), text);
    auto r = RevocationList::loadFile(path);
    ASSERT_FALSE(r.ok()) << text;
    expectError(r.error(), ErrorCode::BadRequest, path + ":" + std::to_string(line) + ": expected a 16-hex-digit key id");
  }
  auto missing = RevocationList::loadFile(tmp / "missing.txt");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::NotFound);
  auto writable = RevocationList::loadFile(tmp.write("w.txt", "", 0666));
  ASSERT_FALSE(writable.ok());
  expectError(writable.error(), ErrorCode::NotAllowed, "writable by group or others");
  auto empty = RevocationList::loadFile(tmp.write("empty.txt", ""));
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->size(), 0u);
}

// ---- VersionStore ----------------------------------------------------------------------------

SemVer sv(const char* text) { return *parseSemVer(text); }

TEST(VersionStore, CreatesTheDirectoryPrivate) {
  TempDir tmp;
  const std::string state = tmp / "state";
  auto store = VersionStore::open(state);
  ASSERT_TRUE(store.ok()) << store.error().message;
  EXPECT_EQ(testing::fileMode(state), 0700u);
  EXPECT_FALSE(store->highWater("sim").has_value());
  EXPECT_FALSE(std::filesystem::exists(state + "/plugin-versions"));   // missing file = empty
}

TEST(VersionStore, RaisesOnlyAndPersistsAcrossReopen) {
  TempDir tmp;
  const std::string state = tmp / "state";
  {
    auto store = VersionStore::open(state);
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE(store->record("sim", sv("1.2.0")).ok());
    EXPECT_EQ(store->highWater("sim"), sv("1.2.0"));
    ASSERT_TRUE(store->record("sim", sv("1.1.9")).ok());          // lower: ignored
    ASSERT_TRUE(store->record("sim", sv("1.2.0-rc.1")).ok());     // prerelease of it: lower
    EXPECT_EQ(store->highWater("sim"), sv("1.2.0"));
    ASSERT_TRUE(store->record("mqtt", sv("0.1.0-beta.2")).ok());
    ASSERT_TRUE(store->record("sim", sv("1.10.0")).ok());
    EXPECT_EQ(store->highWater("sim"), sv("1.10.0"));
    EXPECT_EQ(store->highWater("mqtt"), sv("0.1.0-beta.2"));
  }
  EXPECT_EQ(testing::readFile(state + "/plugin-versions"), "mqtt 0.1.0-beta.2\nsim 1.10.0\n");
  auto reopened = VersionStore::open(state);
  ASSERT_TRUE(reopened.ok()) << reopened.error().message;
  EXPECT_EQ(reopened->highWater("sim"), sv("1.10.0"));
  EXPECT_EQ(reopened->highWater("mqtt"), sv("0.1.0-beta.2"));
  EXPECT_FALSE(reopened->highWater("other").has_value());
  ASSERT_TRUE(reopened->record("sim", sv("1.9.0")).ok());
  EXPECT_EQ(VersionStore::open(state)->highWater("sim"), sv("1.10.0"));

  // Atomic replacement leaves no temporary file behind.
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(state)) names.push_back(e.path().filename().string());
  EXPECT_EQ(names, std::vector<std::string>{"plugin-versions"});
  EXPECT_EQ(testing::fileMode(state + "/plugin-versions"), 0600u);
}

TEST(VersionStore, CorruptFileRefusesToOpenNamingFileAndLine) {
  TempDir tmp;
  const std::string state = tmp.mkdir("state");
  const std::pair<const char*, int> cases[] = {
      {"sim 1.2.0\nmqtt\n", 2},
      {"sim 1.2\n", 1},
      {"sim 1.2.0\n\nmqtt 1.0.0\n", 2},
      {"Sim 1.2.0\n", 1},
      {"sim  1.2.0\n", 1},
      {"sim 1.2.0 \n", 1},
      {"sim 1.2.0\nsim 1.3.0\n", 2},
      {"sim 1.2.0\r\n", 1},
  };
  for (const auto& [text, line] : cases) {
    tmp.write("state/plugin-versions", text, 0600);
    auto r = VersionStore::open(state);
    ASSERT_FALSE(r.ok()) << text;
    expectError(r.error(), ErrorCode::BadRequest, state + "/plugin-versions:" + std::to_string(line) + ":");
  }
  tmp.write("state/plugin-versions", "sim 1.2.0", 0600);   // no final newline: still readable
  auto ok = VersionStore::open(state);
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->highWater("sim"), sv("1.2.0"));
}

TEST(VersionStore, RefusesUnsafeStateAndBadNames) {
  TempDir tmp;
  const std::string state = tmp.mkdir("state", 0777);
  auto r = VersionStore::open(state);
  ASSERT_FALSE(r.ok());
  expectError(r.error(), ErrorCode::NotAllowed, "writable by group or others");
  ::chmod(state.c_str(), 0700);
  tmp.write("state/plugin-versions", "sim 1.0.0\n", 0666);
  auto writableFile = VersionStore::open(state);
  ASSERT_FALSE(writableFile.ok());
  expectError(writableFile.error(), ErrorCode::NotAllowed, state + "/plugin-versions");
  ::chmod((state + "/plugin-versions").c_str(), 0600);

  auto store = VersionStore::open(state);
  ASSERT_TRUE(store.ok());
  for (const char* bad : {"", "Sim", "a b", "a/b", "../x"}) {
    auto rec = store->record(bad, sv("9.9.9"));
    ASSERT_FALSE(rec.ok()) << bad;
    EXPECT_EQ(rec.error().code, ErrorCode::BadRequest);
  }
  EXPECT_EQ(testing::readFile(state + "/plugin-versions"), "sim 1.0.0\n");
  auto missingParent = VersionStore::open(tmp / "no/such/dir");
  ASSERT_FALSE(missingParent.ok());
  EXPECT_EQ(missingParent.error().code, ErrorCode::NotFound);
}

TEST(VersionStore, ConcurrentRecordsKeepTheHighest) {
  TempDir tmp;
  const std::string state = tmp / "state";
  auto store = VersionStore::open(state);
  ASSERT_TRUE(store.ok());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        const SemVer v{1, i, t, ""};
        EXPECT_TRUE(store->record("p" + std::to_string(i % 3), v).ok());
        (void)store->highWater("p0");
      }
    });
  }
  for (auto& th : threads) th.join();
  auto reopened = VersionStore::open(state);
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ(reopened->highWater("p0"), (SemVer{1, 24, 3, ""}));
  EXPECT_EQ(reopened->highWater("p1"), (SemVer{1, 22, 3, ""}));
  EXPECT_EQ(reopened->highWater("p2"), (SemVer{1, 23, 3, ""}));
  EXPECT_EQ(store->highWater("p0"), reopened->highWater("p0"));
}

}  // namespace
}  // namespace gatehouse::core::signing
