// The end-to-end encryption cases of the security checklist (C2-C12; C13 is in wire_test.cpp), one
// test per case, named after it. Each builds a real publisher and real subscribers on a fake clock.

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "e2e_support.h"

using namespace e2etest;
using gatehouse::kit::ErrorCode;
namespace hpke = gatehouse::e2e::hpke;

namespace {

std::string str16(std::string_view s) {
  std::string out;
  out.push_back(static_cast<char>(s.size() >> 8));
  out.push_back(static_cast<char>(s.size() & 0xff));
  out.append(s);
  return out;
}
std::string u64be(std::uint64_t v) {
  std::string out;
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  return out;
}

// A data message with the given fields, signed with `signingKey` over "gh-e2e-data-v1" || str16(topic) || body.
std::string makeData(const std::string& topic, const std::string& publisherId, std::uint64_t epoch, std::uint64_t seq,
                     const std::string& ct, const std::string& signingKey) {
  std::string body = "GHE" + std::string("\x01\x01", 2);
  body.push_back(static_cast<char>(publisherId.size()));
  body += publisherId + u64be(epoch) + u64be(seq);
  const std::uint32_t n = static_cast<std::uint32_t>(ct.size());
  body += std::string{static_cast<char>(n >> 24), static_cast<char>(n >> 16), static_cast<char>(n >> 8), static_cast<char>(n)};
  body += ct;
  auto sig = e2e::ed25519Sign(signingKey, "gh-e2e-data-v1" + str16(topic) + body);
  EXPECT_TRUE(sig.ok());
  return body + *sig;
}

struct EpochKeys {
  std::string ck, iv;
};
// What a subscriber learns from a wrap: CK and IV (HPKE open with its own key).
EpochKeys openWrap(const std::string& wrapBytes, const e2e::KeyPair& key, const std::string& publisherId) {
  auto w = e2e::parseKeyWrap(wrapBytes);
  EXPECT_TRUE(w.ok()) << w.message();
  if (!w.ok()) return {};
  auto info = hpke::wrapInfo(w->topic, w->epoch, e2e::fingerprint(key.publicKey));
  std::string aad(1, static_cast<char>(publisherId.size()));
  aad += publisherId;
  auto pt = hpke::open(hpke::Aead::Aes256Gcm, w->enc, key.privateKey, *info, aad, w->sealed);
  EXPECT_TRUE(pt.ok()) << pt.message();
  if (!pt.ok()) return {};
  return {pt->substr(0, 32), pt->substr(32)};
}

std::string nonceOf(const EpochKeys& k, const std::string& publisherId, std::uint64_t seq) {
  std::string nonce = k.iv;
  const std::string mix = e2e::sha256(publisherId).substr(0, 4) + u64be(seq);
  for (int i = 0; i < 12; ++i) nonce[i] = static_cast<char>(nonce[i] ^ mix[i]);
  return nonce;
}

std::string readFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST(E2eChecklist, C2_AnyFlippedByteOfADataMessageIsDropped) {
  World w;
  auto p = w.publisher();
  Sub a = w.subscriber("sub-a");
  w.enrol(*p, a);
  auto data = p->seal(w.topic, "{\"value\":21.5}");
  ASSERT_TRUE(data.ok());
  std::size_t flips = 0;
  for (unsigned char mask : {0x01, 0x80}) {
    for (std::size_t i = 0; i < data->size(); ++i) {
      std::string bad = *data;
      bad[i] = static_cast<char>(bad[i] ^ mask);
      const e2e::Opened o = a.s->open(w.topic, bad);
      EXPECT_NE(o.dropped, e2e::Drop::None) << "byte " << i << " mask " << int(mask);
      EXPECT_TRUE(o.plaintext.empty());
      ++flips;
    }
  }
  EXPECT_EQ(flips, 2 * data->size());
  // None of them was a replay: the untouched message still opens (so the drops above were not
  // caused by the replay window).
  const e2e::Opened ok = a.s->open(w.topic, *data);
  EXPECT_EQ(ok.dropped, e2e::Drop::None) << ok.detail;
  EXPECT_EQ(ok.plaintext, "{\"value\":21.5}");
  EXPECT_EQ(a.s->dropCounts().count("replay"), 0u);
}

TEST(E2eChecklist, C3_TruncatedTagIsDropped) {
  World w;
  auto p = w.publisher();
  Sub a = w.subscriber("sub-a");
  w.enrol(*p, a);
  // Non-empty plaintext: the ct field shortened by 1..15 bytes (a 15..1-byte tag), re-encoded and
  // even re-signed with the publisher's own key so that only the AEAD stands in the way.
  auto data = p->seal(w.topic, "payload-0123456789");
  auto m = e2e::parseData(*data);
  ASSERT_TRUE(m.ok());
  for (std::size_t cut = 1; cut <= 15; ++cut) {
    const std::string ct = m->ciphertext.substr(0, m->ciphertext.size() - cut);
    const std::string resigned = makeData(w.topic, m->publisherId, m->epoch, m->seq, ct, w.publisherKey.privateKey);
    EXPECT_EQ(a.s->open(w.topic, resigned).dropped, e2e::Drop::Decrypt) << cut;
    const std::string unsigned_ = resigned.substr(0, resigned.size() - 64) + m->signature;
    EXPECT_EQ(a.s->open(w.topic, unsigned_).dropped, e2e::Drop::Signature) << cut;
  }
  // Empty plaintext: ct is the tag alone; 1..15 bytes is refused by the parser.
  auto empty = p->seal(w.topic, "");
  auto e = e2e::parseData(*empty);
  ASSERT_TRUE(e.ok());
  ASSERT_EQ(e->ciphertext.size(), 16u);
  for (std::size_t len = 1; len <= 15; ++len) {
    const std::string resigned = makeData(w.topic, e->publisherId, e->epoch, e->seq, e->ciphertext.substr(0, len),
                                          w.publisherKey.privateKey);
    EXPECT_EQ(a.s->open(w.topic, resigned).dropped, e2e::Drop::Parse) << len;
  }
  EXPECT_EQ(a.s->open(w.topic, *data).dropped, e2e::Drop::None);
  EXPECT_EQ(a.s->open(w.topic, *empty).dropped, e2e::Drop::None);
  // The raw operation: a tag of 1..15 bytes never opens (OpenSSL alone would accept short tags).
  const std::string key(32, 'k'), nonce(12, 'n');
  auto sealed = e2e::aes256GcmSeal(key, nonce, "aad", "plaintext");
  ASSERT_TRUE(sealed.ok());
  ASSERT_TRUE(e2e::aes256GcmOpen(key, nonce, "aad", *sealed).ok());
  for (std::size_t cut = 1; cut <= 15; ++cut) {
    EXPECT_FALSE(e2e::aes256GcmOpen(key, nonce, "aad", sealed->substr(0, sealed->size() - cut)).ok()) << cut;
  }
  const std::string tagOnly = sealed->substr(9);
  for (std::size_t len = 0; len < 16; ++len) EXPECT_FALSE(e2e::aes256GcmOpen(key, nonce, "aad", tagOnly.substr(0, len)).ok());
}

TEST(E2eChecklist, C4_ExactReplayIsDroppedAsDuplicate) {
  World w;
  auto p = w.publisher();
  Sub a = w.subscriber("sub-a");
  w.enrol(*p, a);
  auto data = p->seal(w.topic, "once");
  int delivered = 0;
  for (int i = 0; i < 3; ++i) {
    const e2e::Opened o = a.s->open(w.topic, *data);
    if (o.dropped == e2e::Drop::None) {
      ++delivered;
      EXPECT_EQ(o.plaintext, "once");
    } else {
      EXPECT_EQ(o.dropped, e2e::Drop::Replay);
      EXPECT_EQ(o.detail, "duplicate");
      EXPECT_TRUE(o.plaintext.empty());
    }
  }
  EXPECT_EQ(delivered, 1);
  EXPECT_EQ(a.s->dropCounts()["replay"], 2u);
  // The replay window survives a subscriber restart through replayState().
  const std::string state = a.s->replayState();
  e2e::Subscriber again(a.key, a.cert, w.anchor(), w.clock());
  ASSERT_TRUE(again.restoreReplayState(state).ok());
  w.now += 1;   // key requests are rate limited to one per second per subscriber
  ASSERT_TRUE(p->handleKeyRequest(again.keyRequest(w.topic)).ok());
  for (const auto& out : p->drainOutgoing()) ASSERT_TRUE(again.handleKeyWrap(out.payload).ok());
  EXPECT_EQ(again.open(w.topic, *data).dropped, e2e::Drop::Replay);
  EXPECT_FALSE(again.restoreReplayState("w x 1 00\n").ok());
}

TEST(E2eChecklist, C5_ReorderedWithinTheWindowAcceptedOnceOlderDropped) {
  World w;
  auto p = w.publisher();
  Sub a = w.subscriber("sub-a");
  w.enrol(*p, a);
  std::vector<std::string> msgs(1);   // msgs[seq]
  for (int i = 1; i <= 1100; ++i) {
    auto d = p->seal(w.topic, "m" + std::to_string(i));
    ASSERT_TRUE(d.ok());
    msgs.push_back(*d);
  }
  ASSERT_EQ(e2e::parseData(msgs[10])->seq, 10u);
  for (int seq : {10, 8, 9}) {
    const e2e::Opened o = a.s->open(w.topic, msgs[seq]);
    EXPECT_EQ(o.dropped, e2e::Drop::None) << seq;
    EXPECT_EQ(o.plaintext, "m" + std::to_string(seq));
  }
  for (int seq : {10, 8, 9}) EXPECT_EQ(a.s->open(w.topic, msgs[seq]).dropped, e2e::Drop::Replay) << seq;
  // H = 1100: the window is [77, 1100]; 76 = H - 1024 and below are too old.
  ASSERT_EQ(a.s->open(w.topic, msgs[1100]).dropped, e2e::Drop::None);
  EXPECT_EQ(a.s->open(w.topic, msgs[76]).dropped, e2e::Drop::TooOld);
  EXPECT_EQ(a.s->open(w.topic, msgs[75]).dropped, e2e::Drop::TooOld);
  EXPECT_EQ(a.s->open(w.topic, msgs[11]).dropped, e2e::Drop::TooOld);
  EXPECT_EQ(a.s->open(w.topic, msgs[77]).dropped, e2e::Drop::None);
  EXPECT_EQ(a.s->open(w.topic, msgs[77]).dropped, e2e::Drop::Replay);
  EXPECT_EQ(a.s->open(w.topic, msgs[1099]).dropped, e2e::Drop::None);
  EXPECT_EQ(a.s->dropCounts()["too_old"], 3u);
}

TEST(E2eChecklist, C6_DataOfTopicAOpenedAsTopicBIsDropped) {
  World w;
  auto p = w.publisher();
  Sub a = w.subscriber("sub-a");
  w.enrol(*p, a);
  const std::string topicA = w.topic;
  w.topic = "site/b/temp";
  w.enrol(*p, a);   // a holds keys for both topics
  auto onA = p->seal(topicA, "for A");
  ASSERT_TRUE(onA.ok());
  ASSERT_TRUE(a.s->hasKey("pub-1", "site/b/temp", 1));
  const e2e::Opened o = a.s->open("site/b/temp", *onA);
  EXPECT_NE(o.dropped, e2e::Drop::None);
  EXPECT_EQ(o.dropped, e2e::Drop::Signature);   // the topic is signed (and in the AAD)
  EXPECT_TRUE(o.plaintext.empty());
  EXPECT_EQ(a.s->open("site/c/temp", *onA).dropped, e2e::Drop::NoKey);
  EXPECT_EQ(a.s->open(topicA, *onA).plaintext, "for A");
}

TEST(E2eChecklist, C7_PublisherRefusesUncertifiedSubscriberKeys) {
  World w;
  auto p = w.publisher();
  const e2e::KeyPair k = *e2e::generateX25519();
  auto refused = [&](const std::string& cert, const char* why, std::string topic = "") {
    const std::uint64_t before = p->refusedKeyRequests();
    auto r = p->handleKeyRequest(e2e::encodeKeyRequest(topic.empty() ? w.topic : topic, cert));
    EXPECT_FALSE(r.ok()) << why;
    EXPECT_EQ(p->refusedKeyRequests(), before + 1) << why;
    EXPECT_TRUE(p->drainOutgoing().empty()) << why;
  };
  // Signed by another authority (its own key id, or ours forged on it).
  e2e::KeyPair rogue = *e2e::generateEd25519();
  const std::string foreign = w.cert(e2e::Role::Subscriber, "sub-x", k.publicKey, {"site/#"}, 0, 0, &rogue);
  refused(foreign, "another authority");
  std::string forgedKid = foreign;
  const std::string kid = e2e::authorityKeyId(w.authority.publicKey);
  std::copy(kid.begin(), kid.end(), forgedKid.end() - 72);
  refused(forgedKid, "another authority with our key id");
  // Expired, and not yet valid.
  refused(w.cert(e2e::Role::Subscriber, "sub-x", k.publicKey, {"site/#"}, w.now - 7200, w.now), "expired");
  refused(w.cert(e2e::Role::Subscriber, "sub-x", k.publicKey, {"site/#"}, w.now + 1, w.now + 7200), "not yet valid");
  // Wrong role, topic not allowed, a topic that is not the publisher's.
  refused(w.cert(e2e::Role::Publisher, "sub-x", k.publicKey, {"site/#"}), "wrong role");
  refused(w.cert(e2e::Role::Subscriber, "sub-x", k.publicKey, {"plant/#"}), "topic not allowed");
  refused(w.cert(e2e::Role::Subscriber, "sub-x", k.publicKey, {"#"}), "not the publisher's topic", "plant/x");
  // Tampered: every single byte of a good certificate flipped (a substituted key among them).
  const std::string good = w.cert(e2e::Role::Subscriber, "sub-x", k.publicKey, {"site/#"});
  for (std::size_t i = 0; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ 0x04);
    refused(bad, "tampered");
  }
  // Revoked.
  std::uint64_t serial = 0;
  const std::string revoked = w.cert(e2e::Role::Subscriber, "sub-r", k.publicKey, {"site/#"}, 0, 0, nullptr, &serial);
  ASSERT_TRUE(p->updateRevocationList(e2e::issueRevocationList(w.authority, w.now, {serial})->encoded).ok());
  refused(revoked, "revoked");
  // And the good certificate is accepted: the refusals above were not for some other reason.
  EXPECT_TRUE(p->handleKeyRequest(e2e::encodeKeyRequest(w.topic, good)).ok());
  EXPECT_EQ(p->drainOutgoing().size(), 1u);
  EXPECT_EQ(p->subscribers(w.topic), std::vector<std::string>{"sub-x"});
}

