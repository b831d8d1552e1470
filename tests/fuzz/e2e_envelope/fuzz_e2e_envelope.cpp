// libFuzzer target for the e2e messages (docs/e2e-protocol.md section 4): peekType, parseData,
// parseKeyRequest, parseKeyWrap, and a fresh Subscriber (fixed identity, e2e_fuzz_identity.h) that
// handles the input as a wrap and as data, then as a sequence of records u16be(len) || message
// (so that a seed "wrap, data" reaches the signature, replay and AEAD steps). Beyond "no crash":
// what a parser accepts is exactly the input (signedPart a prefix, the type matches peekType), and
// nothing the subscriber drops carries plaintext.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "e2e_fuzz_identity.h"

namespace {

namespace e2e = gatehouse::e2e;

void check(bool ok, const char* what) {
  if (!ok) {
    __builtin_printf("e2e envelope property violated: %s\n", what);
    std::abort();
  }
}

void handle(e2e::Subscriber& s, std::string_view msg) {
  auto type = e2e::peekType(msg);
  if (!type) return;
  if (*type == e2e::MessageType::KeyWrap) {
    (void)s.handleKeyWrap(msg);
  } else if (*type == e2e::MessageType::Data) {
    const e2e::Opened o = s.open(e2efuzz::kTopic, msg);
    check(o.dropped == e2e::Drop::None || o.plaintext.empty(), "a dropped message carries plaintext");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace e2efuzz;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const Identity& id = identity();

  auto type = e2e::peekType(in);
  if (auto d = e2e::parseData(in)) {
    check(type && *type == e2e::MessageType::Data, "data type");
    check(in.substr(0, d->signedPart.size()) == d->signedPart && d->signedPart.size() + 64 == in.size(), "data signedPart");
    check(d->ciphertext.size() >= 16 && d->epoch >= 1 && d->seq >= 1, "data fields in range");
  }
  if (auto r = e2e::parseKeyRequest(in)) {
    check(type && *type == e2e::MessageType::KeyRequest, "key request type");
    check(e2e::encodeKeyRequest(r->topic, r->certificate) == in, "key request re-encodes to the input");
  }
  if (auto w = e2e::parseKeyWrap(in)) {
    check(type && *type == e2e::MessageType::KeyWrap, "key wrap type");
    check(in.substr(0, w->signedPart.size()) == w->signedPart && w->signedPart.size() + 64 == in.size(), "wrap signedPart");
    check(w->sealed.size() == 60 && w->enc.size() == 32 && w->subscriberFingerprint.size() == 32, "wrap sizes");
  }

  e2e::Subscriber whole(id.subscriber, id.subscriberCert, e2e::TrustAnchor(id.authority.publicKey), [] { return kFuzzNow; });
  handle(whole, in);

  e2e::Subscriber s(id.subscriber, id.subscriberCert, e2e::TrustAnchor(id.authority.publicKey), [] { return kFuzzNow; });
  std::string_view rest = in;
  while (rest.size() >= 2) {
    const std::size_t n = (static_cast<unsigned char>(rest[0]) << 8) | static_cast<unsigned char>(rest[1]);
    if (rest.size() - 2 < n) break;
    handle(s, rest.substr(2, n));
    rest.remove_prefix(2 + n);
  }
  return 0;
}
