#pragma once
// Shared fixture of the security/e2e tests: an authority, a certified publisher, subscribers, a
// fake clock and a temporary directory for publisher state files.

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "gatehouse/e2e/e2e.h"
#include "gatehouse/e2e/hpke.h"
#include "gatehouse/kit/codec.h"

namespace e2etest {

namespace e2e = gatehouse::e2e;

inline std::string unhex(std::string_view h) {
  auto r = gatehouse::kit::hexDecode(h);
  EXPECT_TRUE(r.ok()) << r.message();
  return r.ok() ? *r : std::string();
}
inline std::string hex(std::string_view b) { return gatehouse::kit::hexEncode(b); }

struct Sub {
  e2e::KeyPair key;
  std::string cert;
  std::unique_ptr<e2e::Subscriber> s;
};

class World {
 public:
  e2e::KeyPair authority;
  e2e::KeyPair publisherKey;
  std::string publisherCert;
  std::int64_t now = 1'700'000'000;
  std::string topic = "site/a/temp";
  std::uint64_t serial = 100;
  std::filesystem::path dir;

  World() {
    authority = *e2e::generateEd25519();
    publisherKey = *e2e::generateEd25519();
    publisherCert = cert(e2e::Role::Publisher, "pub-1", publisherKey.publicKey, {"site/#"});
    std::string tmpl = (std::filesystem::temp_directory_path() / "e2e-test-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed";
    dir = tmpl;
  }
  ~World() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  World(const World&) = delete;
  World& operator=(const World&) = delete;

  // A certificate issued by `by` (default: the authority), valid [now - 1 h, now + 1 day).
  std::string cert(e2e::Role role, const std::string& id, const std::string& key, std::vector<std::string> topics,
                   std::int64_t notBefore = 0, std::int64_t notAfter = 0, const e2e::KeyPair* by = nullptr,
                   std::uint64_t* serialOut = nullptr) {
    e2e::Certificate c;
    c.role = role;
    c.serial = ++serial;
    c.id = id;
    c.key = key;
    c.notBefore = notBefore != 0 ? notBefore : now - 3600;
    c.notAfter = notAfter != 0 ? notAfter : now + 86400;
    c.topics = std::move(topics);
    auto issued = e2e::issueCertificate(by != nullptr ? *by : authority, c);
    EXPECT_TRUE(issued.ok()) << issued.message();
    if (serialOut != nullptr) *serialOut = c.serial;
    return issued.ok() ? issued->encoded : std::string();
  }
  // Re-signs certificate bytes (for certificates the issuer refuses to make, e.g. low-order keys).
  std::string resign(std::string body /* without signature */) {
    auto sig = e2e::ed25519Sign(authority.privateKey, "gh-e2e-cert-v1" + body);
    EXPECT_TRUE(sig.ok());
    return body + *sig;
  }

  e2e::TrustAnchor anchor() const { return e2e::TrustAnchor(authority.publicKey); }
  std::function<std::int64_t()> clock() {
    return [this] { return now; };
  }
  e2e::PublisherOptions options(const std::string& file = "publisher.state") {
    e2e::PublisherOptions o;
    o.stateFile = (dir / file).string();
    o.clock = clock();
    return o;
  }
  std::unique_ptr<e2e::Publisher> publisher(e2e::PublisherOptions o) {
    auto p = e2e::Publisher::open(publisherKey, publisherCert, anchor(), std::move(o));
    EXPECT_TRUE(p.ok()) << p.message();
    return p.ok() ? std::move(*p) : nullptr;
  }
  std::unique_ptr<e2e::Publisher> publisher() { return publisher(options()); }

  Sub subscriber(const std::string& id, std::vector<std::string> topics = {"site/#"}) {
    Sub s;
    s.key = *e2e::generateX25519();
    s.cert = cert(e2e::Role::Subscriber, id, s.key.publicKey, std::move(topics));
    s.s = std::make_unique<e2e::Subscriber>(s.key, s.cert, anchor(), clock());
    return s;
  }

  // Hands every queued wrap to the subscriber it is addressed to; returns how many were accepted.
  int deliver(e2e::Publisher& p, std::vector<Sub*> subs) {
    int accepted = 0;
    for (const auto& out : p.drainOutgoing()) {
      for (Sub* s : subs) {
        if (out.topic == e2e::wrapTopic(topic, s->s->id())) {
          EXPECT_TRUE(out.retain);
          auto r = s->s->handleKeyWrap(out.payload);
          EXPECT_TRUE(r.ok()) << r.message();
          accepted += r.ok() ? 1 : 0;
        }
      }
    }
    return accepted;
  }
  // Key request of `s` for `topic`, answered, wrap delivered.
  void enrol(e2e::Publisher& p, Sub& s) {
    auto r = p.handleKeyRequest(s.s->keyRequest(topic));
    ASSERT_TRUE(r.ok()) << r.message();
    ASSERT_EQ(deliver(p, {&s}), 1);
  }
};

}  // namespace e2etest