TEST(E2eChecklist, C8_WrapForAGivenToBFailsOldEpochWrapFails) {
  World w;
  auto p = w.publisher();
  Sub a = w.subscriber("sub-a");
  Sub b = w.subscriber("sub-b");
  ASSERT_TRUE(p->handleKeyRequest(a.s->keyRequest(w.topic)).ok());
  const std::string wrapA = p->drainOutgoing().at(0).payload;
  EXPECT_FALSE(b.s->handleKeyWrap(wrapA).ok());
  EXPECT_FALSE(b.s->hasKey("pub-1", w.topic, 1));
  // Even with B's fingerprint put in and the wrap re-signed by the real publisher, HPKE does not
  // open for B (the wrap is sealed to A's key and bound to A's fingerprint).
  auto parsed = e2e::parseKeyWrap(wrapA);
  std::string body = parsed->signedPart;
  const std::size_t fpAt = 5 + 2 + w.topic.size() + 2 + w.publisherCert.size();
  const std::string fpB = e2e::fingerprint(b.key.publicKey);
  std::copy(fpB.begin(), fpB.end(), body.begin() + static_cast<std::ptrdiff_t>(fpAt));
  const std::string forged = body + *e2e::ed25519Sign(w.publisherKey.privateKey, "gh-e2e-wrap-v1" + body);
  auto r = b.s->handleKeyWrap(forged);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(b.s->dropCounts()["decrypt"], 1u);
  EXPECT_FALSE(b.s->hasKey("pub-1", w.topic, 1));
  // A accepts its own; then an old-epoch wrap replayed after newer ones fails.
  ASSERT_TRUE(a.s->handleKeyWrap(wrapA).ok());
  ASSERT_TRUE(p->rekey(w.topic).ok());
  ASSERT_EQ(w.deliver(*p, {&a}), 1);
  ASSERT_TRUE(p->rekey(w.topic).ok());
  ASSERT_EQ(w.deliver(*p, {&a}), 1);
  EXPECT_TRUE(a.s->hasKey("pub-1", w.topic, 3));
  EXPECT_TRUE(a.s->hasKey("pub-1", w.topic, 2));
  EXPECT_FALSE(a.s->hasKey("pub-1", w.topic, 1));
  auto old = a.s->handleKeyWrap(wrapA);
  EXPECT_FALSE(old.ok());
  EXPECT_EQ(old.error().code, ErrorCode::Conflict);
  EXPECT_FALSE(a.s->hasKey("pub-1", w.topic, 1));
}

