#include "plugin_cli.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>

#include "cli_options.h"
#include "config/config.h"
#include "gatehouse/sdk/abi.h"
#include "plugin_host/plugin_host.h"
#include "signing/signing.h"

namespace gatehouse::app {

namespace {

using namespace gatehouse::core;
namespace fs = std::filesystem;

constexpr const char* kUsage =
    "Usage:\n"
    "  gatehouse plugin keygen --private FILE --public FILE\n"
    "      make an Ed25519 signing key pair (private key mode 0600; never overwrites)\n"
    "  gatehouse plugin sign --key PRIVATE_KEY --name NAME --version X.Y.Z [--abi MAJOR.MINOR]\n"
    "                        [--valid-days N | --not-after YYYY-MM-DDTHH:MM:SSZ] [--out SIGFILE] PLUGIN_FILE\n"
    "      write PLUGIN_FILE.sig: the signed manifest of exactly these bytes (default 365 days)\n"
    "  gatehouse plugin verify [--config FILE] [--trust-store DIR] [--revocation-list FILE] [--state-dir DIR]\n"
    "                          [--max-bytes N] [--no-owner-check] PLUGIN_FILE\n"
    "      check a plugin as the gateway would before loading it (no plugin code runs)\n"
    "  gatehouse plugin list [--config FILE]\n"
    "      verify every gh-*.so in the plugin folder\n"
    "\n"
    "Paths default to the config's plugin_host section, or the build's plugins-signed/ folder.\n"
    "Exit codes of verify and list: 0 valid, 2 usage, 10 file refused (missing, symlink, permissions,\n"
    "owner, too large, no .sig), 11 malformed signature file, 12 unknown key, 13 revoked key,\n"
    "14 bad signature, 15 expired, 16 manifest not for these bytes, 17 incompatible ABI,\n"
    "18 older than a version already loaded (rollback), 19 ELF refused (RPATH/RUNPATH, machine).\n";

int usage(const std::string& problem) {
  if (!problem.empty()) std::fprintf(stderr, "gatehouse plugin: %s\n\n", problem.c_str());
  std::fputs(kUsage, problem.empty() ? stdout : stderr);
  return problem.empty() ? 0 : kPluginUsage;
}

int fail(const std::string& message, int code = kPluginFailure) {
  std::fprintf(stderr, "gatehouse plugin: %s\n", message.c_str());
  return code;
}

int keygen(const Options& o) {
  if (!o.has("private") || !o.has("public") || !o.positional.empty()) return usage("keygen needs --private FILE --public FILE");
  auto key = signing::PrivateKey::generate();
  if (!key) return fail(key.error().message);
  if (auto ok = signing::writeKeyPair(*key, o.get("private"), o.get("public")); !ok) return fail(ok.error().message);
  std::printf("key id %s\nprivate key %s (keep it secret)\npublic key %s (copy it into the gateway's trust store)\n",
              key->publicKey().keyId().c_str(), o.get("private").c_str(), o.get("public").c_str());
  return 0;
}

int sign(const Options& o) {
  if (o.positional.size() != 1) return usage("sign needs exactly one PLUGIN_FILE");
  if (!o.has("key") || !o.has("name") || !o.has("version")) return usage("sign needs --key, --name and --version");
  if (o.has("valid-days") && o.has("not-after")) return usage("give --valid-days or --not-after, not both");
  const std::string file = o.positional[0];
  auto key = signing::PrivateKey::loadFile(o.get("key"));
  if (!key) return fail(key.error().message);
  std::string error;
  const auto bytes = readWhole(file, error);
  if (!bytes) return fail(error);

  signing::Manifest m;
  m.format = 1;
  m.name = o.get("name");
  m.version = o.get("version");
  m.abi = o.get("abi", std::to_string(GH_ABI_MAJOR) + "." + std::to_string(GH_ABI_MINOR));
  m.sha256Hex = signing::sha256Hex(*bytes);
  m.size = bytes->size();
  m.keyId = key->publicKey().keyId();
  if (o.has("not-after")) {
    const auto t = signing::parseUtcTimestamp(o.get("not-after"));
    if (!t) return usage("--not-after must look like 2027-12-01T00:00:00Z");
    m.notAfter = *t;
  } else {
    const std::string daysText = o.get("valid-days", "365");
    char* end = nullptr;
    const long days = std::strtol(daysText.c_str(), &end, 10);
    if (daysText.empty() || *end != '\0' || days < 1 || days > 3650) return usage("--valid-days must be 1..3650");
    m.notAfter = static_cast<std::int64_t>(std::time(nullptr)) + days * 86400;
  }
  m.notAfterText = signing::formatUtcTimestamp(m.notAfter);
  const std::string line = signing::serializeManifest(m);
  // Refuse to sign what the gateway would refuse to load.
  if (auto parsed = signing::parseManifest(line); !parsed) return fail(parsed.error().message, kPluginUsage);
  const std::string text = signing::writeSignatureFile(line, key->sign(line));

  const std::string out = o.get("out", file + ".sig");
  const std::string tmp = out + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    f << text;
    f.close();
    if (!f) return fail(tmp + ": cannot write");
  }
  ::chmod(tmp.c_str(), 0644);
  if (std::rename(tmp.c_str(), out.c_str()) != 0) return fail(out + ": cannot write: " + std::strerror(errno));
  std::printf("signed %s: %s %s, ABI %s, key %s, valid until %s -> %s\n", file.c_str(), m.name.c_str(), m.version.c_str(),
              m.abi.c_str(), m.keyId.c_str(), m.notAfterText.c_str(), out.c_str());
  return 0;
}

int exitFor(signing::VerifyFailure f) {
  switch (f) {
    case signing::VerifyFailure::None: return kPluginValid;
    case signing::VerifyFailure::File: return kPluginFile;
    case signing::VerifyFailure::Malformed: return kPluginMalformed;
    case signing::VerifyFailure::UnknownKey: return kPluginUnknownKey;
    case signing::VerifyFailure::Revoked: return kPluginRevoked;
    case signing::VerifyFailure::Signature: return kPluginBadSignature;
    case signing::VerifyFailure::Expired: return kPluginExpired;
    case signing::VerifyFailure::HashMismatch: return kPluginHashMismatch;
    case signing::VerifyFailure::Abi: return kPluginAbi;
    case signing::VerifyFailure::Rollback: return kPluginRollback;
  }
  return kPluginFailure;
}

// The plugin_host settings: from --config when given, else the defaults; options override.
std::optional<plugin_host::PluginHostOptions> hostOptions(const Options& o, int& exitCode) {
  config::Config cfg;
  if (o.has("config")) {
    auto loaded = config::loadFile(o.get("config"));
    if (!loaded) {
      std::fprintf(stderr, "%s\n", loaded.error().message.c_str());
      exitCode = 3;
      return std::nullopt;
    }
    cfg = *loaded;
  }
  plugin_host::PluginHostOptions h = plugin_host::optionsFromConfig(cfg);
  if (o.has("trust-store")) h.trustStore = o.get("trust-store");
  if (o.has("revocation-list")) {
    h.revocationList = o.get("revocation-list");
    h.revocationListOptional = false;
  }
  if (o.has("state-dir")) h.stateDir = o.get("state-dir");
  if (o.has("max-bytes")) {
    char* end = nullptr;
    const std::string t = o.get("max-bytes");
    h.maxFileBytes = std::strtoull(t.c_str(), &end, 10);
    if (t.empty() || *end != '\0' || h.maxFileBytes == 0) {
      exitCode = usage("--max-bytes must be a positive integer");
      return std::nullopt;
    }
  }
  if (o.flag("no-owner-check")) h.checkOwner = false;
  return h;
}

struct Verdict {
  int code = kPluginValid;
  std::string text;   // one line
  signing::Manifest manifest;
};

Verdict verifyFile(const std::string& file, const plugin_host::PluginHostOptions& h) {
  Verdict v;
  auto refuse = [&](int code, std::string why) {
    v.code = code;
    v.text = std::move(why);
    return v;
  };
  auto trust = signing::TrustStore::loadDirectory(h.trustStore);
  if (!trust) return refuse(kPluginFile, "trust store: " + trust.error().message);
  auto revoked = signing::RevocationList::loadFile(h.revocationList);
  const signing::RevocationList* revokedList = nullptr;
  if (revoked) {
    revokedList = &*revoked;
  } else if (!(revoked.error().code == ErrorCode::NotFound && h.revocationListOptional)) {
    return refuse(kPluginFile, "revocation list: " + revoked.error().message);
  }
  std::optional<signing::VersionStore> versions;
  if (auto vs = signing::VersionStore::open(h.stateDir); vs) versions.emplace(std::move(*vs));

  signing::FilePolicy policy;
  policy.maxBytes = h.maxFileBytes;
  policy.checkOwner = h.checkOwner;
  auto image = signing::readSealed(file, policy);
  if (!image) return refuse(kPluginFile, image.error().message);
  signing::FilePolicy sigPolicy = policy;
  sigPolicy.maxBytes = 4096;
  auto sig = signing::readSealed(file + ".sig", sigPolicy);
  if (!sig) return refuse(kPluginFile, sig.error().message);
  signing::VerifyPolicy vp;
  vp.trust = &*trust;
  vp.revoked = revokedList;
  vp.versions = versions ? &*versions : nullptr;
  vp.nowEpochSeconds = static_cast<std::int64_t>(std::time(nullptr));
  vp.hostAbi = std::to_string(GH_ABI_MAJOR) + "." + std::to_string(GH_ABI_MINOR);
  const auto outcome = signing::verifySignature(*image, sig->bytes(), vp);
  if (outcome.failure != signing::VerifyFailure::None) return refuse(exitFor(outcome.failure), outcome.reason);
  auto elf = signing::inspectElf(image->bytes());
  if (!elf) return refuse(kPluginElf, elf.error().message);
  v.manifest = outcome.signature.manifest;
  const auto& m = v.manifest;
  v.text = "valid: " + m.name + " " + m.version + ", ABI " + m.abi + ", signed by key " + m.keyId + ", valid until " +
           m.notAfterText + ", sha256 " + m.sha256Hex;
  return v;
}

int verify(const Options& o) {
  if (o.positional.size() != 1) return usage("verify needs exactly one PLUGIN_FILE");
  int code = 0;
  const auto h = hostOptions(o, code);
  if (!h) return code;
  const Verdict v = verifyFile(o.positional[0], *h);
  std::fprintf(v.code == 0 ? stdout : stderr, "%s: %s\n", o.positional[0].c_str(), v.text.c_str());
  return v.code;
}

int list(const Options& o) {
  if (!o.positional.empty()) return usage("list takes no file; it lists the plugin folder");
  int code = 0;
  const auto h = hostOptions(o, code);
  if (!h) return code;
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(h->directory, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("gh-", 0) == 0 && name.size() > 6 && name.compare(name.size() - 3, 3, ".so") == 0) {
      files.push_back(entry.path().string());
    }
  }
  if (ec) return fail(h->directory + ": " + ec.message(), kPluginFile);
  std::sort(files.begin(), files.end());
  std::printf("plugin folder %s, trust store %s\n", h->directory.c_str(), h->trustStore.c_str());
  int worst = 0;
  for (const auto& f : files) {
    const Verdict v = verifyFile(f, *h);
    std::printf("%-28s %s\n", fs::path(f).filename().string().c_str(), v.text.c_str());
    if (v.code != 0 && worst == 0) worst = v.code;
  }
  if (files.empty()) std::printf("(no plugins)\n");
  return worst;
}

}  // namespace

int pluginCommand(const std::vector<std::string_view>& args) {
  if (args.size() < 2 || args[1] == "--help" || args[1] == "-h") return usage(args.size() < 2 ? "no plugin command given" : "");
  const std::string_view cmd = args[1];
  Options o;
  if (cmd == "keygen") {
    o = parseOptions(args, 2, {"private", "public"}, {});
  } else if (cmd == "sign") {
    o = parseOptions(args, 2, {"key", "name", "version", "abi", "valid-days", "not-after", "out"}, {});
  } else if (cmd == "verify" || cmd == "list") {
    o = parseOptions(args, 2, {"config", "trust-store", "revocation-list", "state-dir", "max-bytes"}, {"no-owner-check"});
  } else {
    return usage("unknown plugin command: " + std::string(cmd));
  }
  if (!o.error.empty()) return usage(o.error);
  if (cmd == "keygen") return keygen(o);
  if (cmd == "sign") return sign(o);
  if (cmd == "verify") return verify(o);
  return list(o);
}

}  // namespace gatehouse::app
