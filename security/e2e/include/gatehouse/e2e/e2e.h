#pragma once
// gatehouse::e2e: end-to-end encryption between publishers and subscribers, protocol version 1
// (docs/e2e-protocol.md is the contract; section numbers below refer to it).
//
// Byte strings are std::string. Every failure is a kit::Error (BadRequest for bad input, NotAllowed
// for a certificate/authorisation refusal, Conflict for replay / budget, Internal for OpenSSL),
// never an exception except std::bad_alloc. Secrets are wiped (OPENSSL_cleanse) when dropped.
//
// Threads: the free functions are reentrant. Publisher and Subscriber are not thread safe: one
// thread at a time per object (wrap them in a mutex if needed).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "gatehouse/kit/result.h"

namespace gatehouse::e2e {

using kit::Result;

inline constexpr std::uint8_t kVersion = 1;
inline constexpr std::size_t kTagSize = 16;
inline constexpr std::size_t kMaxCertificateBytes = 8192;
inline constexpr std::size_t kMaxPlaintextBytes = 1024 * 1024;
inline constexpr std::size_t kReplayWindow = 1024;

enum class Role : std::uint8_t { Subscriber = 1, Publisher = 2 };
enum class MessageType : std::uint8_t { Data = 1, KeyRequest = 2, KeyWrap = 3 };

// --- small helpers -----------------------------------------------------------------------------
std::string sha256(std::string_view data);
std::string fingerprint(std::string_view publicKey);           // SHA256(key), 32 bytes
std::string authorityKeyId(std::string_view authorityPublicKey);   // first 8 bytes of SHA256
bool isValidId(std::string_view id) noexcept;                 // 1..64 of [A-Za-z0-9_.:-]
bool isValidTopic(std::string_view topic) noexcept;           // 1..1024 bytes, UTF-8, no NUL + #
bool isValidFilter(std::string_view filter) noexcept;         // MQTT topic filter, 1..1024 bytes
bool topicMatches(std::string_view filter, std::string_view topic) noexcept;   // MQTT rules
// The MQTT companion topics of section 8.
std::string requestTopic(std::string_view topic);              // <topic>/_e2e/req
std::string wrapTopic(std::string_view topic, std::string_view subscriberId);   // <topic>/_e2e/wrap/<id>

// Ed25519 and X25519 key pairs, raw 32-byte encodings. privateKey wiped on destruction.
struct KeyPair {
  std::string privateKey;
  std::string publicKey;
  KeyPair() = default;
  KeyPair(std::string sk, std::string pk);
  KeyPair(const KeyPair&) = default;
  KeyPair(KeyPair&&) noexcept = default;
  KeyPair& operator=(const KeyPair&) = default;
  KeyPair& operator=(KeyPair&&) noexcept = default;
  ~KeyPair();
};
Result<KeyPair> generateEd25519();
Result<KeyPair> generateX25519();
Result<KeyPair> ed25519FromPrivate(std::string_view privateKey);
Result<KeyPair> x25519FromPrivate(std::string_view privateKey);
Result<std::string> ed25519Sign(std::string_view privateKey, std::string_view message);   // 64 bytes
bool ed25519Verify(std::string_view publicKey, std::string_view message, std::string_view signature) noexcept;

// --- certificates (3.1) and revocation lists (3.2) ---------------------------------------------
struct Certificate {
  Role role = Role::Subscriber;
  std::uint64_t serial = 0;
  std::string id;
  std::string key;                        // 32 bytes
  std::int64_t notBefore = 0, notAfter = 0;   // Unix seconds
  std::vector<std::string> topics;        // filters
  std::string authorityKeyId;             // 8 bytes
  std::string signature;                  // 64 bytes
  std::string encoded;                    // the exact bytes (set by parse / issue)
  bool allows(std::string_view topic) const noexcept;
};
Result<Certificate> parseCertificate(std::string_view bytes);    // structure only, no signature check
// Signs a certificate with the authority's Ed25519 private key; fills authorityKeyId, signature, encoded.
Result<Certificate> issueCertificate(const KeyPair& authority, Certificate draft);

struct RevocationList {
  std::int64_t issuedAt = 0;
  std::set<std::uint64_t> serials;
  std::string authorityKeyId, signature, encoded;
};
Result<RevocationList> parseRevocationList(std::string_view bytes);   // structure only
Result<RevocationList> issueRevocationList(const KeyPair& authority, std::int64_t issuedAt,
                                           std::set<std::uint64_t> serials);

// What a publisher or subscriber trusts: the authority's public key and its current revocation list.
// The list is not persisted here: an application that restarts hands in an anchor whose list it kept
// (the publisher's state file holds no revocation list).
class TrustAnchor {
 public:
  explicit TrustAnchor(std::string authorityPublicKey);
  // Replaces the list when it verifies and is newer; else an error and the old list stays.
  Result<void> updateRevocationList(std::string_view encodedCrl);
  // Every check of 3.1 for `role` and `topic` at time `now` (Unix seconds). NotAllowed on a refusal.
  Result<Certificate> verify(std::string_view encodedCert, Role role, std::string_view topic, std::int64_t now) const;
  bool isRevoked(std::uint64_t serial) const noexcept;
  const std::string& authorityPublicKey() const noexcept { return authorityPublicKey_; }
 private:
  std::string authorityPublicKey_;
  RevocationList crl_;
};

// --- messages (4) -----------------------------------------------------------------------------
struct DataMessage {
  std::string publisherId;
  std::uint64_t epoch = 0, seq = 0;
  std::string ciphertext;   // includes the 16-byte tag
  std::string signature;
  std::string signedPart;   // every byte before the signature
};
struct KeyRequest {
  std::string topic;
  std::string certificate;  // encoded
  std::string subscriberId; // parsed from the certificate (no signature check)
};
struct KeyWrap {
  std::string topic;
  std::string publisherCertificate;
  std::string subscriberFingerprint;
  std::uint64_t epoch = 0;
  std::string enc, sealed, signature, signedPart;
};
Result<MessageType> peekType(std::string_view bytes);
Result<DataMessage> parseData(std::string_view bytes);
Result<KeyRequest> parseKeyRequest(std::string_view bytes);
Result<KeyWrap> parseKeyWrap(std::string_view bytes);
std::string encodeKeyRequest(std::string_view topic, std::string_view certificate);

// --- publisher --------------------------------------------------------------------------------
struct PublisherOptions {
  std::string stateFile;                   // section 6.3; required
  std::uint64_t seqReserve = 100000;   // one fsync per 100000 messages (docs/e2e-protocol.md 6.2)
  std::uint64_t maxMessagesPerEpoch = 0xffffffffULL;
  std::chrono::seconds rekeyInterval{86400};
  std::function<std::int64_t()> clock;     // Unix seconds; default: system clock
};

struct Outgoing {            // a message to publish
  std::string topic;         // transport topic
  std::string payload;
  bool retain = false;
};

class Publisher {
 public:
  // Loads (or creates) the state file, begins a new epoch for each known topic and returns the
  // wraps for the remembered subscribers through drainOutgoing().
  static Result<std::unique_ptr<Publisher>> open(KeyPair signingKey, std::string certificate,
                                                TrustAnchor anchor, PublisherOptions options);
  ~Publisher();