TEST(E2eChecklist, C9_RemovedSubscriberCannotReadLaterMessages) {
  World w;
  auto p = w.publisher();
  Sub a = w.subscriber("sub-a");
  Sub b = w.subscriber("sub-b");
  w.enrol(*p, a);
  w.enrol(*p, b);
  auto before = p->seal(w.topic, "before");
  EXPECT_EQ(b.s->open(w.topic, *before).plaintext, "before");
  ASSERT_EQ(p->epoch(w.topic), 1u);
  ASSERT_TRUE(p->removeSubscriber("sub-b").ok());
  EXPECT_EQ(p->epoch(w.topic), 2u);
  EXPECT_EQ(p->subscribers(w.topic), std::vector<std::string>{"sub-a"});
  auto out = p->drainOutgoing();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].topic, e2e::wrapTopic(w.topic, "sub-a"));
  EXPECT_FALSE(b.s->handleKeyWrap(out[0].payload).ok());
  ASSERT_TRUE(a.s->handleKeyWrap(out[0].payload).ok());
  auto after = p->seal(w.topic, "after");
  EXPECT_EQ(e2e::parseData(*after)->epoch, 2u);
  EXPECT_EQ(a.s->open(w.topic, *after).plaintext, "after");
  const e2e::Opened ob = b.s->open(w.topic, *after);
  EXPECT_EQ(ob.dropped, e2e::Drop::NoKey);
  EXPECT_TRUE(ob.plaintext.empty());
  // B asks again: refused (operator removal), and after a publisher restart too.
  w.now += 5;
  auto again = p->handleKeyRequest(b.s->keyRequest(w.topic));
  EXPECT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::NotAllowed);
  EXPECT_TRUE(p->drainOutgoing().empty());
  p.reset();
  p = w.publisher();
  EXPECT_EQ(p->epoch(w.topic), 3u);
  EXPECT_EQ(p->subscribers(w.topic), std::vector<std::string>{"sub-a"});
  EXPECT_FALSE(p->handleKeyRequest(b.s->keyRequest(w.topic)).ok());
  ASSERT_EQ(w.deliver(*p, {&a}), 1);

  // Revocation list: C is revoked -> new epoch, C gets nothing, its requests fail.
  Sub c;
  c.key = *e2e::generateX25519();
  std::uint64_t serialC = 0;
  c.cert = w.cert(e2e::Role::Subscriber, "sub-c", c.key.publicKey, {"site/#"}, 0, 0, nullptr, &serialC);
  c.s = std::make_unique<e2e::Subscriber>(c.key, c.cert, w.anchor(), w.clock());
  w.enrol(*p, c);
  ASSERT_EQ(p->epoch(w.topic), 3u);
  ASSERT_TRUE(p->updateRevocationList(e2e::issueRevocationList(w.authority, w.now, {serialC})->encoded).ok());
  EXPECT_EQ(p->epoch(w.topic), 4u);
  EXPECT_EQ(p->subscribers(w.topic), std::vector<std::string>{"sub-a"});
  EXPECT_EQ(w.deliver(*p, {&a}), 1);
  w.now += 5;
  EXPECT_FALSE(p->handleKeyRequest(c.s->keyRequest(w.topic)).ok());
  auto revokedEra = p->seal(w.topic, "after revocation");
  EXPECT_EQ(c.s->open(w.topic, *revokedEra).dropped, e2e::Drop::NoKey);
  EXPECT_EQ(a.s->open(w.topic, *revokedEra).plaintext, "after revocation");

  // Expiry: D's certificate runs out -> the next seal begins a new epoch without D.
  Sub d;
  d.key = *e2e::generateX25519();
  d.cert = w.cert(e2e::Role::Subscriber, "sub-d", d.key.publicKey, {"site/#"}, w.now - 10, w.now + 100);
  d.s = std::make_unique<e2e::Subscriber>(d.key, d.cert, w.anchor(), w.clock());
  w.enrol(*p, d);
  w.now += 100;
  auto expiredEra = p->seal(w.topic, "after expiry");
  EXPECT_EQ(p->epoch(w.topic), 5u);
  EXPECT_EQ(p->subscribers(w.topic), std::vector<std::string>{"sub-a"});
  EXPECT_EQ(d.s->open(w.topic, *expiredEra).dropped, e2e::Drop::NoKey);
  EXPECT_EQ(w.deliver(*p, {&a}), 1);
  EXPECT_EQ(a.s->open(w.topic, *expiredEra).plaintext, "after expiry");
}

