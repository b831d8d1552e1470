// Certificates (3.1), revocation lists (3.2) and the TrustAnchor that verifies them.

#include <algorithm>

#include "gatehouse/kit/codec.h"
#include "internal.h"

namespace gatehouse::e2e {
namespace {

using detail::Reader;
using detail::Writer;

// Every byte of a certificate before authority_key_id (the draft must be valid: checked by the caller).
std::string certificateBody(const Certificate& c) {
  Writer w;
  w.bytes(detail::kCertMagic);
  w.u8(kVersion);
  w.u8(static_cast<std::uint8_t>(c.role));
  w.u64(c.serial);
  w.str8(c.id);
  w.bytes(c.key);
  w.i64(c.notBefore);
  w.i64(c.notAfter);
  w.u8(static_cast<std::uint8_t>(c.topics.size()));
  for (const auto& t : c.topics) w.str16(t);
  return std::move(w.out);
}

std::string crlBody(std::int64_t issuedAt, const std::set<std::uint64_t>& serials) {
  Writer w;
  w.out.reserve(16 + serials.size() * 8);
  w.bytes(detail::kCrlMagic);
  w.u8(kVersion);
  w.i64(issuedAt);
  w.u32(static_cast<std::uint32_t>(serials.size()));
  for (std::uint64_t s : serials) w.u64(s);
  return std::move(w.out);
}

std::string labeled(std::string_view label, std::string_view bytes) {
  std::string m;
  m.reserve(label.size() + bytes.size());
  m.append(label).append(bytes);
  return m;
}

}  // namespace

bool Certificate::allows(std::string_view topic) const noexcept {
  if (!isValidTopic(topic)) return false;
  return std::any_of(topics.begin(), topics.end(), [&](const std::string& f) { return topicMatches(f, topic); });
}

Result<Certificate> parseCertificate(std::string_view bytes) {
  if (bytes.size() > kMaxCertificateBytes) return kit::badRequest("e2e certificate: longer than 8192 bytes");
  Reader r(bytes);
  Certificate c;
  if (r.bytes(3) != detail::kCertMagic) return kit::badRequest("e2e certificate: bad magic");
  if (r.u8() != kVersion) return kit::badRequest("e2e certificate: unsupported version");
  const std::uint8_t role = r.u8();
  if (role != 1 && role != 2) return kit::badRequest("e2e certificate: unknown role");
  c.role = static_cast<Role>(role);
  c.serial = r.u64();
  c.id = std::string(r.str8());
  if (!r.ok || !isValidId(c.id)) return kit::badRequest("e2e certificate: invalid id");
  c.key = std::string(r.bytes(detail::kKeySize));
  c.notBefore = r.i64();
  c.notAfter = r.i64();
  if (!r.ok) return kit::badRequest("e2e certificate: truncated");
  if (c.notBefore >= c.notAfter) return kit::badRequest("e2e certificate: not_before is not before not_after");
  const std::uint8_t n = r.u8();
  if (!r.ok || n < 1 || n > detail::kMaxFilters) return kit::badRequest("e2e certificate: 1 to 32 topic filters");
  for (std::uint8_t i = 0; i < n; ++i) {
    std::string_view f = r.str16();
    if (!r.ok || !isValidFilter(f)) return kit::badRequest("e2e certificate: invalid topic filter");
    c.topics.emplace_back(f);
  }
  c.authorityKeyId = std::string(r.bytes(detail::kAuthorityKeyIdSize));
  c.signature = std::string(r.bytes(detail::kSignatureSize));
  if (!r.ok) return kit::badRequest("e2e certificate: truncated");
  if (!r.done()) return kit::badRequest("e2e certificate: trailing bytes");
  c.encoded = std::string(bytes);
  return c;
}

Result<Certificate> issueCertificate(const KeyPair& authority, Certificate draft) {
  if (draft.role != Role::Subscriber && draft.role != Role::Publisher) return kit::badRequest("e2e certificate: role");
  if (!isValidId(draft.id)) return kit::badRequest("e2e certificate: invalid id " + kit::quoteForMessage(draft.id));
  if (draft.key.size() != detail::kKeySize) return kit::badRequest("e2e certificate: key must be 32 bytes");
  if (draft.notBefore >= draft.notAfter) return kit::badRequest("e2e certificate: not_before must be before not_after");
  if (draft.topics.empty() || draft.topics.size() > detail::kMaxFilters) {
    return kit::badRequest("e2e certificate: 1 to 32 topic filters");
  }
  for (const auto& f : draft.topics) {
    if (!isValidFilter(f)) return kit::badRequest("e2e certificate: invalid topic filter " + kit::quoteForMessage(f));
  }
  if (draft.role == Role::Subscriber && detail::isLowOrderX25519(draft.key)) {
    return kit::badRequest("e2e certificate: X25519 key is a low-order point");
  }
  auto signer = detail::ed25519PrivateKey(authority.privateKey);
  if (!signer) return std::move(signer).error();
  std::string body = certificateBody(draft);
  body.append(authorityKeyId(authority.publicKey));
  auto sig = detail::ed25519SignWith(signer->get(), labeled(detail::kCertLabel, body));
  if (!sig) return std::move(sig).error();
  body.append(*sig);
  if (body.size() > kMaxCertificateBytes) return kit::makeError(kit::ErrorCode::TooLarge, "e2e certificate: over 8192 bytes");
  return parseCertificate(body);
}

Result<RevocationList> parseRevocationList(std::string_view bytes) {
  Reader r(bytes);
  RevocationList crl;
  if (r.bytes(3) != detail::kCrlMagic) return kit::badRequest("e2e revocation list: bad magic");
  if (r.u8() != kVersion) return kit::badRequest("e2e revocation list: unsupported version");
  crl.issuedAt = r.i64();
  const std::uint32_t n = r.u32();
  if (!r.ok) return kit::badRequest("e2e revocation list: truncated");
  if (n > detail::kMaxCrlSerials) return kit::badRequest("e2e revocation list: more than 100000 serials");
  if (bytes.size() - r.offset() < static_cast<std::size_t>(n) * 8) return kit::badRequest("e2e revocation list: truncated");
  std::uint64_t previous = 0;
  for (std::uint32_t i = 0; i < n; ++i) {
    const std::uint64_t s = r.u64();
    if (i > 0 && s <= previous) return kit::badRequest("e2e revocation list: serials not ascending and distinct");
    crl.serials.insert(crl.serials.end(), s);
    previous = s;
  }
  crl.authorityKeyId = std::string(r.bytes(detail::kAuthorityKeyIdSize));
  crl.signature = std::string(r.bytes(detail::kSignatureSize));
  if (!r.ok) return kit::badRequest("e2e revocation list: truncated");
  if (!r.done()) return kit::badRequest("e2e revocation list: trailing bytes");
  crl.encoded = std::string(bytes);
  return crl;
}

Result<RevocationList> issueRevocationList(const KeyPair& authority, std::int64_t issuedAt,
                                           std::set<std::uint64_t> serials) {
  if (serials.size() > detail::kMaxCrlSerials) return kit::makeError(kit::ErrorCode::TooLarge, "e2e revocation list: over 100000 serials");
  auto signer = detail::ed25519PrivateKey(authority.privateKey);
  if (!signer) return std::move(signer).error();
  std::string body = crlBody(issuedAt, serials);
  body.append(authorityKeyId(authority.publicKey));
  auto sig = detail::ed25519SignWith(signer->get(), labeled(detail::kCrlLabel, body));
  if (!sig) return std::move(sig).error();
  body.append(*sig);
  return parseRevocationList(body);
}

namespace detail {
Result<void> checkCertificateSignature(const Certificate& cert, std::string_view authorityPublicKey) {
  if (cert.authorityKeyId != authorityKeyId(authorityPublicKey)) {
    return kit::notAllowed("e2e certificate: issued by another authority");
  }
  const std::string_view signedPart = std::string_view(cert.encoded).substr(0, cert.encoded.size() - kSignatureSize);
  if (!ed25519Verify(authorityPublicKey, labeled(kCertLabel, signedPart), cert.signature)) {
    return kit::notAllowed("e2e certificate: bad signature");
  }
  return {};
}
}  // namespace detail

TrustAnchor::TrustAnchor(std::string authorityPublicKey) : authorityPublicKey_(std::move(authorityPublicKey)) {}

Result<void> TrustAnchor::updateRevocationList(std::string_view encodedCrl) {
  auto crl = parseRevocationList(encodedCrl);
  if (!crl) return std::move(crl).error();
  if (crl->authorityKeyId != authorityKeyId(authorityPublicKey_)) {
    return kit::notAllowed("e2e revocation list: issued by another authority");
  }
  const std::string_view signedPart = encodedCrl.substr(0, encodedCrl.size() - detail::kSignatureSize);
  if (!ed25519Verify(authorityPublicKey_, labeled(detail::kCrlLabel, signedPart), crl->signature)) {
    return kit::notAllowed("e2e revocation list: bad signature");
  }
  if (!crl_.encoded.empty() && crl->issuedAt <= crl_.issuedAt) {
    return kit::makeError(kit::ErrorCode::Conflict, "e2e revocation list: not newer than the current one");
  }
  crl_ = std::move(*crl);
  return {};
}

bool TrustAnchor::isRevoked(std::uint64_t serial) const noexcept { return crl_.serials.count(serial) != 0; }

Result<Certificate> TrustAnchor::verify(std::string_view encodedCert, Role role, std::string_view topic,
                                        std::int64_t now) const {
  auto cert = parseCertificate(encodedCert);
  if (!cert) return std::move(cert).error();
  if (auto s = detail::checkCertificateSignature(*cert, authorityPublicKey_); !s) return std::move(s).error();
  if (now < cert->notBefore) return kit::notAllowed("e2e certificate: not yet valid");
  if (now >= cert->notAfter) return kit::notAllowed("e2e certificate: expired");
  if (isRevoked(cert->serial)) return kit::notAllowed("e2e certificate: revoked");
  if (cert->role != role) return kit::notAllowed("e2e certificate: wrong role");
  if (!cert->allows(topic)) return kit::notAllowed("e2e certificate: topic not allowed");
  if (role == Role::Subscriber && detail::isLowOrderX25519(cert->key)) {
    return kit::notAllowed("e2e certificate: X25519 key is a low-order point");
  }
  return cert;
}

}  // namespace gatehouse::e2e
