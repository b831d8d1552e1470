// bench/e2e_crypto: the cost of security/e2e's data path against the raw primitives it is built
// on, and the cost of a rewrap for 1000 subscribers (TESTING.md "Measuring").
//
// Per message of 64 bytes and of 1 KiB, in the same run:
//   raw seal   AES-256-GCM encrypt (EVP, a 12-byte nonce, a 40-byte AAD) + Ed25519 sign (EVP_DigestSign,
//              key imported beforehand) over the ciphertext. Nothing else.
//   raw open   Ed25519 verify + AES-256-GCM decrypt of those.
//   seal       Publisher::seal (nonce and AAD of 4.1, encoding, signature, the seq reserve in the
//              fsync'd state file every 1000 messages).
//   open       Subscriber::open of those (parse, key lookup, signature, replay window, decrypt).
// Floors: median(seal) / median(raw seal) <= 1.3 and median(open) / median(raw open) <= 1.3.
// Rewrap: a publisher with 1000 enrolled subscribers; removeSubscriber (new epoch, HPKE wraps for
// the others, the state file written) and rekey (the same for all) timed per round. Floor: the
// median removeSubscriber <= 100 ms.
// Rounds alternate raw-first and library-first; medians over rounds. Every library call must
// succeed and every opened plaintext must equal the sealed one, so no side measures an error path.
//
// Usage: e2e_crypto [--rounds R] [--messages N] [--reserve S] (S: PublisherOptions::seqReserve, default
// the library's, 100000; the seal cost includes one fsync'd state-file write per S seals)   exit 0 = floors met, 1 = missed, 2 = error.
// Threads: one, except inside the rewrap (the publisher spreads wraps over the cores).

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "gatehouse/e2e/e2e.h"

namespace {

namespace e2e = gatehouse::e2e;
using Clock = std::chrono::steady_clock;

constexpr double kFloorRatio = 1.3;
constexpr double kFloorRewrapMs = 100.0;
constexpr std::int64_t kNow = 1'700'000'000;

[[noreturn]] void cannotRun(const std::string& why) {
  std::fprintf(stderr, "e2e_crypto: cannot run: %s\n", why.c_str());
  std::exit(2);
}

template <typename T>
T need(e2e::Result<T> r, const char* what) {
  if (!r) cannotRun(std::string(what) + ": " + r.message());
  return std::move(*r);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

double sinceNs(Clock::time_point t0) {
  return static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count());
}

const unsigned char* u8(const std::string& s) { return reinterpret_cast<const unsigned char*>(s.data()); }

// The raw baseline: EVP only, keys imported once.
struct Raw {
  EVP_PKEY* signKey = nullptr;
  EVP_PKEY* verifyKey = nullptr;
  EVP_CIPHER* gcm = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  std::string key = std::string(32, '\x11'), iv = std::string(12, '\x22'), aad = std::string(40, '\x33');