TEST(E2eChecklist, C10_SubscriberCannotForgeAPublication) {
  World w;
  auto p = w.publisher();
  Sub a = w.subscriber("sub-a");
  Sub b = w.subscriber("sub-b");
  ASSERT_TRUE(p->handleKeyRequest(a.s->keyRequest(w.topic)).ok());
  const std::string wrapA = p->drainOutgoing().at(0).payload;
  w.enrol(*p, b);
  const EpochKeys k = openWrap(wrapA, a.key, "pub-1");   // A now knows CK and IV
  ASSERT_EQ(k.ck.size(), 32u);
  auto real = p->seal(w.topic, "real");
  auto m = e2e::parseData(*real);
  // A's forgery: a valid AEAD ciphertext under the group key, for a fresh seq.
  const std::uint64_t seq = 50;
  std::string aad = "gh-e2e-aad-v1" + str16(w.topic) + u64be(1) + u64be(seq) + std::string("\x05pub-1", 6);
  auto ct = e2e::aes256GcmSeal(k.ck, nonceOf(k, "pub-1", seq), aad, "forged");
  ASSERT_TRUE(ct.ok());
  // (the AEAD alone would accept it:)
  ASSERT_TRUE(e2e::aes256GcmOpen(k.ck, nonceOf(k, "pub-1", seq), aad, *ct).ok());
  // Signed with A's own Ed25519 key:
  const e2e::KeyPair aSigning = *e2e::generateEd25519();
  const std::string signedByA = makeData(w.topic, "pub-1", 1, seq, *ct, aSigning.privateKey);
  EXPECT_EQ(b.s->open(w.topic, signedByA).dropped, e2e::Drop::Signature);
  // With the signature of a real message re-used:
  const std::string reused = signedByA.substr(0, signedByA.size() - 64) + m->signature;
  EXPECT_EQ(b.s->open(w.topic, reused).dropped, e2e::Drop::Signature);
  EXPECT_EQ(b.s->dropCounts()["signature"], 2u);
  // The real one still opens (the forgeries did not consume anything).
  EXPECT_EQ(b.s->open(w.topic, *real).plaintext, "real");
}

