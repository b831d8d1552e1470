// The messages of section 4: data (4.1), key request (4.2) and key wrap (4.3).

#include "internal.h"

namespace gatehouse::e2e {
namespace {

using detail::Reader;
using detail::Writer;

// "GHE" || u8(1) || u8(type): the type, or an error.
Result<MessageType> readHeader(Reader& r) {
  if (r.bytes(3) != detail::kMessageMagic) return kit::badRequest("e2e message: bad magic");
  const std::uint8_t version = r.u8();
  const std::uint8_t type = r.u8();
  if (!r.ok) return kit::badRequest("e2e message: truncated header");
  if (version != kVersion) return kit::badRequest("e2e message: unsupported version");
  if (type < 1 || type > 3) return kit::badRequest("e2e message: unknown type");
  return static_cast<MessageType>(type);
}

Result<void> expectHeader(Reader& r, MessageType want) {
  auto t = readHeader(r);
  if (!t) return std::move(t).error();
  if (*t != want) return kit::badRequest("e2e message: unexpected type");
  return {};
}

}  // namespace

Result<MessageType> peekType(std::string_view bytes) {
  Reader r(bytes);
  return readHeader(r);
}

Result<DataMessage> parseData(std::string_view bytes) {
  Reader r(bytes);
  if (auto h = expectHeader(r, MessageType::Data); !h) return std::move(h).error();
  DataMessage m;
  m.publisherId = std::string(r.str8());
  if (!r.ok || !isValidId(m.publisherId)) return kit::badRequest("e2e data: invalid publisher id");
  m.epoch = r.u64();
  m.seq = r.u64();
  const std::uint32_t len = r.u32();
  if (!r.ok) return kit::badRequest("e2e data: truncated");
  if (m.epoch == 0 || m.seq == 0) return kit::badRequest("e2e data: epoch and seq start at 1");
  if (len < kTagSize || len > kMaxPlaintextBytes + kTagSize) return kit::badRequest("e2e data: ciphertext length out of range");
  m.ciphertext = std::string(r.bytes(len));
  const std::size_t signedEnd = r.offset();
  m.signature = std::string(r.bytes(detail::kSignatureSize));
  if (!r.ok) return kit::badRequest("e2e data: truncated");
  if (!r.done()) return kit::badRequest("e2e data: trailing bytes");
  m.signedPart = std::string(bytes.substr(0, signedEnd));
  return m;
}

Result<KeyRequest> parseKeyRequest(std::string_view bytes) {
  Reader r(bytes);
  if (auto h = expectHeader(r, MessageType::KeyRequest); !h) return std::move(h).error();
  KeyRequest m;
  m.topic = std::string(r.str16());
  if (!r.ok || !isValidTopic(m.topic)) return kit::badRequest("e2e key request: invalid topic");
  m.certificate = std::string(r.str16());
  if (!r.ok) return kit::badRequest("e2e key request: truncated");
  if (!r.done()) return kit::badRequest("e2e key request: trailing bytes");
  auto cert = parseCertificate(m.certificate);
  if (!cert) return kit::prefixed("e2e key request: ", cert.error());
  m.subscriberId = cert->id;
  return m;
}

Result<KeyWrap> parseKeyWrap(std::string_view bytes) {
  Reader r(bytes);
  if (auto h = expectHeader(r, MessageType::KeyWrap); !h) return std::move(h).error();
  KeyWrap m;
  m.topic = std::string(r.str16());
  if (!r.ok || !isValidTopic(m.topic)) return kit::badRequest("e2e key wrap: invalid topic");
  m.publisherCertificate = std::string(r.str16());
  if (!r.ok) return kit::badRequest("e2e key wrap: truncated");
  if (auto cert = parseCertificate(m.publisherCertificate); !cert) return kit::prefixed("e2e key wrap: ", cert.error());
  m.subscriberFingerprint = std::string(r.bytes(32));
  m.epoch = r.u64();
  m.enc = std::string(r.bytes(hpke::kX25519KeySize));
  const std::uint16_t len = r.u16();
  if (!r.ok) return kit::badRequest("e2e key wrap: truncated");
  if (m.epoch == 0) return kit::badRequest("e2e key wrap: epoch starts at 1");
  if (len != detail::kSealedSize) return kit::badRequest("e2e key wrap: sealed key must be 60 bytes");
  m.sealed = std::string(r.bytes(len));
  const std::size_t signedEnd = r.offset();
  m.signature = std::string(r.bytes(detail::kSignatureSize));
  if (!r.ok) return kit::badRequest("e2e key wrap: truncated");
  if (!r.done()) return kit::badRequest("e2e key wrap: trailing bytes");
  m.signedPart = std::string(bytes.substr(0, signedEnd));
  return m;
}

std::string encodeKeyRequest(std::string_view topic, std::string_view certificate) {
  Writer w;
  w.bytes(detail::kMessageMagic);
  w.u8(kVersion);
  w.u8(static_cast<std::uint8_t>(MessageType::KeyRequest));
  w.str16(topic.substr(0, 0xffff));
  w.str16(certificate.substr(0, 0xffff));
  return std::move(w.out);
}

namespace detail {

std::string encodeDataBody(std::string_view publisherId, std::uint64_t epoch, std::uint64_t seq, std::string_view ct) {
  Writer w;
  w.out.reserve(5 + 1 + publisherId.size() + 20 + ct.size() + kSignatureSize);
  w.bytes(kMessageMagic);
  w.u8(kVersion);
  w.u8(static_cast<std::uint8_t>(MessageType::Data));
  w.str8(publisherId);
  w.u64(epoch);
  w.u64(seq);
  w.u32(static_cast<std::uint32_t>(ct.size()));
  w.bytes(ct);
  return std::move(w.out);
}

std::string encodeWrapBody(std::string_view topic, std::string_view publisherCert, std::string_view fingerprint,
                           std::uint64_t epoch, std::string_view enc, std::string_view sealed) {
  Writer w;
  w.bytes(kMessageMagic);
  w.u8(kVersion);
  w.u8(static_cast<std::uint8_t>(MessageType::KeyWrap));
  w.str16(topic);
  w.str16(publisherCert);
  w.bytes(fingerprint);
  w.u64(epoch);
  w.bytes(enc);
  w.u16(static_cast<std::uint16_t>(sealed.size()));
  w.bytes(sealed);
  return std::move(w.out);
}

std::string wrapSigningInput(std::string_view signedPart) {
  std::string m;
  m.reserve(kWrapLabel.size() + signedPart.size());
  m.append(kWrapLabel).append(signedPart);
  return m;
}

}  // namespace detail
}  // namespace gatehouse::e2e
