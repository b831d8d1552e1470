// The plugin host against real, signed (and deliberately broken or tampered) plugin files:
// every case of SECURITY-CHECKLIST part B that the host decides, and the contract fixtures of
// tests/contract (one per ABI failure mode). Keys are generated per test; nothing is faked.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "plugin_host/plugin_host.h"
#include "signing/signing.h"

namespace gatehouse::core::plugin_host {
namespace {

namespace fs = std::filesystem;
using signing::PrivateKey;

std::string readText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void writeText(const std::string& path, const std::string& text, mode_t mode = 0644) {
  const std::string tmp = path + ".new";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
  }
  ::chmod(tmp.c_str(), mode);
  fs::rename(tmp, path);
}

class PluginHostTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/gh-host-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    root_ = pattern;
    dir_ = root_ + "/plugins";
    trust_ = root_ + "/trust";
    ASSERT_EQ(::mkdir(dir_.c_str(), 0755), 0);
    ASSERT_EQ(::mkdir(trust_.c_str(), 0755), 0);
    marker_ = root_ + "/constructors-ran";
    ::setenv("GH_TEST_MARKER_FILE", marker_.c_str(), 1);
    auto key = PrivateKey::generate();
    ASSERT_TRUE(key.ok()) << key.error().message;
    key_.emplace(std::move(*key));
    writeText(trust_ + "/test.pub", key_->publicKey().toPem());
  }

  void TearDown() override {
    host_.reset();
    ::unsetenv("GH_TEST_MARKER_FILE");
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  std::string pluginPath(const std::string& name) const { return dir_ + "/gh-" + name + ".so"; }

  // Copies a contract fixture into the plugin folder under `name`.
  void install(const std::string& fixture, const std::string& name) {
    writeText(pluginPath(name), readText(std::string(GATEHOUSE_FIXTURE_DIR) + "/fixture_" + fixture + ".so"));
  }

  // Signs the file as `gatehouse plugin sign` does.
  void sign(const std::string& name, const std::string& version, const PrivateKey* key = nullptr,
            const std::string& abi = "1.0", std::int64_t validSeconds = 3600) {
    const PrivateKey& k = key ? *key : *key_;
    const std::string bytes = readText(pluginPath(name));
    signing::Manifest m;
    m.name = name;
    m.version = version;
    m.abi = abi;
    m.sha256Hex = signing::sha256Hex(bytes);
    m.size = bytes.size();
    m.keyId = k.publicKey().keyId();
    m.notAfter = static_cast<std::int64_t>(std::time(nullptr)) + validSeconds;
    m.notAfterText = signing::formatUtcTimestamp(m.notAfter);
    const std::string line = signing::serializeManifest(m);
    writeText(pluginPath(name) + ".sig", signing::writeSignatureFile(line, k.sign(line)));
  }

  PluginHostOptions options() const {
    PluginHostOptions o;
    o.directory = dir_;
    o.trustStore = trust_;
    o.revocationList = root_ + "/revoked.txt";
    o.revocationListOptional = true;
    o.stateDir = root_ + "/state";
    o.configPath = "test.yaml";
    return o;
  }

  static config::PluginBlock block(const std::string& name, const std::string& yaml = "") {
    config::PluginBlock b;
    b.name = name;
    b.settings = yaml.empty() ? YAML::Node() : YAML::Load(yaml);
    return b;
  }

  PluginStatus statusOf(const std::string& name) const {
    for (const auto& s : host_->statuses()) {
      if (s.name == name) return s;
    }
    ADD_FAILURE() << "no status for " << name;
    return {};
  }

  // A new host (as after a restart) loading `blocks`.
  Result<void> start(const std::vector<config::PluginBlock>& blocks, PluginHostOptions o) {
    host_.reset();
    host_ = std::make_unique<PluginHost>(model_, std::move(o));
    return host_->loadAll(blocks);
  }
  PluginStatus load(const std::string& name, const std::string& yaml = "") {
    auto ok = start({block(name, yaml)}, options());
    EXPECT_TRUE(ok.ok()) << ok.error().message;
    return statusOf(name);
  }

  bool constructorRan(const std::string& name) const {
    return readText(marker_).find(name + " ") != std::string::npos;
  }

  std::optional<model::Value> valueOf(const std::string& provider, const std::string& resource) {
    auto r = model_.resource(provider, "fixture", resource);
    if (!r) return std::nullopt;
    return r->value;
  }

  std::string root_, dir_, trust_, marker_;
  std::optional<PrivateKey> key_;
  model::Model model_;
  std::unique_ptr<PluginHost> host_;
};

