// Checklist C11 at scale (label "unit;slow", about a minute on a 2-core box: 1e6 Ed25519 signatures):
// 1e6 messages sealed across a publisher restart, with rekeys every 100000 messages. No (epoch, seq)
// and no (key, nonce) pair repeats; seq strictly increases; the epoch increases on the restart.

#include <algorithm>
#include <array>
#include <cstring>
#include <map>
#include <set>

#include "e2e_support.h"

using namespace e2etest;
namespace hpke = gatehouse::e2e::hpke;

TEST(E2eChecklistSlow, C11_MillionMessagesAcrossARestartNeverReuseKeyAndNonce) {
  World w;
  auto opts = w.options();
  opts.maxMessagesPerEpoch = 100000;
  Sub a = w.subscriber("sub-a");
  const std::string prefix = e2e::sha256("pub-1").substr(0, 4);
  std::map<std::uint64_t, std::string> ck, iv;   // per epoch, from the wraps (HPKE open with a's key)
  auto collect = [&](e2e::Publisher& p) {
    for (const auto& out : p.drainOutgoing()) {
      auto wr = e2e::parseKeyWrap(out.payload);
      ASSERT_TRUE(wr.ok());
      auto info = hpke::wrapInfo(wr->topic, wr->epoch, e2e::fingerprint(a.key.publicKey));
      auto pt = hpke::open(hpke::Aead::Aes256Gcm, wr->enc, a.key.privateKey, *info, std::string("\x05pub-1", 6), wr->sealed);
      ASSERT_TRUE(pt.ok());
      ck[wr->epoch] = pt->substr(0, 32);
      iv[wr->epoch] = pt->substr(32);
    }
  };
  struct Use {
    std::uint64_t epoch;
    std::array<char, 12> nonce;
    bool operator<(const Use& o) const {
      return epoch != o.epoch ? epoch < o.epoch : std::memcmp(nonce.data(), o.nonce.data(), 12) < 0;
    }
    bool operator==(const Use& o) const { return epoch == o.epoch && std::memcmp(nonce.data(), o.nonce.data(), 12) == 0; }
  };
  std::vector<Use> uses;
  uses.reserve(1000000);
  std::uint64_t lastSeq = 0, lastEpoch = 0, epochBeforeRestart = 0;
  auto run = [&](e2e::Publisher& p, int n) {
    for (int i = 0; i < n; ++i) {
      auto d = p.seal(w.topic, "v");
      ASSERT_TRUE(d.ok()) << d.message();
      collect(p);
      // The fixed layout of 4.1 for publisher "pub-1": epoch at 11, seq at 19.
      std::uint64_t epoch = 0, seq = 0;
      for (int b = 0; b < 8; ++b) epoch = (epoch << 8) | static_cast<unsigned char>((*d)[11 + b]);
      for (int b = 0; b < 8; ++b) seq = (seq << 8) | static_cast<unsigned char>((*d)[19 + b]);
      ASSERT_GT(seq, lastSeq);
      ASSERT_GE(epoch, lastEpoch);
      ASSERT_EQ(iv.count(epoch), 1u);
      lastSeq = seq;
      lastEpoch = epoch;
      Use u{epoch, {}};
      const std::string& v = iv[epoch];
      for (int b = 0; b < 12; ++b) {
        const unsigned char mix = b < 4 ? static_cast<unsigned char>(prefix[b]) : static_cast<unsigned char>((seq >> (8 * (11 - b))) & 0xff);
        u.nonce[b] = static_cast<char>(static_cast<unsigned char>(v[b]) ^ mix);
      }
      uses.push_back(u);
      if (i % 100000 == 0) {   // a sample really opens with that key and nonce
        auto m = e2e::parseData(*d);
        const std::string aad = "gh-e2e-aad-v1" + std::string("\x00\x0b", 2) + w.topic + d->substr(11, 16) + std::string("\x05pub-1", 6);
        ASSERT_EQ(*e2e::aes256GcmOpen(ck[epoch], std::string(u.nonce.data(), 12), aad, m->ciphertext), "v");
      }
    }
  };
  {
    auto p = w.publisher(opts);
    ASSERT_TRUE(p->handleKeyRequest(a.s->keyRequest(w.topic)).ok());
    collect(*p);
    run(*p, 500000);
    epochBeforeRestart = p->epoch(w.topic);
  }
  {
    auto p = w.publisher(opts);   // restart from the state file
    EXPECT_GT(p->epoch(w.topic), epochBeforeRestart);
    EXPECT_GT(p->nextSeq(), lastSeq);
    collect(*p);
    run(*p, 500000);
  }
  ASSERT_EQ(uses.size(), 1000000u);
  std::sort(uses.begin(), uses.end());
  EXPECT_EQ(std::adjacent_find(uses.begin(), uses.end()), uses.end()) << "a (key, nonce) pair was used twice";
  std::set<std::string> keys;
  for (const auto& [e, k] : ck) keys.insert(k);
  EXPECT_EQ(keys.size(), ck.size()) << "two epochs share a content key";
  EXPECT_EQ(ck.size(), 10u);   // epochs 1-5 before the restart, 6-10 after (a rekey every 100000 messages)
}
