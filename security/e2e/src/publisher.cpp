// The publisher (sections 5 and 6): epochs, sequence numbers with a persisted reserve, the state
// file, key requests, wraps and removals.

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "gatehouse/kit/codec.h"
#include "internal.h"

namespace gatehouse::e2e {

using detail::Secret;

namespace {

constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::min();

struct RememberedSubscriber {
  std::string id, key, certificate;
  std::uint64_t serial = 0;
  std::int64_t notAfter = 0;
  std::int64_t lastAnswer = kNever;   // rate limit of key requests (5)
  std::string wrap;                   // the last wrap made for it, and its epoch
  std::uint64_t wrapEpoch = 0;
};

struct TopicState {
  std::uint64_t epoch = 0;   // 0 = no epoch begun yet (persisted value only)
  Secret ck, iv;
  std::uint64_t messages = 0;
  std::int64_t epochStart = 0;
  std::int64_t nextExpiry = std::numeric_limits<std::int64_t>::max();
  std::map<std::string, RememberedSubscriber> subscribers;
  std::set<std::string> removed;
  bool live = false;         // CK and IV exist
};

// The topic as written in the state file: '%', '=', CR and LF percent-encoded (6.3).
std::string escapeTopic(std::string_view topic) {
  std::string out;
  for (char c : topic) {
    if (c == '%' || c == '=' || c == '\n' || c == '\r') {
      static const char* kHex = "0123456789ABCDEF";
      out.push_back('%');
      out.push_back(kHex[(static_cast<unsigned char>(c) >> 4) & 0xf]);
      out.push_back(kHex[static_cast<unsigned char>(c) & 0xf]);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

Result<std::string> unescapeTopic(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    if (i + 2 >= text.size()) return kit::badRequest("bad %-escape");
    const int hi = kit::hexDigitValue(text[i + 1]), lo = kit::hexDigitValue(text[i + 2]);
    if (hi < 0 || lo < 0) return kit::badRequest("bad %-escape");
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  if (!isValidTopic(out)) return kit::badRequest("invalid topic");
  return out;
}

Result<std::uint64_t> parseU64(std::string_view s) {
  if (s.empty() || s.size() > 20) return kit::badRequest("not a number");
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return kit::badRequest("not a number");
    const std::uint64_t d = static_cast<std::uint64_t>(c - '0');
    if (v > (std::numeric_limits<std::uint64_t>::max() - d) / 10) return kit::badRequest("number too large");
    v = v * 10 + d;
  }
  return v;
}

Result<void> writeFileAtomically(const std::string& path, const std::string& content) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return kit::unavailable("e2e publisher: cannot write " + tmp + ": " + std::strerror(errno));
  std::size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int e = errno;
      ::close(fd);
      return kit::unavailable("e2e publisher: cannot write " + tmp + ": " + std::strerror(e));
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    const int e = errno;
    ::close(fd);
    return kit::unavailable("e2e publisher: fsync " + tmp + ": " + std::strerror(e));
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return kit::unavailable("e2e publisher: rename " + tmp + ": " + std::strerror(errno));
  }
  // The rename itself is made durable by syncing the directory.
  const auto slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return {};
}

}  // namespace

struct Publisher::Impl {
  KeyPair signingKey;
  detail::Pkey signer;
  Certificate certificate;
  std::string noncePrefix;   // SHA256(publisher_id)[0..4]
  std::string idStr8;        // str8(publisher_id), the HPKE aad of a wrap
  TrustAnchor anchor;
  PublisherOptions options;
  std::uint64_t seq = 1;
  std::uint64_t reserved = 0;
  std::map<std::string, TopicState, std::less<>> topics;
  std::vector<Outgoing> outgoing;
  std::uint64_t refused = 0;
  bool dirty = false;

  Impl(KeyPair k, TrustAnchor a, PublisherOptions o)
      : signingKey(std::move(k)), anchor(std::move(a)), options(std::move(o)) {}

  std::int64_t now() const {
    if (options.clock) return options.clock();
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  }

  std::string serialize() const {
    std::string s = "version=1\npublisher=" + certificate.id + "\nreserved=" + std::to_string(reserved) + "\n";
    for (const auto& [topic, t] : topics) {
      const std::string esc = escapeTopic(topic);
      s += "epoch." + esc + "=" + std::to_string(t.epoch) + "\n";
      for (const auto& [id, sub] : t.subscribers) s += "subscriber." + esc + "=" + kit::base64Encode(sub.certificate) + "\n";
      for (const auto& id : t.removed) s += "removed." + esc + "=" + id + "\n";
    }
    return s;
  }