// --- B1 -------------------------------------------------------------------------------------

TEST_F(PluginHostTest, B1_CorrectlySignedPluginLoadsConfiguresAndAnswersSet) {
  install("good", "good");
  sign("good", "1.0.0");
  const PluginStatus s = load("good", "level: 9");
  EXPECT_EQ(s.state, "loaded") << s.reason;
  EXPECT_EQ(s.version, "1.0.0");
  EXPECT_EQ(s.keyId, key_->publicKey().keyId());
  EXPECT_EQ(s.sha256, signing::sha256Hex(readText(pluginPath("good"))));
  EXPECT_EQ(s.health, "running");
  EXPECT_TRUE(constructorRan("good"));
  ASSERT_TRUE(valueOf("good-device", "level"));
  EXPECT_EQ(valueOf("good-device", "level")->asInteger(), 9);   // from the validated config block
  auto provider = model_.provider("good-device", model::Detail::Names);
  ASSERT_TRUE(provider.ok());
  EXPECT_EQ(provider->owner, "good");

  std::optional<Result<model::CommandResult>> answer;
  model_.set("good-device", "fixture", "level", model::Value::ofLong(33),
             [&](Result<model::CommandResult> r) { answer.emplace(std::move(r)); });
  ASSERT_TRUE(answer.has_value());
  ASSERT_TRUE(answer->ok()) << answer->error().message;
  EXPECT_EQ((*answer)->value.asInteger(), 33);
  EXPECT_EQ(valueOf("good-device", "level")->asInteger(), 33);
}

TEST_F(PluginHostTest, StoppingRemovesProvidersAndFailsLaterCommands) {
  install("good", "good");
  sign("good", "1.0.0");
  ASSERT_EQ(load("good").state, "loaded");
  host_->stopAll();
  EXPECT_EQ(statusOf("good").state, "stopped");
  EXPECT_FALSE(model_.provider("good-device", model::Detail::Names).ok());
}

// --- B2, B7: the bytes are not the signed bytes ------------------------------------------------

TEST_F(PluginHostTest, B2_FlippedByteIsRefusedAndNoConstructorRuns) {
  install("good", "good");
  sign("good", "1.0.0");
  std::string bytes = readText(pluginPath("good"));
  bytes[bytes.size() / 2] ^= 0x01;
  writeText(pluginPath("good"), bytes);
  const PluginStatus s = load("good");
  EXPECT_EQ(s.state, "refused");
  EXPECT_NE(s.reason.find("sha256"), std::string::npos) << s.reason;
  EXPECT_FALSE(constructorRan("good"));
  EXPECT_FALSE(model_.provider("good-device", model::Detail::Names).ok());
}

TEST_F(PluginHostTest, B2_AppendedByteIsRefusedAndNoConstructorRuns) {
  install("good", "good");
  sign("good", "1.0.0");
  writeText(pluginPath("good"), readText(pluginPath("good")) + "x");
  const PluginStatus s = load("good");
  EXPECT_EQ(s.state, "refused");
  EXPECT_FALSE(constructorRan("good"));
}

TEST_F(PluginHostTest, B7_ManifestWithDuplicateKeyIsRefusedEvenWhenItsSignatureIsValid) {
  install("good", "good");
  sign("good", "1.0.0");
  // Re-sign a manifest that names the version twice: the signature is valid, the manifest is not.
  std::string line = readText(pluginPath("good") + ".sig");
  line = line.substr(0, line.find('\n'));
  line.insert(line.size() - 1, ",\"version\":\"9.9.9\"");
  writeText(pluginPath("good") + ".sig", signing::writeSignatureFile(line, key_->sign(line)));
  const PluginStatus s = load("good");
  EXPECT_EQ(s.state, "refused");
  EXPECT_NE(s.reason.find("duplicate"), std::string::npos) << s.reason;
  EXPECT_FALSE(constructorRan("good"));
}

TEST_F(PluginHostTest, MissingSignatureIsRefused) {
  install("good", "good");
  const PluginStatus s = load("good");
  EXPECT_EQ(s.state, "refused");
  EXPECT_NE(s.reason.find(".sig"), std::string::npos) << s.reason;
  EXPECT_FALSE(constructorRan("good"));
}

// --- B3, B4, B12: who signed, and until when -----------------------------------------------------

