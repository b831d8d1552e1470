#pragma once
// The fixed test identity of the e2e fuzz targets and their seed generator (make_seeds.cpp): an
// authority, a publisher and a subscriber with constant keys, certificates valid at kFuzzNow.
// Ed25519 is deterministic, so the certificates are the same bytes on every run.

#include <cstdint>
#include <string>

#include "gatehouse/e2e/e2e.h"

namespace e2efuzz {

namespace e2e = gatehouse::e2e;

inline constexpr std::int64_t kFuzzNow = 1'700'000'000;
inline const std::string kTopic = "site/a/temp";

struct Identity {
  e2e::KeyPair authority, publisher, subscriber;
  std::string publisherCert, subscriberCert;
};

inline e2e::Certificate draft(e2e::Role role, const char* id, const std::string& key, std::uint64_t serial) {
  e2e::Certificate c;
  c.role = role;
  c.serial = serial;
  c.id = id;
  c.key = key;
  c.notBefore = 1'600'000'000;
  c.notAfter = 4'000'000'000;
  c.topics = {"site/#"};
  return c;
}

inline const Identity& identity() {
  static const Identity id = [] {
    Identity i;
    i.authority = *e2e::ed25519FromPrivate(std::string(32, '\x01'));
    i.publisher = *e2e::ed25519FromPrivate(std::string(32, '\x02'));
    i.subscriber = *e2e::x25519FromPrivate(std::string(32, '\x03'));
    i.publisherCert = e2e::issueCertificate(i.authority, draft(e2e::Role::Publisher, "pub-1", i.publisher.publicKey, 1))->encoded;
    i.subscriberCert = e2e::issueCertificate(i.authority, draft(e2e::Role::Subscriber, "sub-1", i.subscriber.publicKey, 2))->encoded;
    return i;
  }();
  return id;
}

}  // namespace e2efuzz