  Raw(const e2e::KeyPair& kp) {
    signKey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, u8(kp.privateKey), 32);
    verifyKey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, u8(kp.publicKey), 32);
    if (signKey == nullptr || verifyKey == nullptr || gcm == nullptr) cannotRun("raw keys");
  }
  ~Raw() {
    EVP_PKEY_free(signKey);
    EVP_PKEY_free(verifyKey);
    EVP_CIPHER_free(gcm);
  }
  std::string nonce(std::uint64_t seq) const {
    std::string n = iv;
    for (int i = 0; i < 8; ++i) n[4 + i] = static_cast<char>(n[4 + i] ^ ((seq >> (8 * (7 - i))) & 0xff));
    return n;
  }
  // ct || tag || signature
  std::string seal(std::uint64_t seq, const std::string& pt) const {
    std::string out(pt.size() + 16 + 64, '\0');
    auto* o = reinterpret_cast<unsigned char*>(out.data());
    EVP_CIPHER_CTX* c = EVP_CIPHER_CTX_new();
    int len = 0;
    const std::string n = nonce(seq);
    bool ok = EVP_EncryptInit_ex2(c, gcm, u8(key), u8(n), nullptr) == 1 &&
              EVP_EncryptUpdate(c, nullptr, &len, u8(aad), static_cast<int>(aad.size())) == 1 &&
              EVP_EncryptUpdate(c, o, &len, u8(pt), static_cast<int>(pt.size())) == 1 &&
              EVP_EncryptFinal_ex(c, o + len, &len) == 1 &&
              EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, o + pt.size()) == 1;
    EVP_CIPHER_CTX_free(c);
    EVP_MD_CTX* m = EVP_MD_CTX_new();
    std::size_t sigLen = 64;
    ok = ok && EVP_DigestSignInit(m, nullptr, nullptr, nullptr, signKey) == 1 &&
         EVP_DigestSign(m, o + pt.size() + 16, &sigLen, o, pt.size() + 16) == 1;
    EVP_MD_CTX_free(m);
    if (!ok) cannotRun("raw seal failed");
    return out;
  }
  std::string open(std::uint64_t seq, const std::string& msg) const {
    const std::size_t ctLen = msg.size() - 64 - 16;
    const auto* in = u8(msg);
    EVP_MD_CTX* m = EVP_MD_CTX_new();
    bool ok = EVP_DigestVerifyInit(m, nullptr, nullptr, nullptr, verifyKey) == 1 &&
              EVP_DigestVerify(m, in + ctLen + 16, 64, in, ctLen + 16) == 1;
    EVP_MD_CTX_free(m);
    std::string pt(ctLen, '\0');
    EVP_CIPHER_CTX* c = EVP_CIPHER_CTX_new();
    int len = 0;
    unsigned char tag[16];
    std::memcpy(tag, in + ctLen, 16);
    const std::string n = nonce(seq);
    ok = ok && EVP_DecryptInit_ex2(c, gcm, u8(key), u8(n), nullptr) == 1 &&
         EVP_DecryptUpdate(c, nullptr, &len, u8(aad), static_cast<int>(aad.size())) == 1 &&
         EVP_DecryptUpdate(c, reinterpret_cast<unsigned char*>(pt.data()), &len, in, static_cast<int>(ctLen)) == 1 &&
         EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, tag) == 1 &&
         EVP_DecryptFinal_ex(c, reinterpret_cast<unsigned char*>(pt.data()) + len, &len) == 1;
    EVP_CIPHER_CTX_free(c);
    if (!ok) cannotRun("raw open failed");
    return pt;
  }
};

}  // namespace

