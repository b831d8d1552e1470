// The subscriber (sections 5 and 7): key wraps, data, the replay window.

#include <bitset>
#include <limits>

#include "gatehouse/kit/codec.h"
#include "internal.h"

namespace gatehouse::e2e {

using detail::Secret;

namespace {

struct EpochKey {
  Secret ck, iv;
  std::string prefix4;     // SHA256(publisher_id)[0..4]
  detail::Pkey verifier;   // the publisher's certified Ed25519 key
};

struct Stream {            // one (publisher, topic)
  std::uint64_t highest = 0;
  std::map<std::uint64_t, EpochKey> epochs;
};

// 7: the highest accepted seq H and a bit per number of [H - 1023, H] (bit seq % 1024).
struct Window {
  std::uint64_t highest = 0;
  std::bitset<kReplayWindow> seen;

  Drop check(std::uint64_t seq) const {
    if (seq > highest) return Drop::None;
    if (highest - seq >= kReplayWindow) return Drop::TooOld;
    return seen.test(seq % kReplayWindow) ? Drop::Replay : Drop::None;
  }
  void mark(std::uint64_t seq) {
    if (seq > highest) {
      if (seq - highest >= kReplayWindow) {
        seen.reset();
      } else {
        for (std::uint64_t s = highest + 1; s < seq; ++s) seen.reset(s % kReplayWindow);
      }
      highest = seq;
    }
    seen.set(seq % kReplayWindow);
  }
};

}  // namespace

std::string_view toString(Drop reason) noexcept {
  switch (reason) {
    case Drop::None: return "none";
    case Drop::Parse: return "parse";
    case Drop::Certificate: return "certificate";
    case Drop::Signature: return "signature";
    case Drop::Replay: return "replay";
    case Drop::TooOld: return "too_old";
    case Drop::NoKey: return "no_key";
    case Drop::Decrypt: return "decrypt";
  }
  return "unknown";
}

struct Subscriber::Impl {
  KeyPair key;
  std::string certificateBytes;
  std::optional<Certificate> certificate;
  std::string fingerprint;
  TrustAnchor anchor;
  std::function<std::int64_t()> clock;
  std::map<std::pair<std::string, std::string>, Stream> streams;
  std::map<std::string, Window> windows;
  std::map<std::string, std::uint64_t> counts;

  Impl(KeyPair k, std::string c, TrustAnchor a, std::function<std::int64_t()> cl)
      : key(std::move(k)), certificateBytes(std::move(c)), anchor(std::move(a)), clock(std::move(cl)) {}

