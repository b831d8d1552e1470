// libFuzzer target for e2e certificates and revocation lists (docs/e2e-protocol.md section 3):
// parseCertificate, parseRevocationList, TrustAnchor::verify (both roles, fixed authority and time,
// e2e_fuzz_identity.h) and TrustAnchor::updateRevocationList. Beyond "no crash": whatever parses is
// exactly the input and in range, and whatever verifies also parses and allows the topic.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "e2e_fuzz_identity.h"

namespace {
void check(bool ok, const char* what) {
  if (!ok) {
    __builtin_printf("e2e certificate property violated: %s\n", what);
    std::abort();
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace e2efuzz;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const Identity& id = identity();

  if (auto c = e2e::parseCertificate(in)) {
    check(c->encoded == in && in.size() <= e2e::kMaxCertificateBytes, "certificate is the exact input");
    check(c->key.size() == 32 && c->signature.size() == 64 && c->authorityKeyId.size() == 8, "certificate sizes");
    check(c->notBefore < c->notAfter && !c->topics.empty() && c->topics.size() <= 32, "certificate ranges");
    for (const auto& f : c->topics) check(e2e::isValidFilter(f), "certificate filters valid");
    check(e2e::isValidId(c->id), "certificate id valid");
  }
  if (auto l = e2e::parseRevocationList(in)) {
    check(l->encoded == in && l->serials.size() <= 100000, "revocation list is the exact input");
    check(in.size() == 4 + 8 + 4 + 8 * l->serials.size() + 8 + 64, "revocation list size");
  }
  e2e::TrustAnchor anchor(id.authority.publicKey);
  for (auto role : {e2e::Role::Subscriber, e2e::Role::Publisher}) {
    if (auto v = anchor.verify(in, role, kTopic, kFuzzNow)) {
      check(v->role == role && v->allows(kTopic), "a verified certificate has the role and allows the topic");
      check(v->notBefore <= kFuzzNow && kFuzzNow < v->notAfter, "a verified certificate is valid now");
    }
  }
  if (anchor.updateRevocationList(in)) check(e2e::parseRevocationList(in).ok(), "an accepted list parses");
  return 0;
}
