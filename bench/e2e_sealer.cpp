// bench/e2e_sealer: writes N end-to-end data messages (docs/e2e-protocol.md 4.1) for
// bench/e2e_pipeline.py, sealed by the real security/e2e Publisher under a throw-away authority.
// Usage: e2e_sealer OUT_FILE MESSAGES PROVIDERS STATE_FILE
// OUT_FILE: records u16be(len topic) || topic || u32be(len payload) || payload, provider after
// provider in turn (topic secure/dev-<i>/env/secret); before sealing, message k is the telemetry JSON
// {"value":X.YY,"unit":"Cel","battery":87,"rssi":-71,"ts":T,"seq":S} that e2e_pipeline.py sends in
// plaintext for its other half.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "gatehouse/e2e/e2e.h"

namespace e2e = gatehouse::e2e;

static void append(std::string& out, const std::string& bytes, int width) {
  for (int i = width - 1; i >= 0; --i) out.push_back(static_cast<char>((bytes.size() >> (8 * i)) & 0xff));
  out += bytes;
}

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: e2e_sealer OUT_FILE MESSAGES PROVIDERS STATE_FILE\n");
    return 2;
  }
  const long n = std::atol(argv[2]), providers = std::atol(argv[3]);
  if (n < 1 || providers < 1) return 2;
  auto authority = e2e::generateEd25519();
  auto signing = e2e::generateEd25519();
  if (!authority || !signing) return 1;
  e2e::Certificate draft;
  draft.role = e2e::Role::Publisher;
  draft.serial = 1;
  draft.id = "bench-publisher";
  draft.key = signing->publicKey;
  draft.notBefore = 0;
  draft.notAfter = 4102444800;   // 2100
  draft.topics = {"secure/#"};
  auto cert = e2e::issueCertificate(*authority, draft);
  if (!cert) {
    std::fprintf(stderr, "e2e_sealer: %s\n", cert.error().message.c_str());
    return 1;
  }
  e2e::PublisherOptions options;
  options.stateFile = argv[4];
  auto pub = e2e::Publisher::open(*signing, cert->encoded, e2e::TrustAnchor(authority->publicKey), options);
  if (!pub) {
    std::fprintf(stderr, "e2e_sealer: %s\n", pub.error().message.c_str());
    return 1;
  }
  std::string out;
  for (long k = 0; k < n; ++k) {
    const long i = k % providers + 1;
    const std::string topic = "secure/dev-" + std::to_string(i) + "/env/secret";
    char plain[160];
    std::snprintf(plain, sizeof plain, "{\"value\":%.2f,\"unit\":\"Cel\",\"battery\":87,\"rssi\":-71,\"ts\":%lld,\"seq\":%ld}",
                  static_cast<double>(k / providers) / 100.0 + static_cast<double>(i), 1733600000000LL + k, k / providers);
    auto sealed = (*pub)->seal(topic, plain);
    if (!sealed) {
      std::fprintf(stderr, "e2e_sealer: %s\n", sealed.error().message.c_str());
      return 1;
    }
    append(out, topic, 2);
    append(out, *sealed, 4);
  }
  FILE* f = std::fopen(argv[1], "wb");
  if (!f || std::fwrite(out.data(), 1, out.size(), f) != out.size() || std::fclose(f) != 0) {
    std::fprintf(stderr, "e2e_sealer: cannot write %s\n", argv[1]);
    return 1;
  }
  return 0;
}