  Result<void> persist() {
    if (auto w = writeFileAtomically(options.stateFile, serialize()); !w) return w;
    dirty = false;
    return {};
  }

  Result<void> load() {
    std::ifstream in(options.stateFile, std::ios::binary);
    if (!in) {
      if (errno == ENOENT) return {};   // a new publisher
      return kit::unavailable("e2e publisher: cannot read " + options.stateFile + ": " + std::strerror(errno));
    }
    std::string line;
    int lineNo = 0;
    bool version = false;
    bool sawReserved = false;
    auto bad = [&](const std::string& why) {
      return kit::badRequest("e2e publisher: " + options.stateFile + ":" + std::to_string(lineNo) + ": " + why);
    };
    const std::int64_t t0 = now();
    while (std::getline(in, line)) {
      ++lineNo;
      if (line.empty()) continue;
      const auto eq = line.find('=');
      if (eq == std::string::npos) return bad("no '='");
      const std::string key = line.substr(0, eq), value = line.substr(eq + 1);
      if (key == "version") {
        if (value != "1") return bad("unsupported version");
        version = true;
      } else if (key == "publisher") {
        if (value != certificate.id) return bad("state file of publisher " + kit::quoteForMessage(value));
      } else if (key == "reserved") {
        auto v = parseU64(value);
        if (!v || *v == 0) return bad("bad reserved value");
        reserved = *v;
        sawReserved = true;
      } else {
        const auto dot = key.find('.');
        if (dot == std::string::npos) return bad("unknown key");
        const std::string kind = key.substr(0, dot);
        auto topic = unescapeTopic(key.substr(dot + 1));
        if (!topic) return bad("bad topic: " + topic.message());
        TopicState& t = topics[*topic];
        if (kind == "epoch") {
          auto v = parseU64(value);
          if (!v) return bad("bad epoch");
          t.epoch = *v;
        } else if (kind == "subscriber") {
          auto der = kit::base64Decode(value);
          if (!der) return bad("bad base64");
          // A subscriber whose certificate no longer verifies (expired, revoked) is forgotten.
          auto cert = anchor.verify(*der, Role::Subscriber, *topic, t0);
          if (!cert) {
            dirty = true;
            continue;
          }
          remember(t, *cert);
        } else if (kind == "removed") {
          if (!isValidId(value)) return bad("bad removed id");
          t.removed.insert(value);
        } else {
          return bad("unknown key");
        }
      }
    }
    if (!version) return kit::badRequest("e2e publisher: " + options.stateFile + ": no version=1 line");
    if (!sawReserved) return kit::badRequest("e2e publisher: " + options.stateFile + ": no reserved line");
    seq = reserved;   // 6.2: continue at the stored reserve; the numbers in between are skipped
    return {};
  }

  static void remember(TopicState& t, const Certificate& cert) {
    RememberedSubscriber s;
    s.id = cert.id;
    s.key = cert.key;
    s.certificate = cert.encoded;
    s.serial = cert.serial;
    s.notAfter = cert.notAfter;
    t.subscribers[cert.id] = std::move(s);
    t.nextExpiry = std::min(t.nextExpiry, cert.notAfter);
  }

  // The wrap of the current epoch of `t` for one subscriber key (4.3). Pure: reads this publisher's
  // keys and `t`, writes nothing, so several may run at once (beginEpoch's workers).
  Result<std::string> computeWrap(const std::string& topic, const TopicState& t, const std::string& subscriberKey) const {
    const std::string fp = fingerprint(subscriberKey);
    auto info = hpke::wrapInfo(topic, t.epoch, fp);
    if (!info) return std::move(info).error();
    Secret pt(t.ck.s + t.iv.s);
    auto sealed = hpke::seal(hpke::Aead::Aes256Gcm, subscriberKey, *info, idStr8, pt.s);
    if (!sealed) return std::move(sealed).error();
    std::string wrap = detail::encodeWrapBody(topic, certificate.encoded, fp, t.epoch, sealed->enc, sealed->ciphertext);
    auto sig = detail::ed25519SignWith(signer.get(), detail::wrapSigningInput(wrap));
    if (!sig) return std::move(sig).error();
    wrap.append(*sig);
    return wrap;
  }

  void keepWrap(const std::string& topic, const TopicState& t, RememberedSubscriber& sub, std::string wrap) {
    sub.wrap = wrap;
    sub.wrapEpoch = t.epoch;
    outgoing.push_back(Outgoing{wrapTopic(topic, sub.id), std::move(wrap), true});
  }

