// Writes the seed corpora of the e2e fuzz targets (run by hand; the outputs are committed):
//   make_e2e_fuzz_seeds <e2e_envelope/corpus> <e2e_certificate/corpus> <scratch dir>
// Envelope seeds: a key request, a wrap, a data message, and records "wrap, data, data (replay)"
// for the fixed subscriber. Certificate seeds: both certificates and a revocation list.
#include <cstdio>
#include <fstream>
#include <string>

#include "e2e_fuzz_identity.h"

namespace {
void write(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
  std::printf("%s (%zu bytes)\n", path.c_str(), bytes.size());
}
std::string record(const std::string& m) {
  return std::string{static_cast<char>(m.size() >> 8), static_cast<char>(m.size() & 0xff)} + m;
}
}  // namespace

int main(int argc, char** argv) {
  using namespace e2efuzz;
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s <envelope corpus> <certificate corpus> <scratch dir>\n", argv[0]);
    return 2;
  }
  const std::string env = argv[1], cert = argv[2], scratch = argv[3];
  const Identity& id = identity();
  e2e::PublisherOptions o;
  o.stateFile = scratch + "/seed-publisher.state";
  o.clock = [] { return kFuzzNow; };
  std::remove(o.stateFile.c_str());
  auto p = e2e::Publisher::open(id.publisher, id.publisherCert, e2e::TrustAnchor(id.authority.publicKey), o);
  if (!p) {
    std::fprintf(stderr, "publisher: %s\n", p.message().c_str());
    return 1;
  }
  const std::string req = e2e::encodeKeyRequest(kTopic, id.subscriberCert);
  if (!(*p)->handleKeyRequest(req)) return 1;
  const std::string wrap = (*p)->drainOutgoing().at(0).payload;
  const std::string data = *(*p)->seal(kTopic, "{\"value\":21.5}");
  write(env + "/key_request", req);
  write(env + "/key_wrap", wrap);
  write(env + "/data", data);
  write(env + "/records_wrap_data_replay", record(wrap) + record(data) + record(data));
  write(cert + "/subscriber_cert", id.subscriberCert);
  write(cert + "/publisher_cert", id.publisherCert);
  write(cert + "/revocation_list", e2e::issueRevocationList(id.authority, kFuzzNow, {7, 9, 1000})->encoded);
  std::remove(o.stateFile.c_str());
  return 0;
}