  std::int64_t now() const {
    if (clock) return clock();
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  }
  Result<void> drop(Drop reason, kit::Error e) {
    ++counts[std::string(toString(reason))];
    return e;
  }
  Opened dropped(Opened o, Drop reason, std::string detail) {
    ++counts[std::string(toString(reason))];
    o.dropped = reason;
    o.detail = std::move(detail);
    return o;
  }
};

Subscriber::Subscriber(KeyPair x25519Key, std::string certificate, TrustAnchor anchor,
                       std::function<std::int64_t()> clock)
    : impl_(std::make_unique<Impl>(std::move(x25519Key), std::move(certificate), std::move(anchor), std::move(clock))) {
  // A certificate that does not parse, or is not for this key, leaves the subscriber unable to
  // open anything (every wrap fails): the constructor cannot report it.
  auto cert = parseCertificate(impl_->certificateBytes);
  if (cert && cert->role == Role::Subscriber && cert->key == impl_->key.publicKey) impl_->certificate = std::move(*cert);
  impl_->fingerprint = fingerprint(impl_->key.publicKey);
}

Subscriber::~Subscriber() = default;

const std::string& Subscriber::id() const noexcept {
  static const std::string kNone;
  return impl_->certificate ? impl_->certificate->id : kNone;
}

std::string Subscriber::keyRequest(std::string_view topic) const { return encodeKeyRequest(topic, impl_->certificateBytes); }

Result<void> Subscriber::handleKeyWrap(std::string_view wrapBytes) {
  Impl& s = *impl_;
  auto wrap = parseKeyWrap(wrapBytes);
  if (!wrap) return s.drop(Drop::Parse, std::move(wrap).error());
  if (!s.certificate) return s.drop(Drop::Certificate, kit::notAllowed("e2e subscriber: own certificate is unusable"));
  // The topic is one this subscriber may ask for (its certificate allows it), the wrap is for its key.
  if (!s.certificate->allows(wrap->topic)) return s.drop(Drop::Certificate, kit::notAllowed("e2e subscriber: wrap for a topic it cannot read"));
  if (wrap->subscriberFingerprint != s.fingerprint) return s.drop(Drop::Certificate, kit::notAllowed("e2e subscriber: wrap for another key"));
  auto pub = s.anchor.verify(wrap->publisherCertificate, Role::Publisher, wrap->topic, s.now());
  if (!pub) return s.drop(Drop::Certificate, kit::prefixed("e2e subscriber: publisher certificate: ", pub.error()));
  auto verifier = detail::ed25519PublicKey(pub->key);
  if (!verifier) return s.drop(Drop::Certificate, std::move(verifier).error());
  if (!detail::ed25519VerifyWith(verifier->get(), detail::wrapSigningInput(wrap->signedPart), wrap->signature)) {
    return s.drop(Drop::Signature, kit::notAllowed("e2e subscriber: bad wrap signature"));
  }
  Stream& stream = s.streams[{pub->id, wrap->topic}];
  if (wrap->epoch < stream.highest) {
    return s.drop(Drop::Replay, kit::makeError(kit::ErrorCode::Conflict, "e2e subscriber: wrap of an older epoch"));
  }
  auto info = hpke::wrapInfo(wrap->topic, wrap->epoch, s.fingerprint);
  if (!info) return s.drop(Drop::Parse, std::move(info).error());
  detail::Writer aad;
  aad.str8(pub->id);
  auto pt = hpke::open(hpke::Aead::Aes256Gcm, wrap->enc, s.key.privateKey, *info, aad.out, wrap->sealed);
  if (!pt) return s.drop(Drop::Decrypt, kit::prefixed("e2e subscriber: cannot open the wrap: ", pt.error()));
  Secret keys(std::move(*pt));
  if (keys.s.size() != detail::kContentKeySize + detail::kIvSize) {
    return s.drop(Drop::Decrypt, kit::badRequest("e2e subscriber: wrapped key has the wrong size"));
  }
  EpochKey k;
  k.ck = Secret(keys.s.substr(0, detail::kContentKeySize));
  k.iv = Secret(keys.s.substr(detail::kContentKeySize));
  k.prefix4 = sha256(pub->id).substr(0, 4);
  k.verifier = std::move(*verifier);
  stream.epochs[wrap->epoch] = std::move(k);
  stream.highest = wrap->epoch;
  // Keep the current epoch and the one before it (messages in flight across a rekey).
  stream.epochs.erase(stream.epochs.begin(), stream.epochs.lower_bound(stream.highest - 1));
  return {};
}

Opened Subscriber::open(std::string_view topic, std::string_view dataBytes) {
  Impl& s = *impl_;
  Opened o;
  auto m = parseData(dataBytes);
  if (!m) return s.dropped(std::move(o), Drop::Parse, m.message());
  o.publisherId = m->publisherId;
  o.epoch = m->epoch;
  o.seq = m->seq;
  auto stream = s.streams.find({m->publisherId, std::string(topic)});
  if (stream == s.streams.end()) return s.dropped(std::move(o), Drop::NoKey, "no key for this publisher and topic");
  auto ek = stream->second.epochs.find(m->epoch);
  if (ek == stream->second.epochs.end()) return s.dropped(std::move(o), Drop::NoKey, "no key for this epoch");
  EpochKey& k = ek->second;
  if (!detail::ed25519VerifyWith(k.verifier.get(), detail::dataSigningInput(topic, m->signedPart), m->signature)) {
    return s.dropped(std::move(o), Drop::Signature, "bad publisher signature");
  }
  auto win = s.windows.find(m->publisherId);
  if (win != s.windows.end()) {
    if (const Drop d = win->second.check(m->seq); d != Drop::None) {
      return s.dropped(std::move(o), d, d == Drop::Replay ? "duplicate" : "older than the replay window");
    }
  }
  auto pt = aes256GcmOpen(k.ck.s, detail::dataNonce(k.iv.s, k.prefix4, m->seq),
                          detail::dataAad(topic, m->epoch, m->seq, m->publisherId), m->ciphertext);
  if (!pt) return s.dropped(std::move(o), Drop::Decrypt, pt.message());
  if (win == s.windows.end()) win = s.windows.emplace(m->publisherId, Window{}).first;
  win->second.mark(m->seq);
  o.plaintext = std::move(*pt);
  return o;
}

bool Subscriber::hasKey(std::string_view publisherId, std::string_view topic, std::uint64_t epoch) const {
  auto it = impl_->streams.find({std::string(publisherId), std::string(topic)});
  return it != impl_->streams.end() && it->second.epochs.count(epoch) != 0;
}

std::map<std::string, std::uint64_t> Subscriber::dropCounts() const { return impl_->counts; }

std::string Subscriber::replayState() const {
  std::string out;
  for (const auto& [pub, w] : impl_->windows) {
    std::string bits(kReplayWindow / 8, '\0');
    for (std::size_t i = 0; i < kReplayWindow; ++i) {
      if (w.seen.test(i)) bits[i / 8] = static_cast<char>(bits[i / 8] | (1 << (i % 8)));
    }
    out += "w " + pub + " " + std::to_string(w.highest) + " " + kit::hexEncode(bits) + "\n";
  }
  for (const auto& [key, stream] : impl_->streams) {
    out += "e " + key.first + " " + kit::hexEncode(key.second) + " " + std::to_string(stream.highest) + "\n";
  }
  return out;
}

Result<void> Subscriber::restoreReplayState(std::string_view state) {
  std::map<std::string, Window> windows;
  std::map<std::pair<std::string, std::string>, std::uint64_t> highest;
  auto bad = [] { return kit::badRequest("e2e subscriber: malformed replay state"); };
  auto number = [](std::string_view t, std::uint64_t& v) {
    if (t.empty() || t.size() > 20) return false;
    v = 0;
    for (char c : t) {
      if (c < '0' || c > '9') return false;
      if (v > (std::numeric_limits<std::uint64_t>::max() - static_cast<std::uint64_t>(c - '0')) / 10) return false;
      v = v * 10 + static_cast<std::uint64_t>(c - '0');
    }
    return true;
  };
  while (!state.empty()) {
    const auto nl = state.find('\n');
    if (nl == std::string_view::npos) return bad();
    const std::string_view line = state.substr(0, nl);
    state.remove_prefix(nl + 1);
    std::vector<std::string_view> f;
    for (std::size_t start = 0;;) {
      const auto sp = line.find(' ', start);
      f.push_back(line.substr(start, sp == std::string_view::npos ? std::string_view::npos : sp - start));
      if (sp == std::string_view::npos) break;
      start = sp + 1;
    }
    if (f.size() != 4 || !isValidId(f[1])) return bad();
    std::uint64_t v = 0;
    if (!number(f[2 + (f[0] == "e" ? 1 : 0)], v)) return bad();
    if (f[0] == "w") {
      auto bits = kit::hexDecode(f[3]);
      if (!bits || bits->size() != kReplayWindow / 8) return bad();
      Window w;
      w.highest = v;
      for (std::size_t i = 0; i < kReplayWindow; ++i) {
        if ((static_cast<unsigned char>((*bits)[i / 8]) >> (i % 8)) & 1) w.seen.set(i);
      }
      windows[std::string(f[1])] = w;
    } else if (f[0] == "e") {
      auto topic = kit::hexDecode(f[2]);
      if (!topic || !isValidTopic(*topic)) return bad();
      highest[{std::string(f[1]), *topic}] = v;
    } else {
      return bad();
    }
  }
  // Merge: never move a window or an epoch backwards.
  for (auto& [pub, w] : windows) {
    auto& cur = impl_->windows[pub];
    if (w.highest > cur.highest) cur = w;
  }
  for (auto& [key, h] : highest) {
    auto& stream = impl_->streams[key];
    if (h > stream.highest) {
      stream.highest = h;
      stream.epochs.erase(stream.epochs.begin(), stream.epochs.lower_bound(h - 1));
    }
  }
  return {};
}

}  // namespace gatehouse::e2e