  Result<void> makeWrap(const std::string& topic, TopicState& t, RememberedSubscriber& sub) {
    auto wrap = computeWrap(topic, t, sub.key);
    if (!wrap) return std::move(wrap).error();
    keepWrap(topic, t, sub, std::move(*wrap));
    return {};
  }

  // Wraps for many subscribers at once: each costs an X25519 key generation and derivation and an
  // Ed25519 signature (~70 us), so a rekey with 1000 subscribers is spread over the cores (one
  // worker per core, at most 8; below 32 subscribers the calling thread does it all).
  std::vector<Result<std::string>> computeWraps(const std::string& topic, const TopicState& t,
                                                const std::vector<const std::string*>& keys) const {
    std::vector<Result<std::string>> out(keys.size(), Result<std::string>(kit::internal("not computed")));
    std::atomic<std::size_t> next{0};
    auto work = [&] {
      for (std::size_t i = next++; i < keys.size(); i = next++) out[i] = computeWrap(topic, t, *keys[i]);
    };
    const unsigned cores = std::max(1u, std::min(8u, std::thread::hardware_concurrency()));
    const std::size_t helpers = keys.size() < 32 ? 0 : cores - 1;
    std::vector<std::thread> threads;
    threads.reserve(helpers);
    for (std::size_t i = 0; i < helpers; ++i) threads.emplace_back(work);
    work();
    for (auto& th : threads) th.join();
    return out;
  }

  // 6.1: a new epoch with fresh CK and IV, wrapped for every remembered subscriber that is still
  // valid. The caller persists (before anything is sealed under it).
  Result<void> beginEpoch(const std::string& topic, TopicState& t) {
    if (t.epoch == std::numeric_limits<std::uint64_t>::max()) return kit::makeError(kit::ErrorCode::Conflict, "e2e publisher: epochs exhausted");
    Secret ck(std::string(detail::kContentKeySize, '\0')), iv(std::string(detail::kIvSize, '\0'));
    if (RAND_priv_bytes(reinterpret_cast<unsigned char*>(ck.s.data()), static_cast<int>(ck.s.size())) != 1 ||
        RAND_bytes(reinterpret_cast<unsigned char*>(iv.s.data()), static_cast<int>(iv.s.size())) != 1) {
      return kit::internal("e2e publisher: RAND failed");
    }
    t.epoch += 1;
    t.ck = std::move(ck);   // the old epoch's key is wiped by the move assignment
    t.iv = std::move(iv);
    t.live = true;
    t.messages = 0;
    const std::int64_t n = now();
    t.epochStart = n;
    dirty = true;
    t.nextExpiry = std::numeric_limits<std::int64_t>::max();
    for (auto it = t.subscribers.begin(); it != t.subscribers.end();) {
      const RememberedSubscriber& sub = it->second;
      it = (sub.notAfter <= n || anchor.isRevoked(sub.serial)) ? t.subscribers.erase(it) : std::next(it);
    }
    std::vector<const std::string*> keys;
    keys.reserve(t.subscribers.size());
    for (const auto& [id, sub] : t.subscribers) keys.push_back(&sub.key);
    auto wraps = computeWraps(topic, t, keys);
    std::size_t i = 0;
    for (auto it = t.subscribers.begin(); it != t.subscribers.end(); ++i) {
      if (!wraps[i]) {   // a key the wrap cannot use (low order): forget that subscriber
        it = t.subscribers.erase(it);
        continue;
      }
      keepWrap(topic, t, it->second, std::move(*wraps[i]));
      t.nextExpiry = std::min(t.nextExpiry, it->second.notAfter);
      ++it;
    }
    return {};
  }