TEST_F(PluginHostTest, B3_KeyNotInTrustStoreIsRefused) {
  install("good", "good");
  auto stranger = PrivateKey::generate();
  ASSERT_TRUE(stranger.ok());
  sign("good", "1.0.0", &*stranger);
  const PluginStatus s = load("good");
  EXPECT_EQ(s.state, "refused");
  EXPECT_NE(s.reason.find(stranger->publicKey().keyId()), std::string::npos) << s.reason;
  EXPECT_FALSE(constructorRan("good"));
}

TEST_F(PluginHostTest, B4_RevokedKeyIsRefused) {
  install("good", "good");
  sign("good", "1.0.0");
  writeText(root_ + "/revoked.txt", "# revoked\n" + key_->publicKey().keyId() + "\n");
  const PluginStatus s = load("good");
  EXPECT_EQ(s.state, "refused");
  EXPECT_NE(s.reason.find("revocation list"), std::string::npos) << s.reason;
  EXPECT_FALSE(constructorRan("good"));
}

TEST_F(PluginHostTest, B4_UnreadableRequiredRevocationListRefusesEverything) {
  install("good", "good");
  sign("good", "1.0.0");
  PluginHostOptions o = options();
  o.revocationListOptional = false;   // named in the config but absent: fail closed
  ASSERT_TRUE(start({block("good")}, o).ok());
  EXPECT_EQ(statusOf("good").state, "refused");
}

TEST_F(PluginHostTest, B12_ExpiredManifestIsRefused) {
  install("good", "good");
  sign("good", "1.0.0", nullptr, "1.0", -60);
  const PluginStatus s = load("good");
  EXPECT_EQ(s.state, "refused");
  EXPECT_NE(s.reason.find("expired"), std::string::npos) << s.reason;
  EXPECT_FALSE(constructorRan("good"));
}

// --- B5: no rollback, across restarts ------------------------------------------------------------

TEST_F(PluginHostTest, B5_OlderVersionAfterANewerOneLoadedIsRefusedAfterRestart) {
  install("good_v2", "good");
  sign("good", "1.1.0");
  ASSERT_EQ(load("good").state, "loaded");
  host_.reset();   // the gateway restarts
  install("good", "good");
  sign("good", "1.0.0");
  const PluginStatus s = load("good");
  EXPECT_EQ(s.state, "refused");
  EXPECT_NE(s.reason.find("1.1.0"), std::string::npos) << s.reason;
  // The same version as the high-water mark still loads (a plain restart).
  host_.reset();
  install("good_v2", "good");
  sign("good", "1.1.0");
  EXPECT_EQ(load("good").state, "loaded");
}

// --- B6: a manifest for other bytes, another name, another ABI -----------------------------------

TEST_F(PluginHostTest, B6_ManifestOfPluginAWithTheFileOfPluginBIsRefused) {
  install("good", "good");
  sign("good", "1.0.0");
  install("other", "good");   // B's bytes under A's name, A's .sig kept
  const PluginStatus s = load("good");
  EXPECT_EQ(s.state, "refused");
  EXPECT_FALSE(constructorRan("other"));
}

TEST_F(PluginHostTest, B6_FileSignedUnderAnotherNameIsRefusedByItsDescriptor) {
  install("other", "good");
  sign("good", "1.0.0");   // a valid signature, but the code inside calls itself "other"
  const PluginStatus s = load("good");
  EXPECT_EQ(s.state, "refused");
  EXPECT_NE(s.reason.find("\"other\""), std::string::npos) << s.reason;
  EXPECT_FALSE(model_.provider("other-device", model::Detail::Names).ok());
}

TEST_F(PluginHostTest, B6_SignatureMadeForAnotherPluginNameIsRefused) {
  install("good", "good");
  sign("good", "1.0.0");
  fs::copy_file(pluginPath("good"), pluginPath("alias"));
  fs::copy_file(pluginPath("good") + ".sig", pluginPath("alias") + ".sig");
  const PluginStatus s = load("alias");
  EXPECT_EQ(s.state, "refused");
  EXPECT_NE(s.reason.find("signature is for plugin \"good\""), std::string::npos) << s.reason;
  EXPECT_FALSE(constructorRan("good"));
}