TEST(E2eChecklist, C11_NoNonceReuseAcrossRestartAndRekeys) {
  World w;
  auto opts = w.options();
  opts.maxMessagesPerEpoch = 1000;
  opts.seqReserve = 100;
  auto p = w.publisher(opts);
  Sub a = w.subscriber("sub-a");
  ASSERT_TRUE(p->handleKeyRequest(a.s->keyRequest(w.topic)).ok());
  std::map<std::uint64_t, EpochKeys> keys;
  auto collectWraps = [&](e2e::Publisher& pub) {
    for (const auto& out : pub.drainOutgoing()) {
      auto wr = e2e::parseKeyWrap(out.payload);
      ASSERT_TRUE(wr.ok());
      keys[wr->epoch] = openWrap(out.payload, a.key, "pub-1");
    }
  };
  collectWraps(*p);
  std::set<std::string> keyNonce;
  std::uint64_t lastSeq = 0, lastEpoch = 0;
  std::size_t sealed = 0;
  auto sealSome = [&](e2e::Publisher& pub, int n) {
    for (int i = 0; i < n; ++i) {
      auto d = pub.seal(w.topic, "x");
      ASSERT_TRUE(d.ok()) << d.message();
      collectWraps(pub);
      auto m = e2e::parseData(*d);
      ASSERT_GT(m->seq, lastSeq);
      ASSERT_GE(m->epoch, lastEpoch);
      lastSeq = m->seq;
      lastEpoch = m->epoch;
      ASSERT_EQ(keys.count(m->epoch), 1u) << "a wrap for every epoch";
      const EpochKeys& k = keys[m->epoch];
      ASSERT_TRUE(keyNonce.insert(k.ck + nonceOf(k, "pub-1", m->seq)).second);
      ++sealed;
    }
  };
  sealSome(*p, 2500);
  EXPECT_EQ(lastEpoch, 3u);   // 1000 per epoch: rekeyed twice, wraps emitted each time
  // The state file always holds a reserve above the last seq used.
  const std::string state = readFile(w.dir / "publisher.state");
  const auto at = state.find("reserved=");
  ASSERT_NE(at, std::string::npos);
  const std::uint64_t reserved = std::stoull(state.substr(at + 9));
  EXPECT_GT(reserved, lastSeq);
  EXPECT_LE(reserved, lastSeq + 100);
  EXPECT_NE(state.find("epoch.site/a/temp=3\n"), std::string::npos) << state;
  p.reset();
  p = w.publisher(opts);   // restart
  EXPECT_EQ(p->epoch(w.topic), 4u);
  EXPECT_EQ(p->nextSeq(), reserved);
  collectWraps(*p);
  sealSome(*p, 1500);
  EXPECT_EQ(lastEpoch, 5u);
  EXPECT_EQ(sealed, 4000u);
  EXPECT_EQ(keyNonce.size(), 4000u);
  std::set<std::string> cks;
  for (const auto& [e, k] : keys) cks.insert(k.ck);
  EXPECT_EQ(cks.size(), keys.size());
}