  const std::string& id() const noexcept;
  // Seals one data message on `topic` (4.1); may begin a new epoch first (budget, interval), whose
  // wraps then wait in drainOutgoing(). Conflict when seq is exhausted.
  Result<std::string> seal(std::string_view topic, std::string_view plaintext);
  // Handles a key request (5); on success the wrap waits in drainOutgoing(). NotAllowed / BadRequest
  // when refused.
  Result<void> handleKeyRequest(std::string_view requestBytes);
  // Operator removal (6.4): forgets the subscriber on every topic and begins new epochs.
  Result<void> removeSubscriber(std::string_view subscriberId);
  // Applies a revocation list (3.2): removes the revoked subscribers.
  Result<void> updateRevocationList(std::string_view encodedCrl);
  // Begins a new epoch on `topic` now (periodic rekey hook / tests).
  Result<void> rekey(std::string_view topic);
  // Messages to publish (wraps), oldest first; the queue is emptied.
  std::vector<Outgoing> drainOutgoing();

  std::uint64_t epoch(std::string_view topic) const;   // 0 = topic unknown
  std::uint64_t nextSeq() const noexcept;
  std::vector<std::string> subscribers(std::string_view topic) const;
  // Key requests refused so far (parse, certificate, removed, rate limit, failed wrap): 5 says
  // "drop the request and count it".
  std::uint64_t refusedKeyRequests() const noexcept;

  struct Impl;
 private:
  explicit Publisher(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// --- subscriber -------------------------------------------------------------------------------
enum class Drop { None, Parse, Certificate, Signature, Replay, TooOld, NoKey, Decrypt };
std::string_view toString(Drop reason) noexcept;

struct Opened {
  Drop dropped = Drop::None;    // None: plaintext is valid
  std::string plaintext;
  std::string publisherId;
  std::uint64_t epoch = 0, seq = 0;
  std::string detail;           // why, for a log line (never key material or plaintext)
};

class Subscriber {
 public:
  Subscriber(KeyPair x25519Key, std::string certificate, TrustAnchor anchor,
             std::function<std::int64_t()> clock = {});
  ~Subscriber();
  const std::string& id() const noexcept;
  // The key request for `topic` (4.2), to publish on requestTopic(topic).
  std::string keyRequest(std::string_view topic) const;
  // Handles a wrap (5); OK when a key was installed.
  Result<void> handleKeyWrap(std::string_view wrapBytes);
  // Opens a data message received for `topic` (7). NoKey means a key request should be sent.
  Opened open(std::string_view topic, std::string_view dataBytes);
  // Whether a key for (publisher, topic, epoch) is installed (tests).
  bool hasKey(std::string_view publisherId, std::string_view topic, std::uint64_t epoch) const;
  // Drops by reason (toString(Drop) names: parse, certificate, signature, replay, too_old, no_key,
  // decrypt), data messages and wraps together.
  std::map<std::string, std::uint64_t> dropCounts() const;
  // The replay windows (per publisher id) and the highest accepted epoch per (publisher, topic), as
  // text, for an application that saves them across restarts (sections 1 and 7). Holds no secret.
  std::string replayState() const;
  // Merges a saved replayState() (never moves a window or an epoch backwards). BadRequest if malformed.
  Result<void> restoreReplayState(std::string_view state);

  struct Impl;
 private:
  std::unique_ptr<Impl> impl_;
};

// --- raw operations (benchmarks compare seal/open against these) --------------------------------
Result<std::string> aes256GcmSeal(std::string_view key, std::string_view nonce, std::string_view aad,
                                  std::string_view plaintext);
Result<std::string> aes256GcmOpen(std::string_view key, std::string_view nonce, std::string_view aad,
                                  std::string_view ciphertextAndTag);   // tag pinned to 16 bytes

}  // namespace gatehouse::e2e