TEST_F(PluginHostTest, B6_WrongAbiInTheManifestIsRefusedBeforeAnyCodeRuns) {
  install("good", "good");
  sign("good", "1.0.0", nullptr, "2.0");
  const PluginStatus s = load("good");
  EXPECT_EQ(s.state, "refused");
  EXPECT_NE(s.reason.find("ABI"), std::string::npos) << s.reason;
  EXPECT_FALSE(constructorRan("good"));
}

// --- B8: the loaded bytes are the verified bytes -------------------------------------------------

TEST_F(PluginHostTest, B8_FileSwappedBetweenVerificationAndLoadHasNoEffect) {
  install("good", "good");
  sign("good", "1.0.0");
  const std::string verifiedSha = signing::sha256Hex(readText(pluginPath("good")));
  PluginHostOptions o = options();
  bool swapped = false;
  o.afterVerify = [&](const std::string& file) {
    // The attacker's window: replace the file on disk with other code.
    writeText(file, readText(std::string(GATEHOUSE_FIXTURE_DIR) + "/fixture_other.so"));
    swapped = true;
  };
  ASSERT_TRUE(start({block("good")}, o).ok());
  ASSERT_TRUE(swapped);
  const PluginStatus s = statusOf("good");
  EXPECT_EQ(s.state, "loaded") << s.reason;
  EXPECT_EQ(s.sha256, verifiedSha);
  EXPECT_TRUE(model_.provider("good-device", model::Detail::Names).ok());
  EXPECT_FALSE(model_.provider("other-device", model::Detail::Names).ok());
  EXPECT_FALSE(constructorRan("other"));
  EXPECT_NE(signing::sha256Hex(readText(pluginPath("good"))), verifiedSha);   // the swap did happen
}

// --- B9: where the file lives ---------------------------------------------------------------------

TEST_F(PluginHostTest, B9_SymlinkIsRefused) {
  install("good", "good");
  sign("good", "1.0.0");
  fs::rename(pluginPath("good"), root_ + "/real.so");
  fs::create_symlink(root_ + "/real.so", pluginPath("good"));
  const PluginStatus s = load("good");
  EXPECT_EQ(s.state, "refused");
  EXPECT_NE(s.reason.find("symbolic link"), std::string::npos) << s.reason;
  EXPECT_FALSE(constructorRan("good"));
}

TEST_F(PluginHostTest, B9_GroupOrWorldWritableFileIsRefused) {
  install("good", "good");
  sign("good", "1.0.0");
  for (mode_t mode : {0664, 0646}) {
    ASSERT_EQ(::chmod(pluginPath("good").c_str(), mode), 0);
    const PluginStatus s = load("good");
    EXPECT_EQ(s.state, "refused") << std::oct << mode;
    EXPECT_NE(s.reason.find("writable"), std::string::npos) << s.reason;
  }
  EXPECT_FALSE(constructorRan("good"));
}

TEST_F(PluginHostTest, B9_GroupWritableDirectoryIsRefused) {
  install("good", "good");
  sign("good", "1.0.0");
  ASSERT_EQ(::chmod(dir_.c_str(), 0775), 0);
  const PluginStatus s = load("good");
  EXPECT_EQ(s.state, "refused");
  EXPECT_NE(s.reason.find("writable"), std::string::npos) << s.reason;
  EXPECT_FALSE(constructorRan("good"));
}

TEST_F(PluginHostTest, B9_FileOfAnotherOwnerIsRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give the file to another user";
  install("good", "good");
  sign("good", "1.0.0");
  ASSERT_EQ(::chown(pluginPath("good").c_str(), 4242, 4242), 0);
  const PluginStatus s = load("good");
  EXPECT_EQ(s.state, "refused");
  EXPECT_NE(s.reason.find("4242"), std::string::npos) << s.reason;
  EXPECT_FALSE(constructorRan("good"));
}

// --- B10: no library search path inside the plugin ------------------------------------------------

TEST_F(PluginHostTest, B10_PluginWithRunpathIsRefusedBeforeLoading) {
  install("runpath", "runpath");
  sign("runpath", "1.0.0");
  const PluginStatus s = load("runpath");
  EXPECT_EQ(s.state, "refused");
  EXPECT_NE(s.reason.find("RUNPATH '$ORIGIN/lib'"), std::string::npos) << s.reason;
  EXPECT_FALSE(constructorRan("runpath"));
}

// --- B11: size --------------------------------------------------------------------------------------