TEST(E2eChecklist, C11_SequenceExhaustionIsConflict) {
  World w;
  {
    std::ofstream f(w.dir / "publisher.state");
    f << "version=1\npublisher=pub-1\nreserved=18446744073709551613\n";
  }
  auto p = w.publisher();
  EXPECT_EQ(p->nextSeq(), 18446744073709551613ull);
  auto d1 = p->seal(w.topic, "a");
  ASSERT_TRUE(d1.ok()) << d1.message();
  auto d2 = p->seal(w.topic, "b");   // 2^64 - 2, the last one
  ASSERT_TRUE(d2.ok()) << d2.message();
  EXPECT_EQ(e2e::parseData(*d2)->seq, 18446744073709551614ull);
  auto d3 = p->seal(w.topic, "c");
  ASSERT_FALSE(d3.ok());
  EXPECT_EQ(d3.error().code, ErrorCode::Conflict);
  // And it stays exhausted after a restart.
  p.reset();
  p = w.publisher();
  auto d4 = p->seal(w.topic, "d");
  ASSERT_FALSE(d4.ok());
  EXPECT_EQ(d4.error().code, ErrorCode::Conflict);
}

TEST(E2eChecklist, C11_StateFileFromAnotherPublisherOrMalformedIsRefused) {
  World w;
  {
    std::ofstream f(w.dir / "publisher.state");
    f << "version=1\npublisher=other\nreserved=5\n";
  }
  EXPECT_FALSE(e2e::Publisher::open(w.publisherKey, w.publisherCert, w.anchor(), w.options()).ok());
  {
    std::ofstream f(w.dir / "publisher.state");
    f << "version=1\npublisher=pub-1\n";
  }
  EXPECT_FALSE(e2e::Publisher::open(w.publisherKey, w.publisherCert, w.anchor(), w.options()).ok());
}