int main(int argc, char** argv) {
  int rounds = 7, messages = 2000;
  std::uint64_t reserve = gatehouse::e2e::PublisherOptions{}.seqReserve;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--rounds") == 0) rounds = std::max(1, std::atoi(argv[i + 1]));
    else if (std::strcmp(argv[i], "--reserve") == 0) reserve = std::max(1ull, std::strtoull(argv[i + 1], nullptr, 10));
    else if (std::strcmp(argv[i], "--messages") == 0) messages = std::max(10, std::atoi(argv[i + 1]));
  }
  std::string tmpl = (std::filesystem::temp_directory_path() / "e2e-bench-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) cannotRun("mkdtemp");
  const std::filesystem::path dir = tmpl;

  const e2e::KeyPair authority = need(e2e::generateEd25519(), "authority key");
  const e2e::KeyPair pubKey = need(e2e::generateEd25519(), "publisher key");
  std::uint64_t serial = 0;
  auto issue = [&](e2e::Role role, const std::string& id, const std::string& key) {
    e2e::Certificate c;
    c.role = role;
    c.serial = ++serial;
    c.id = id;
    c.key = key;
    c.notBefore = kNow - 3600;
    c.notAfter = kNow + 86400;
    c.topics = {"site/#"};
    return need(e2e::issueCertificate(authority, c), "certificate").encoded;
  };
  const std::string pubCert = issue(e2e::Role::Publisher, "pub-1", pubKey.publicKey);
  auto clock = [] { return kNow; };
  const std::string topic = "site/a/temp";

  bool failed = false;
  // --- (a) and (b): per message ------------------------------------------------------------------
  {
    e2e::PublisherOptions o;
    o.stateFile = (dir / "data.state").string();
    o.clock = clock;
    o.seqReserve = reserve;
    auto pub = need(e2e::Publisher::open(pubKey, pubCert, e2e::TrustAnchor(authority.publicKey), o), "publisher");
    const e2e::KeyPair subKey = need(e2e::generateX25519(), "subscriber key");
    e2e::Subscriber sub(subKey, issue(e2e::Role::Subscriber, "sub-1", subKey.publicKey), e2e::TrustAnchor(authority.publicKey), clock);
    if (auto r = pub->handleKeyRequest(sub.keyRequest(topic)); !r) cannotRun("key request: " + r.message());
    for (const auto& out : pub->drainOutgoing()) {
      if (auto r = sub.handleKeyWrap(out.payload); !r) cannotRun("wrap: " + r.message());
    }
    Raw raw(pubKey);
    std::printf("e2e_crypto: %d rounds x %d messages per size, seq reserve %llu (an fsync'd state file write every %llu seals; median ns/op)\n",
                rounds, messages, static_cast<unsigned long long>(reserve), static_cast<unsigned long long>(reserve));
    std::printf("%-6s %12s %12s %12s %12s %10s %10s\n", "size", "raw seal", "seal", "raw open", "open", "seal/raw", "open/raw");
    std::uint64_t rawSeq = 0;
    for (std::size_t size : {std::size_t{64}, std::size_t{1024}}) {
      std::string pt(size, '\0');
      RAND_bytes(reinterpret_cast<unsigned char*>(pt.data()), static_cast<int>(pt.size()));
      std::vector<double> rs, ls, ro, lo;
      for (int round = 0; round < rounds; ++round) {
        auto runRaw = [&] {
          std::vector<std::string> sealed(messages);
          const std::uint64_t first = rawSeq;
          auto t0 = Clock::now();
          for (int i = 0; i < messages; ++i) sealed[i] = raw.seal(++rawSeq, pt);
          rs.push_back(sinceNs(t0) / messages);
          t0 = Clock::now();
          for (int i = 0; i < messages; ++i) {
            if (raw.open(first + 1 + i, sealed[i]) != pt) cannotRun("raw open mismatch");
          }
          ro.push_back(sinceNs(t0) / messages);
        };
        auto runLib = [&] {
          std::vector<std::string> sealed(messages);
          auto t0 = Clock::now();
          for (int i = 0; i < messages; ++i) sealed[i] = need(pub->seal(topic, pt), "seal");
          ls.push_back(sinceNs(t0) / messages);
          t0 = Clock::now();
          for (int i = 0; i < messages; ++i) {
            const e2e::Opened op = sub.open(topic, sealed[i]);
            if (op.dropped != e2e::Drop::None || op.plaintext != pt) cannotRun("open failed: " + op.detail);
          }
          lo.push_back(sinceNs(t0) / messages);
        };
        if (round % 2 == 0) { runRaw(); runLib(); } else { runLib(); runRaw(); }
      }
      const double sealRatio = median(ls) / median(rs), openRatio = median(lo) / median(ro);
      std::printf("%-6zu %12.0f %12.0f %12.0f %12.0f %9.2fx %9.2fx\n", size, median(rs), median(ls), median(ro), median(lo),
                  sealRatio, openRatio);
      if (sealRatio > kFloorRatio || openRatio > kFloorRatio) failed = true;
    }
  }
  // --- (c): rewrap for 1000 subscribers ----------------------------------------------------------
  {
    e2e::PublisherOptions o;
    o.stateFile = (dir / "rewrap.state").string();
    o.clock = clock;
    auto pub = need(e2e::Publisher::open(pubKey, pubCert, e2e::TrustAnchor(authority.publicKey), o), "publisher");
    const int n = 1000;
    for (int i = 0; i < n; ++i) {
      const e2e::KeyPair k = need(e2e::generateX25519(), "subscriber key");
      const std::string req = e2e::encodeKeyRequest(topic, issue(e2e::Role::Subscriber, "sub-" + std::to_string(i), k.publicKey));
      if (auto r = pub->handleKeyRequest(req); !r) cannotRun("enrol: " + r.message());
    }
    pub->drainOutgoing();
    std::vector<double> removal, rekey;
    for (int round = 0; round < rounds; ++round) {
      const std::size_t before = pub->subscribers(topic).size();
      auto t0 = Clock::now();
      if (auto r = pub->removeSubscriber("sub-" + std::to_string(round)); !r) cannotRun("remove: " + r.message());
      removal.push_back(sinceNs(t0) / 1e6);
      if (pub->drainOutgoing().size() != before - 1) cannotRun("removal did not rewrap for every other subscriber");
      t0 = Clock::now();
      if (auto r = pub->rekey(topic); !r) cannotRun("rekey: " + r.message());
      rekey.push_back(sinceNs(t0) / 1e6);
      if (pub->drainOutgoing().size() != before - 1) cannotRun("rekey did not wrap for every subscriber");
    }
    std::printf("rewrap: removeSubscriber with %d -> %d subscribers: median %.1f ms (min %.1f, max %.1f); rekey with ~%d: median %.1f ms\n",
                n, n - 1, median(removal), *std::min_element(removal.begin(), removal.end()),
                *std::max_element(removal.begin(), removal.end()), n - 1, median(rekey));
    if (median(removal) > kFloorRewrapMs) failed = true;
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  std::printf("floors: seal/raw and open/raw <= %.1fx, rewrap <= %.0f ms: %s\n", kFloorRatio, kFloorRewrapMs,
              failed ? "MISSED" : "met");
  return failed ? 1 : 0;
}