TEST_F(PluginHostTest, B11_FileOverTheLimitIsRefused) {
  install("good", "good");
  sign("good", "1.0.0");
  PluginHostOptions o = options();
  o.maxFileBytes = 4096;
  ASSERT_TRUE(start({block("good")}, o).ok());
  const PluginStatus s = statusOf("good");
  EXPECT_EQ(s.state, "refused");
  EXPECT_NE(s.reason.find("4096"), std::string::npos) << s.reason;
  EXPECT_FALSE(constructorRan("good"));
}

TEST_F(PluginHostTest, B11_HugeSparseFileIsRefusedWithoutReadingIt) {
  const int fd = ::open(pluginPath("huge").c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::ftruncate(fd, off_t{8} << 30), 0);   // 8 GiB of holes
  ::close(fd);
  const auto t0 = std::chrono::steady_clock::now();
  const PluginStatus s = load("huge");
  const auto elapsed = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(s.state, "refused");
  EXPECT_NE(s.reason.find("over the limit"), std::string::npos) << s.reason;
  // Reading 8 GiB would take seconds; refusing from the size takes microseconds.
  EXPECT_LT(std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count(), 1000);
}

// --- contract fixtures: the ABI checks and the failure modes --------------------------------------

struct ContractCase {
  const char* fixture;
  const char* state;
  const char* reasonPart;
};

class ContractFixtures : public PluginHostTest, public ::testing::WithParamInterface<ContractCase> {};

TEST_P(ContractFixtures, AreReportedAndTheGatewayGoesOn) {
  const ContractCase& c = GetParam();
  install(c.fixture, c.fixture);
  sign(c.fixture, "1.0.0");
  install("good", "good");
  sign("good", "1.0.0");
  // The broken plugin first, then a good one: the host must still load the second.
  ASSERT_TRUE(start({block(c.fixture), block("good")}, options()).ok());
  const PluginStatus s = statusOf(c.fixture);
  EXPECT_EQ(s.state, c.state);
  EXPECT_NE(s.reason.find(c.reasonPart), std::string::npos) << s.reason;
  EXPECT_FALSE(model_.provider(std::string(c.fixture) + "-device", model::Detail::Names).ok());
  EXPECT_EQ(statusOf("good").state, "loaded");
  EXPECT_TRUE(model_.provider("good-device", model::Detail::Names).ok());
}

INSTANTIATE_TEST_SUITE_P(
    EachFailureMode, ContractFixtures,
    ::testing::Values(ContractCase{"wrong_major", "refused", "different major"},
                      ContractCase{"newer_minor", "refused", "newer than this gateway"},
                      ContractCase{"short_struct", "refused", "shorter than"},
                      ContractCase{"missing_symbol", "refused", "gh_plugin_entry"},
                      ContractCase{"create_fails", "failed", "fixture refuses to be created"},
                      ContractCase{"start_fails", "failed", "cannot reach its device"},
                      ContractCase{"start_throws", "failed", "device table corrupt"},
                      ContractCase{"start_crashes", "failed", "SIGSEGV"}),
    [](const ::testing::TestParamInfo<ContractCase>& info) { return std::string(info.param.fixture); });

TEST_F(PluginHostTest, CrashWhileHandlingASetFailsTheRequestAndDisablesOnlyThatPlugin) {
  install("set_crashes", "set_crashes");
  sign("set_crashes", "1.0.0");
  ASSERT_EQ(load("set_crashes").state, "loaded");
  std::optional<Result<model::CommandResult>> answer;
  model_.set("set_crashes-device", "fixture", "level", model::Value::ofLong(1),
             [&](Result<model::CommandResult> r) { answer.emplace(std::move(r)); });
  ASSERT_TRUE(answer.has_value());
  ASSERT_FALSE(answer->ok());
  EXPECT_EQ(answer->error().code, ErrorCode::Unavailable);
  EXPECT_NE(answer->error().message.find("crashed"), std::string::npos) << answer->error().message;
  const PluginStatus s = statusOf("set_crashes");
  EXPECT_EQ(s.state, "failed");
  // Later requests are refused without running its code again.
  answer.reset();
  model_.set("set_crashes-device", "fixture", "level", model::Value::ofLong(2),
             [&](Result<model::CommandResult> r) { answer.emplace(std::move(r)); });
  ASSERT_TRUE(answer.has_value());
  EXPECT_FALSE(answer->ok());
  host_->stopAll();   // must not call into (or unload) the crashed library
  EXPECT_EQ(statusOf("set_crashes").state, "stopped");
}

// --- config blocks ----------------------------------------------------------------------------------