TEST(E2eChecklist, C12_LowOrderX25519SubscriberKeysAreRefused) {
  World w;
  auto p = w.publisher();
  const std::vector<std::string> points = {
      unhex("0000000000000000000000000000000000000000000000000000000000000000"),
      unhex("0100000000000000000000000000000000000000000000000000000000000000"),
      unhex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"),
      unhex("5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157"),
      unhex("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
      unhex("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
      unhex("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
  };
  const e2e::KeyPair k = *e2e::generateX25519();
  const std::string good = w.cert(e2e::Role::Subscriber, "low", k.publicKey, {"site/#"});
  const std::size_t keyAt = 14 + 3;
  int refusedCount = 0;
  for (const std::string& base : points) {
    for (bool highBit : {false, true}) {
      std::string point = base;
      if (highBit) point[31] = static_cast<char>(point[31] | 0x80);
      // The HPKE step alone refuses it (all-zero shared secret)...
      EXPECT_FALSE(hpke::seal(hpke::Aead::Aes256Gcm, point, "info", "", std::string(44, 'k')).ok()) << hex(point);
      // ...the authority's tool does not issue it...
      e2e::Certificate draft = *e2e::parseCertificate(good);
      draft.key = point;
      EXPECT_FALSE(e2e::issueCertificate(w.authority, draft).ok()) << hex(point);
      // ...and a certificate the authority signed anyway is refused by the publisher.
      std::string body = good.substr(0, good.size() - 64);
      std::copy(point.begin(), point.end(), body.begin() + keyAt);
      const std::string lowCert = w.resign(body);
      ASSERT_EQ(e2e::parseCertificate(lowCert)->key, point);
      auto r = p->handleKeyRequest(e2e::encodeKeyRequest(w.topic, lowCert));
      EXPECT_FALSE(r.ok()) << hex(point);
      refusedCount += r.ok() ? 0 : 1;
      EXPECT_FALSE(w.anchor().verify(lowCert, e2e::Role::Subscriber, w.topic, w.now).ok());
    }
  }
  EXPECT_EQ(refusedCount, 14);
  EXPECT_TRUE(p->drainOutgoing().empty());
  EXPECT_TRUE(p->subscribers(w.topic).empty());
  // The untouched certificate is accepted (the refusals were for the key).
  EXPECT_TRUE(p->handleKeyRequest(e2e::encodeKeyRequest(w.topic, good)).ok());
}

TEST(E2eSubscriber, KeyRequestsResendTheCurrentWrapAndNewWrapsAreRateLimited) {
  World w;
  auto p = w.publisher();
  Sub a = w.subscriber("sub-a");
  ASSERT_TRUE(p->handleKeyRequest(a.s->keyRequest(w.topic)).ok());
  const std::string first = p->drainOutgoing().at(0).payload;
  // The same certificate again at once: the same wrap, published again (no new cryptography).
  ASSERT_TRUE(p->handleKeyRequest(a.s->keyRequest(w.topic)).ok());
  auto resent = p->drainOutgoing();
  ASSERT_EQ(resent.size(), 1u);
  EXPECT_EQ(resent[0].payload, first);
  // A new certificate for the same id within the second needs a new wrap: refused.
  Sub a2 = w.subscriber("sub-a");
  auto again = p->handleKeyRequest(a2.s->keyRequest(w.topic));
  EXPECT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::Conflict);
  EXPECT_TRUE(p->drainOutgoing().empty());
  w.now += 1;
  ASSERT_TRUE(p->handleKeyRequest(a2.s->keyRequest(w.topic)).ok());
  auto out = p->drainOutgoing();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_NE(out[0].payload, first);
  EXPECT_TRUE(a2.s->handleKeyWrap(out[0].payload).ok());
}

TEST(E2eSubscriber, RekeyIntervalBeginsANewEpochAndTheOldOneStillOpens) {
  World w;
  auto opts = w.options();
  opts.rekeyInterval = std::chrono::seconds(60);
  auto p = w.publisher(opts);
  Sub a = w.subscriber("sub-a");
  w.enrol(*p, a);
  auto inFlight = p->seal(w.topic, "epoch 1");
  w.now += 60;
  auto next = p->seal(w.topic, "epoch 2");
  EXPECT_EQ(p->epoch(w.topic), 2u);
  ASSERT_EQ(w.deliver(*p, {&a}), 1);
  EXPECT_EQ(a.s->open(w.topic, *next).plaintext, "epoch 2");
  EXPECT_EQ(a.s->open(w.topic, *inFlight).plaintext, "epoch 1");   // one epoch behind is kept
}