  Result<void> refuse(kit::Error e) {
    ++refused;
    return e;
  }
};

Publisher::Publisher(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Publisher::~Publisher() = default;

Result<std::unique_ptr<Publisher>> Publisher::open(KeyPair signingKey, std::string certificate, TrustAnchor anchor,
                                                  PublisherOptions options) {
  if (options.stateFile.empty()) return kit::badRequest("e2e publisher: a state file is required");
  if (options.seqReserve == 0) return kit::badRequest("e2e publisher: seqReserve must be at least 1");
  auto derived = ed25519FromPrivate(signingKey.privateKey);
  if (!derived) return std::move(derived).error();
  if (!signingKey.publicKey.empty() && signingKey.publicKey != derived->publicKey) {
    return kit::badRequest("e2e publisher: signing key pair is inconsistent");
  }
  auto cert = parseCertificate(certificate);
  if (!cert) return std::move(cert).error();
  if (cert->role != Role::Publisher) return kit::badRequest("e2e publisher: certificate is not a publisher certificate");
  if (cert->key != derived->publicKey) return kit::badRequest("e2e publisher: certificate is for another key");
  if (auto s = detail::checkCertificateSignature(*cert, anchor.authorityPublicKey()); !s) return std::move(s).error();
  auto impl = std::make_unique<Impl>(std::move(*derived), std::move(anchor), std::move(options));
  auto signer = detail::ed25519PrivateKey(impl->signingKey.privateKey);
  if (!signer) return std::move(signer).error();
  impl->signer = std::move(*signer);
  impl->certificate = std::move(*cert);
  impl->noncePrefix = sha256(impl->certificate.id).substr(0, 4);
  detail::Writer w;
  w.str8(impl->certificate.id);
  impl->idStr8 = std::move(w.out);
  if (auto l = impl->load(); !l) return std::move(l).error();
  // 6.1: every start begins a new epoch on every known topic.
  for (auto& [topic, t] : impl->topics) {
    if (auto b = impl->beginEpoch(topic, t); !b) return std::move(b).error();
  }
  if (auto p = impl->persist(); !p) return std::move(p).error();
  return std::unique_ptr<Publisher>(new Publisher(std::move(impl)));
}

const std::string& Publisher::id() const noexcept { return impl_->certificate.id; }

Result<std::string> Publisher::seal(std::string_view topic, std::string_view plaintext) {
  Impl& p = *impl_;
  if (!p.certificate.allows(topic)) return kit::notAllowed("e2e publisher: topic not allowed by its certificate");
  if (plaintext.size() > kMaxPlaintextBytes) return kit::makeError(kit::ErrorCode::TooLarge, "e2e publisher: plaintext over 1 MiB");
  if (p.seq > detail::kMaxSeq) return kit::makeError(kit::ErrorCode::Conflict, "e2e publisher: sequence numbers exhausted");
  auto it = p.topics.find(topic);
  if (it == p.topics.end()) it = p.topics.emplace(std::string(topic), TopicState{}).first;
  TopicState& t = it->second;
  const std::int64_t n = p.now();
  if (!t.live || t.messages >= p.options.maxMessagesPerEpoch || n - t.epochStart >= p.options.rekeyInterval.count() ||
      n >= t.nextExpiry) {
    if (auto b = p.beginEpoch(it->first, t); !b) return std::move(b).error();
  }
  if (p.seq >= p.reserved) {   // 6.2: the file must hold reserved > seq before seq is used
    const std::uint64_t room = std::numeric_limits<std::uint64_t>::max() - p.seq;
    p.reserved = room < p.options.seqReserve ? std::numeric_limits<std::uint64_t>::max() : p.seq + p.options.seqReserve;
    p.dirty = true;
  }
  if (p.dirty) {
    if (auto w = p.persist(); !w) return std::move(w).error();
  }
  const std::uint64_t seq = p.seq;
  const std::string nonce = detail::dataNonce(t.iv.s, p.noncePrefix, seq);
  auto ct = aes256GcmSeal(t.ck.s, nonce, detail::dataAad(topic, t.epoch, seq, p.certificate.id), plaintext);
  if (!ct) return std::move(ct).error();
  std::string data = detail::encodeDataBody(p.certificate.id, t.epoch, seq, *ct);
  auto sig = detail::ed25519SignWith(p.signer.get(), detail::dataSigningInput(topic, data));
  if (!sig) return std::move(sig).error();
  data.append(*sig);
  p.seq = seq + 1;
  t.messages += 1;
  return data;
}

Result<void> Publisher::handleKeyRequest(std::string_view requestBytes) {
  Impl& p = *impl_;
  auto req = parseKeyRequest(requestBytes);
  if (!req) return p.refuse(std::move(req).error());
  if (!p.certificate.allows(req->topic)) return p.refuse(kit::notAllowed("e2e publisher: not this publisher's topic"));
  const std::int64_t n = p.now();
  auto cert = p.anchor.verify(req->certificate, Role::Subscriber, req->topic, n);
  if (!cert) return p.refuse(kit::prefixed("e2e publisher: key request refused: ", cert.error()));
  auto it = p.topics.find(req->topic);
  if (it != p.topics.end() && it->second.removed.count(cert->id) != 0) {
    return p.refuse(kit::notAllowed("e2e publisher: subscriber " + cert->id + " was removed"));
  }
  if (it == p.topics.end()) it = p.topics.emplace(req->topic, TopicState{}).first;
  TopicState& t = it->second;
  if (!t.live) {
    if (auto b = p.beginEpoch(it->first, t); !b) return std::move(b).error();
  }
  auto known = t.subscribers.find(cert->id);
  if (known != t.subscribers.end()) {
    RememberedSubscriber& sub = known->second;
    // The current epoch's wrap again costs no cryptography (a relay such as the gateway waits for
    // a fresh publication rather than take a retained one): always answered.
    if (sub.certificate == cert->encoded && sub.wrapEpoch == t.epoch && !sub.wrap.empty()) {
      sub.lastAnswer = n;
      p.outgoing.push_back(Outgoing{wrapTopic(it->first, sub.id), sub.wrap, true});
      if (p.dirty) return p.persist();
      return {};
    }
    // A new wrap (another certificate for this id) costs an X25519 key generation and derivation
    // and a signature: at most one per second per id.
    if (sub.lastAnswer != kNever && n - sub.lastAnswer < 1) {
      ++p.refused;
      return kit::makeError(kit::ErrorCode::Conflict, "e2e publisher: key requests of " + cert->id + " rate limited");
    }
  }
  RememberedSubscriber sub;   // wrapped first: a low-order key (HPKE refuses it) is never remembered
  sub.id = cert->id;
  sub.key = cert->key;
  sub.certificate = cert->encoded;
  sub.serial = cert->serial;
  sub.notAfter = cert->notAfter;
  sub.lastAnswer = n;
  if (auto w = p.makeWrap(it->first, t, sub); !w) return p.refuse(kit::prefixed("e2e publisher: key wrap failed: ", w.error()));
  t.nextExpiry = std::min(t.nextExpiry, sub.notAfter);
  t.subscribers[sub.id] = std::move(sub);
  p.dirty = true;
  return p.persist();
}

Result<void> Publisher::removeSubscriber(std::string_view subscriberId) {
  Impl& p = *impl_;
  bool found = false;
  for (auto& [topic, t] : p.topics) {
    auto it = t.subscribers.find(std::string(subscriberId));
    if (it == t.subscribers.end()) continue;
    found = true;
    t.subscribers.erase(it);
    t.removed.insert(std::string(subscriberId));
    if (auto b = p.beginEpoch(topic, t); !b) return b;
  }
  if (!found) return kit::notFound("e2e publisher: no subscriber " + kit::quoteForMessage(subscriberId));
  return p.persist();
}

Result<void> Publisher::updateRevocationList(std::string_view encodedCrl) {
  Impl& p = *impl_;
  if (auto u = p.anchor.updateRevocationList(encodedCrl); !u) return u;
  for (auto& [topic, t] : p.topics) {
    bool any = false;
    for (const auto& [id, sub] : t.subscribers) any = any || p.anchor.isRevoked(sub.serial);
    if (any) {
      if (auto b = p.beginEpoch(topic, t); !b) return b;   // drops the revoked ones
    }
  }
  if (p.dirty) return p.persist();
  return {};
}

Result<void> Publisher::rekey(std::string_view topic) {
  Impl& p = *impl_;
  auto it = p.topics.find(topic);
  if (it == p.topics.end()) return kit::notFound("e2e publisher: unknown topic " + kit::quoteForMessage(topic));
  if (auto b = p.beginEpoch(it->first, it->second); !b) return b;
  return p.persist();
}

std::vector<Outgoing> Publisher::drainOutgoing() {
  std::vector<Outgoing> out;
  out.swap(impl_->outgoing);
  return out;
}

std::uint64_t Publisher::epoch(std::string_view topic) const {
  auto it = impl_->topics.find(topic);
  return it == impl_->topics.end() ? 0 : it->second.epoch;
}

std::uint64_t Publisher::nextSeq() const noexcept { return impl_->seq; }

std::vector<std::string> Publisher::subscribers(std::string_view topic) const {
  std::vector<std::string> ids;
  auto it = impl_->topics.find(topic);
  if (it != impl_->topics.end()) {
    for (const auto& [id, sub] : it->second.subscribers) ids.push_back(id);
  }
  return ids;
}

std::uint64_t Publisher::refusedKeyRequests() const noexcept { return impl_->refused; }

}  // namespace gatehouse::e2e