TEST_F(PluginHostTest, ConfigBlockIsValidatedAgainstThePluginsSchema) {
  install("good", "good");
  sign("good", "1.0.0");
  auto ok = start({block("good", "levl: 3\nlevel: 5000\n")}, options());
  ASSERT_FALSE(ok.ok());
  EXPECT_NE(ok.error().message.find("test.yaml:1:1: plugins.good.levl: unknown key; did you mean \"level\"?"),
            std::string::npos)
      << ok.error().message;
  EXPECT_NE(ok.error().message.find("test.yaml:2:8: plugins.good.level: must be between 0 and 1000, found 5000"),
            std::string::npos)
      << ok.error().message;
  EXPECT_EQ(statusOf("good").state, "failed");
  EXPECT_FALSE(model_.provider("good-device", model::Detail::Names).ok());
}

// --- hot reload ---------------------------------------------------------------------------------------

TEST_F(PluginHostTest, ReloadReplacesANewSignedVersionAndHandsItsProvidersOver) {
  install("good", "good");
  sign("good", "1.0.0");
  ASSERT_EQ(load("good").state, "loaded");
  model::SubscriptionSpec spec;
  spec.provider = "good-device";
  spec.kinds = static_cast<std::uint8_t>(model::NotificationKind::Lifecycle);
  auto lifecycle = model_.subscribe(spec);

  install("good_v2", "good");
  sign("good", "1.1.0");
  const auto report = host_->reload({block("good")});
  ASSERT_EQ(report.size(), 1u);
  EXPECT_NE(report[0].find("replaced 1.0.0 by 1.1.0"), std::string::npos) << report[0];
  const PluginStatus s = statusOf("good");
  EXPECT_EQ(s.state, "loaded");
  EXPECT_EQ(s.version, "1.1.0");
  ASSERT_TRUE(valueOf("good-device", "version"));
  EXPECT_EQ(valueOf("good-device", "version")->asString(), "1.1.0");   // pushed by the new code
  std::vector<model::NotificationPtr> events;
  lifecycle->drain(events, 100);
  for (const auto& e : events) {
    EXPECT_NE(e->lifecycle, model::LifecycleEvent::ProviderDeleted) << "the provider must survive the hand-over";
  }
}

TEST_F(PluginHostTest, ReloadKeepsTheRunningVersionWhenTheNewFileIsRefused) {
  install("good", "good");
  sign("good", "1.0.0");
  ASSERT_EQ(load("good").state, "loaded");
  install("good_v2", "good");   // not re-signed: the old .sig does not match
  const auto report = host_->reload({block("good")});
  ASSERT_EQ(report.size(), 1u);
  EXPECT_NE(report[0].find("update refused"), std::string::npos) << report[0];
  const PluginStatus s = statusOf("good");
  EXPECT_EQ(s.state, "loaded");
  EXPECT_EQ(s.version, "1.0.0");
  EXPECT_EQ(valueOf("good-device", "version")->asString(), "1.0.0");
}

TEST_F(PluginHostTest, ReloadStopsAPluginWhoseKeyWasRevoked) {
  install("good", "good");
  sign("good", "1.0.0");
  ASSERT_EQ(load("good").state, "loaded");
  writeText(root_ + "/revoked.txt", key_->publicKey().keyId() + "\n");
  host_->reload({block("good")});
  const PluginStatus s = statusOf("good");
  EXPECT_EQ(s.state, "refused");
  EXPECT_NE(s.reason.find("revocation list"), std::string::npos) << s.reason;
  EXPECT_FALSE(model_.provider("good-device", model::Detail::Names).ok());
}

TEST_F(PluginHostTest, ReloadAppliesNewSettingsAndStopsRemovedPlugins) {
  install("good", "good");
  sign("good", "1.0.0");
  ASSERT_EQ(load("good", "level: 1").state, "loaded");
  auto report = host_->reload({block("good", "level: 2")});
  EXPECT_NE(report.at(0).find("new configuration"), std::string::npos) << report.at(0);
  EXPECT_EQ(valueOf("good-device", "level")->asInteger(), 2);
  report = host_->reload({});
  EXPECT_NE(report.at(0).find("stopped"), std::string::npos) << report.at(0);
  EXPECT_EQ(statusOf("good").state, "stopped");
  EXPECT_FALSE(model_.provider("good-device", model::Detail::Names).ok());
}

}  // namespace
}  // namespace gatehouse::core::plugin_host
