// `gatehouse e2e ...`: the enrolment authority, key generation, a publishing device simulator and
// a subscriber, over docs/e2e-protocol.md (security/e2e). Runs on the main thread of a short-lived
// process; MQTT through the kit's client (its handler thread only queues what arrives).

#include "e2e_cli.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <deque>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/URI.h>

#include "cli_options.h"
#include "gatehouse/e2e/e2e.h"
#include "gatehouse/e2e/hpke.h"
#include "gatehouse/kit/codec.h"
#include "gatehouse/kit/json.h"
#include "gatehouse/kit/json_write.h"
#include "gatehouse/kit/mqtt_client.h"

namespace gatehouse::app {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr const char* kUsage =
    "Usage (docs/e2e-protocol.md; every key, certificate and list file holds raw binary bytes):\n"
    "  gatehouse e2e authority init --dir DIR\n"
    "      make the enrolment authority: DIR/authority.key (Ed25519, mode 0600; keep it offline,\n"
    "      never on the gateway), DIR/authority.pub (give it to publishers and subscribers),\n"
    "      DIR/crl.bin (an empty signed revocation list), DIR/serial\n"
    "  gatehouse e2e authority enroll --dir DIR --role subscriber|publisher --id ID --key FILE.pub\n"
    "                                 --topic FILTER [--topic FILTER ...] [--days N] --out FILE.cert\n"
    "      certify a subscriber's X25519 key or a publisher's Ed25519 key for topic filters (default 365 days)\n"
    "  gatehouse e2e authority revoke --dir DIR (--serial N | --cert FILE.cert)\n"
    "      add a certificate to DIR/crl.bin (hand the new list to the publishers)\n"
    "  gatehouse e2e keygen --type x25519|ed25519 --out PREFIX\n"
    "      PREFIX.key (mode 0600) and PREFIX.pub: x25519 for a subscriber, ed25519 for a publisher\n"
    "  gatehouse e2e publish --topic T --key FILE.key --cert FILE.cert --authority authority.pub --state FILE\n"
    "                        [--broker tcp://127.0.0.1:1883] [--crl FILE] [--count N] [--interval-ms MS]\n"
    "                        [--value-prefix TEXT] [--wait-subscribers N] [--linger-s S]\n"
    "      a device simulator: answers key requests on T/_e2e/req with wraps on T/_e2e/wrap/<id> and\n"
    "      publishes N data messages {\"value\":\"TEXT-<i>\"} on T (N = 0: until interrupted)\n"
    "  gatehouse e2e subscribe --topic T --key FILE.key --cert FILE.cert --authority authority.pub\n"
    "                          [--broker tcp://127.0.0.1:1883] [--data-topic X] [--north]\n"
    "                          [--gateway URL --provider P [--token TOKEN] [--rest SERVICE/RESOURCE]]\n"
    "                          [--count N] [--timeout-s S]\n"
    "      requests the key (on the broker, or through the gateway's e2e/keyRequest ACT with\n"
    "      --gateway), opens data and prints one plaintext per line. --data-topic: where data arrives\n"
    "      (default T); --north: its payloads are the gateway's northbound JSON (value in base64);\n"
    "      --rest: read the values from the gateway's REST API instead of MQTT.\n"
    "Exit codes: 0 ok, 1 failure (or timeout), 2 usage.\n";

int usage(const std::string& problem) {
  if (!problem.empty()) std::fprintf(stderr, "gatehouse e2e: %s\n\n", problem.c_str());
  std::fputs(kUsage, problem.empty() ? stdout : stderr);
  return problem.empty() ? 0 : 2;
}

int fail(const std::string& message) {
  std::fprintf(stderr, "gatehouse e2e: %s\n", message.c_str());
  return 1;
}

std::int64_t nowSeconds() { return static_cast<std::int64_t>(std::time(nullptr)); }

// Writes `bytes` to a new file (never overwrites) with `mode`.
kit::Result<void> writeNew(const std::string& path, std::string_view bytes, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return kit::badRequest(path + ": cannot create: " + std::strerror(errno));
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const std::string why = std::strerror(errno);
      ::close(fd);
      return kit::internal(path + ": write failed: " + why);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) return kit::internal(path + ": write failed: " + std::strerror(errno));
  return {};
}

// Replaces `path` atomically (temporary file, fsync, rename).
kit::Result<void> replaceFile(const std::string& path, std::string_view bytes, mode_t mode) {
  const std::string tmp = path + ".tmp";
  ::unlink(tmp.c_str());
  if (auto ok = writeNew(tmp, bytes, mode); !ok) return ok;
  if (::rename(tmp.c_str(), path.c_str()) != 0) return kit::internal(path + ": rename failed: " + std::strerror(errno));
  return {};
}

kit::Result<std::string> readFile(const std::string& path, std::size_t maxBytes = 1 << 20) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec) return kit::badRequest(path + ": cannot open: " + ec.message());
  if (size > maxBytes) return kit::badRequest(path + ": larger than " + std::to_string(maxBytes) + " bytes");
  std::string error;
  auto bytes = readWhole(path, error);
  if (!bytes) return kit::badRequest(error);
  return std::move(*bytes);
}

kit::Result<std::string> readKey(const std::string& path) {
  auto bytes = readFile(path, 1024);
  if (!bytes) return bytes.error();
  if (bytes->size() != 32) return kit::badRequest(path + ": expected a raw 32-byte key, found " + std::to_string(bytes->size()) + " bytes");
  return bytes;
}

// --- authority -----------------------------------------------------------------------------------

struct Authority {
  e2e::KeyPair key;
  std::string dir;
};

kit::Result<Authority> loadAuthority(const std::string& dir) {
  auto sk = readKey(dir + "/authority.key");
  if (!sk) return sk.error();
  auto pair = e2e::ed25519FromPrivate(*sk);
  e2e::hpke::wipe(*sk);
  if (!pair) return pair.error();
  return Authority{std::move(*pair), dir};
}

int authorityInit(const Options& o) {
  if (!o.has("dir")) return usage("authority init needs --dir DIR");
  const std::string dir = o.get("dir");
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return fail(dir + ": " + ec.message());
  ::chmod(dir.c_str(), 0700);
  if (fs::exists(dir + "/authority.key")) return fail(dir + "/authority.key exists: refusing to replace an authority");
  auto key = e2e::generateEd25519();
  if (!key) return fail(key.error().message);
  auto crl = e2e::issueRevocationList(*key, nowSeconds(), {});
  if (!crl) return fail(crl.error().message);
  for (auto r : {writeNew(dir + "/authority.key", key->privateKey, 0600), writeNew(dir + "/authority.pub", key->publicKey, 0644),
                 writeNew(dir + "/crl.bin", crl->encoded, 0644), writeNew(dir + "/serial", "1\n", 0600)}) {
    if (!r) return fail(r.error().message);
  }
  std::printf("authority %s created in %s (key id %s)\n  keep authority.key offline; give authority.pub to publishers and subscribers\n",
              kit::hexEncode(e2e::authorityKeyId(key->publicKey)).c_str(), dir.c_str(),
              kit::hexEncode(e2e::authorityKeyId(key->publicKey)).c_str());
  return 0;
}

kit::Result<std::uint64_t> takeSerial(const std::string& dir) {
  auto text = readFile(dir + "/serial", 64);
  if (!text) return text.error();
  std::uint64_t serial = 0;
  try {
    serial = std::stoull(*text);
  } catch (const std::exception&) {
    return kit::badRequest(dir + "/serial: not a number");
  }
  if (serial == 0) return kit::badRequest(dir + "/serial: must be at least 1");
  if (auto ok = replaceFile(dir + "/serial", std::to_string(serial + 1) + "\n", 0600); !ok) return ok.error();
  return serial;
}

int authorityEnroll(const Options& o) {
  if (!o.has("dir") || !o.has("role") || !o.has("id") || !o.has("key") || !o.has("out") || o.all("topic").empty())
    return usage("authority enroll needs --dir, --role, --id, --key, --out and at least one --topic");
  e2e::Certificate draft;
  const std::string role = o.get("role");
  if (role == "subscriber") draft.role = e2e::Role::Subscriber;
  else if (role == "publisher") draft.role = e2e::Role::Publisher;
  else return usage("--role must be subscriber or publisher");
  long days = 365;
  try {
    days = std::stol(o.get("days", "365"));
  } catch (const std::exception&) {
    return usage("--days must be a number");
  }
  if (days < 1 || days > 3650) return usage("--days must be between 1 and 3650");
  auto authority = loadAuthority(o.get("dir"));
  if (!authority) return fail(authority.error().message);
  auto key = readKey(o.get("key"));
  if (!key) return fail(key.error().message);
  auto serial = takeSerial(o.get("dir"));
  if (!serial) return fail(serial.error().message);
  draft.serial = *serial;
  draft.id = o.get("id");
  draft.key = *key;
  draft.notBefore = nowSeconds() - 60;
  draft.notAfter = nowSeconds() + days * 86400;
  draft.topics = o.all("topic");
  auto cert = e2e::issueCertificate(authority->key, std::move(draft));
  if (!cert) return fail(cert.error().message);
  if (auto ok = writeNew(o.get("out"), cert->encoded, 0644); !ok) return fail(ok.error().message);
  std::printf("certificate serial %llu for %s %s written to %s\n", static_cast<unsigned long long>(cert->serial),
              role.c_str(), cert->id.c_str(), o.get("out").c_str());
  return 0;
}

int authorityRevoke(const Options& o) {
  if (!o.has("dir") || (o.has("serial") == o.has("cert"))) return usage("authority revoke needs --dir and one of --serial, --cert");
  std::uint64_t serial = 0;
  if (o.has("cert")) {
    auto bytes = readFile(o.get("cert"), e2e::kMaxCertificateBytes);
    if (!bytes) return fail(bytes.error().message);
    auto cert = e2e::parseCertificate(*bytes);
    if (!cert) return fail(o.get("cert") + ": " + cert.error().message);
    serial = cert->serial;
  } else {
    try {
      serial = std::stoull(o.get("serial"));
    } catch (const std::exception&) {
      return usage("--serial must be a number");
    }
  }
  auto authority = loadAuthority(o.get("dir"));
  if (!authority) return fail(authority.error().message);
  const std::string path = o.get("dir") + "/crl.bin";
  auto old = readFile(path, 1 << 21);
  if (!old) return fail(old.error().message);
  auto list = e2e::parseRevocationList(*old);
  if (!list) return fail(path + ": " + list.error().message);
  auto serials = list->serials;
  serials.insert(serial);
  auto crl = e2e::issueRevocationList(authority->key, std::max(nowSeconds(), list->issuedAt + 1), serials);
  if (!crl) return fail(crl.error().message);
  if (auto ok = replaceFile(path, crl->encoded, 0644); !ok) return fail(ok.error().message);
  std::printf("serial %llu revoked; %s lists %zu serials: give it to the publishers (publish --crl)\n",
              static_cast<unsigned long long>(serial), path.c_str(), crl->serials.size());
  return 0;
}

int keygen(const Options& o) {
  if (!o.has("type") || !o.has("out")) return usage("keygen needs --type x25519|ed25519 and --out PREFIX");
  const std::string type = o.get("type");
  kit::Result<e2e::KeyPair> key = kit::badRequest("");
  if (type == "x25519") key = e2e::generateX25519();
  else if (type == "ed25519") key = e2e::generateEd25519();
  else return usage("--type must be x25519 or ed25519");
  if (!key) return fail(key.error().message);
  const std::string prefix = o.get("out");
  if (auto ok = writeNew(prefix + ".key", key->privateKey, 0600); !ok) return fail(ok.error().message);
  if (auto ok = writeNew(prefix + ".pub", key->publicKey, 0644); !ok) return fail(ok.error().message);
  std::printf("%s key pair: %s.key (private, keep it secret) and %s.pub (fingerprint %s)\n", type.c_str(), prefix.c_str(),
              prefix.c_str(), kit::hexEncode(e2e::fingerprint(key->publicKey)).c_str());
  return 0;
}

// --- MQTT ----------------------------------------------------------------------------------------

// Messages received on the kit client's thread, handed to the main thread.
class Inbox {
 public:
  void push(kit::MqttMessage m) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.push_back(std::move(m));
    }
    cv_.notify_one();
  }
  void setConnected(bool up, const std::string& reason) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      connected_ = up;
      reason_ = reason;
      ++connections_;
    }
    cv_.notify_one();
  }
  // Waits until a message arrives or `until`; nullopt on timeout.
  std::optional<kit::MqttMessage> pop(Clock::time_point until) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_until(lock, until, [&] { return !queue_.empty(); });
    if (queue_.empty()) return std::nullopt;
    auto m = std::move(queue_.front());
    queue_.pop_front();
    return m;
  }
  bool waitConnected(Clock::time_point until) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_until(lock, until, [&] { return connected_; });
  }
  std::string reason() {
    std::lock_guard<std::mutex> lock(mu_);
    return reason_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<kit::MqttMessage> queue_;
  bool connected_ = false;
  int connections_ = 0;
  std::string reason_;
};

std::string clientIdFor(const std::string& role) {
  return "gh-e2e-" + role + "-" + std::to_string(::getpid());
}

kit::Result<void> connect(kit::MqttClient& client, Inbox& inbox, const std::string& broker, const std::string& role,
                          const std::vector<kit::MqttSubscription>& subs) {
  kit::MqttOptions options;
  options.serverUris = {broker};
  options.clientId = clientIdFor(role);
  options.cleanStart = true;
  options.sessionExpiryS = 0;
  auto started = client.start(
      options, [&inbox](const kit::MqttMessage& m) { inbox.push(m); },
      [&inbox, &client, subs](bool up, const std::string& reason) {
        if (up && !subs.empty()) client.subscribe(subs);
        inbox.setConnected(up, reason);
      });
  if (!started) return started;
  if (!inbox.waitConnected(Clock::now() + std::chrono::seconds(10)))
    return kit::unavailable("cannot connect to " + broker + ": " + inbox.reason());
  // The subscription request was sent from the connection handler; give the broker a moment to
  // take it before anything that depends on it is published.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  return {};
}

int publish(const Options& o) {
  for (const char* k : {"topic", "key", "cert", "authority", "state"})
    if (!o.has(k)) return usage(std::string("publish needs --") + k);
  const std::string topic = o.get("topic");
  long count = 0, intervalMs = 1000, waitSubscribers = 0, lingerS = 0;
  try {
    count = std::stol(o.get("count", "0"));
    intervalMs = std::stol(o.get("interval-ms", "1000"));
    waitSubscribers = std::stol(o.get("wait-subscribers", "0"));
    lingerS = std::stol(o.get("linger-s", "0"));
  } catch (const std::exception&) {
    return usage("--count, --interval-ms, --wait-subscribers and --linger-s take numbers");
  }
  if (count < 0 || intervalMs < 0 || waitSubscribers < 0 || lingerS < 0) return usage("numbers must not be negative");
  auto sk = readKey(o.get("key"));
  if (!sk) return fail(sk.error().message);
  auto signing = e2e::ed25519FromPrivate(*sk);
  e2e::hpke::wipe(*sk);
  if (!signing) return fail(signing.error().message);
  auto cert = readFile(o.get("cert"), e2e::kMaxCertificateBytes);
  if (!cert) return fail(cert.error().message);
  auto authorityKey = readKey(o.get("authority"));
  if (!authorityKey) return fail(authorityKey.error().message);
  e2e::TrustAnchor anchor(*authorityKey);
  if (o.has("crl")) {
    auto crl = readFile(o.get("crl"), 1 << 21);
    if (!crl) return fail(crl.error().message);
    if (auto ok = anchor.updateRevocationList(*crl); !ok) return fail(o.get("crl") + ": " + ok.error().message);
  }
  e2e::PublisherOptions options;
  options.stateFile = o.get("state");
  auto publisher = e2e::Publisher::open(std::move(*signing), std::move(*cert), std::move(anchor), options);
  if (!publisher) return fail(publisher.error().message);
  auto& pub = **publisher;

  kit::MqttClient client;
  Inbox inbox;
  const std::string broker = o.get("broker", "tcp://127.0.0.1:1883");
  if (auto ok = connect(client, inbox, broker, "pub", {{e2e::requestTopic(topic), 1}}); !ok) return fail(ok.error().message);
  std::fprintf(stderr, "publisher %s on %s: epoch %llu, answering key requests on %s\n", pub.id().c_str(), topic.c_str(),
               static_cast<unsigned long long>(pub.epoch(topic)), e2e::requestTopic(topic).c_str());

  auto flush = [&] {
    for (auto& out : pub.drainOutgoing()) client.publish(kit::MqttMessage(out.topic, out.payload, 1, out.retain));
  };
  auto handle = [&](const kit::MqttMessage& m) {
    if (m.topic != e2e::requestTopic(topic)) return;
    if (auto ok = pub.handleKeyRequest(m.payload); !ok) {
      std::fprintf(stderr, "key request refused: %s\n", ok.error().message.c_str());
      return;
    }
    flush();
  };
  flush();
  const auto waitUntil = Clock::now() + std::chrono::seconds(60);
  while (static_cast<long>(pub.subscribers(topic).size()) < waitSubscribers) {
    auto m = inbox.pop(waitUntil);
    if (!m) return fail("timed out waiting for " + std::to_string(waitSubscribers) + " subscribers");
    handle(*m);
  }
  for (long i = 1; count == 0 || i <= count; ++i) {
    std::string plaintext = "{\"value\":";
    kit::json::appendString(plaintext, o.get("value-prefix", "value") + "-" + std::to_string(i));
    plaintext += "}";
    auto sealed = pub.seal(topic, plaintext);
    if (!sealed) return fail(sealed.error().message);
    flush();   // a rekey before this message queued its wraps
    if (auto ok = client.publish(kit::MqttMessage(topic, *sealed, 1), {}, std::chrono::milliseconds(5000)); !ok)
      return fail("publish failed: " + ok.error().message);
    const auto next = Clock::now() + std::chrono::milliseconds(intervalMs);
    while (auto m = inbox.pop(next)) handle(*m);
  }
  const auto lingerUntil = Clock::now() + std::chrono::seconds(lingerS);
  while (Clock::now() < lingerUntil) {
    if (auto m = inbox.pop(lingerUntil)) handle(*m);
  }
  client.close();
  std::fprintf(stderr, "published %ld messages, next sequence number %llu\n", count,
               static_cast<unsigned long long>(pub.nextSeq()));
  return 0;
}

// --- subscriber ----------------------------------------------------------------------------------

struct Gateway {
  std::string url, provider, token;
};

// POST/GET on the gateway; the body of a 2xx answer, else an error with the status and body.
kit::Result<std::string> http(const Gateway& gw, const std::string& method, const std::string& path, const std::string& body) {
  try {
    Poco::URI uri(gw.url);
    Poco::Net::HTTPClientSession session(uri.getHost(), uri.getPort());
    session.setTimeout(Poco::Timespan(15, 0));
    Poco::Net::HTTPRequest request(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
    if (!gw.token.empty()) request.set("Authorization", "Bearer " + gw.token);
    if (!body.empty()) {
      request.setContentType("application/json");
      request.setContentLength(static_cast<std::streamsize>(body.size()));
    }
    session.sendRequest(request) << body;
    Poco::Net::HTTPResponse response;
    std::istream& in = session.receiveResponse(response);
    std::string answer((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (response.getStatus() / 100 != 2)
      return kit::unavailable(method + " " + path + ": HTTP " + std::to_string(response.getStatus()) + " " + answer.substr(0, 300));
    return answer;
  } catch (const std::exception& e) {
    return kit::unavailable(method + " " + path + ": " + e.what());
  }
}

// The base64 text at response.<field> of a sensiNact answer, decoded.
kit::Result<std::string> bytesAt(const std::string& answer, const char* field) {
  auto doc = kit::parseJson(answer, {1 << 22, 32});
  if (!doc) return doc.error();
  const kit::Json* response = doc->find("response");
  const kit::Json* value = response ? response->find(field) : nullptr;
  if (!value || !value->isString()) return kit::badRequest(std::string("the answer has no response.") + field + " string");
  return kit::base64Decode(value->text);
}

int subscribe(const Options& o) {
  for (const char* k : {"topic", "key", "cert", "authority"})
    if (!o.has(k)) return usage(std::string("subscribe needs --") + k);
  const std::string topic = o.get("topic");
  long count = 1, timeoutS = 30;
  try {
    count = std::stol(o.get("count", "1"));
    timeoutS = std::stol(o.get("timeout-s", "30"));
  } catch (const std::exception&) {
    return usage("--count and --timeout-s take numbers");
  }
  if (count < 1 || timeoutS < 1) return usage("--count and --timeout-s must be at least 1");
  Gateway gw{o.get("gateway"), o.get("provider"), o.get("token")};
  if (!gw.url.empty() && gw.provider.empty()) return usage("--gateway needs --provider");
  if (o.has("rest") && gw.url.empty()) return usage("--rest needs --gateway");
  const std::string restResource = o.get("rest");
  if (o.has("rest") && restResource.find('/') == std::string::npos) return usage("--rest takes SERVICE/RESOURCE");

  auto sk = readKey(o.get("key"));
  if (!sk) return fail(sk.error().message);
  auto key = e2e::x25519FromPrivate(*sk);
  e2e::hpke::wipe(*sk);
  if (!key) return fail(key.error().message);
  auto cert = readFile(o.get("cert"), e2e::kMaxCertificateBytes);
  if (!cert) return fail(cert.error().message);
  auto authorityKey = readKey(o.get("authority"));
  if (!authorityKey) return fail(authorityKey.error().message);
  e2e::Subscriber sub(std::move(*key), std::move(*cert), e2e::TrustAnchor(*authorityKey));

  const std::string dataTopic = o.get("data-topic", topic);
  const bool north = o.flag("north");
  kit::MqttClient client;
  Inbox inbox;
  const bool useMqtt = !o.has("rest");
  if (useMqtt || gw.url.empty()) {
    std::vector<kit::MqttSubscription> subs{{dataTopic, 1}};
    if (gw.url.empty()) subs.push_back({e2e::wrapTopic(topic, sub.id()), 1});
    if (auto ok = connect(client, inbox, o.get("broker", "tcp://127.0.0.1:1883"), "sub", subs); !ok) return fail(ok.error().message);
  }

  const auto deadline = Clock::now() + std::chrono::seconds(timeoutS);
  Clock::time_point lastRequest{};
  // Sends a key request (at most one per second): on the broker, or through the gateway's ACT,
  // whose answer is the wrap.
  auto requestKey = [&](bool force = false) -> bool {
    if (!force && Clock::now() - lastRequest < std::chrono::seconds(1)) return true;
    lastRequest = Clock::now();
    const std::string request = sub.keyRequest(topic);
    if (gw.url.empty()) {
      client.publish(kit::MqttMessage(e2e::requestTopic(topic), request, 1));
      return true;
    }
    std::string body = "{\"topic\":";
    kit::json::appendString(body, topic);
    body += ",\"request\":";
    kit::json::appendString(body, kit::base64Encode(request));
    body += "}";
    auto answer = http(gw, "POST", "/sensinact/providers/" + gw.provider + "/services/e2e/resources/keyRequest/ACT", body);
    if (!answer) {
      std::fprintf(stderr, "key request through the gateway failed: %s\n", answer.error().message.c_str());
      return true;   // retried later
    }
    auto wrap = bytesAt(*answer, "result");
    if (!wrap) {
      std::fprintf(stderr, "key request through the gateway: %s\n", wrap.error().message.c_str());
      return true;
    }
    if (auto ok = sub.handleKeyWrap(*wrap); !ok) std::fprintf(stderr, "wrap refused: %s\n", ok.error().message.c_str());
    return true;
  };
  requestKey(true);

  long opened = 0;
  std::string lastRestValue;
  auto openOne = [&](const std::string& envelope) {
    auto result = sub.open(topic, envelope);
    if (result.dropped == e2e::Drop::None) {
      std::printf("%s\n", result.plaintext.c_str());
      std::fflush(stdout);
      ++opened;
      return;
    }
    if (result.dropped == e2e::Drop::NoKey) {
      requestKey(!gw.url.empty());
      // Through the gateway the answer is the wrap itself: try this message again.
      if (!gw.url.empty()) result = sub.open(topic, envelope);
      if (result.dropped == e2e::Drop::None) {
        std::printf("%s\n", result.plaintext.c_str());
        std::fflush(stdout);
        ++opened;
      }
      if (result.dropped == e2e::Drop::NoKey) return;
    }
    if (result.dropped == e2e::Drop::None) return;
    std::fprintf(stderr, "dropped (%s): %s\n", std::string(e2e::toString(result.dropped)).c_str(), result.detail.c_str());
  };

  while (opened < count && Clock::now() < deadline) {
    if (!useMqtt) {
      // The resource's current value from REST, opened when it changed.
      const auto slash = restResource.find('/');
      auto answer = http(gw, "GET", "/sensinact/providers/" + gw.provider + "/services/" + restResource.substr(0, slash) +
                                        "/resources/" + restResource.substr(slash + 1) + "/GET", "");
      if (answer) {
        auto envelope = bytesAt(*answer, "value");
        if (envelope && *envelope != lastRestValue) {
          lastRestValue = *envelope;
          openOne(*envelope);
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      continue;
    }
    auto m = inbox.pop(std::min(deadline, Clock::now() + std::chrono::seconds(1)));
    if (!m) {
      if (sub.dropCounts().empty() && opened == 0) requestKey();
      continue;
    }
    if (m->topic == dataTopic || (dataTopic.find_first_of("+#") != std::string::npos && m->topic.find("/_e2e/") == std::string::npos)) {
      if (!north) {
        openOne(m->payload);
        continue;
      }
      auto doc = kit::parseJson(m->payload, {1 << 22, 32});
      const kit::Json* value = doc ? doc->find("value") : nullptr;
      if (!value || !value->isString()) {
        std::fprintf(stderr, "dropped: a northbound message on %s without a base64 value\n", m->topic.c_str());
        continue;
      }
      auto envelope = kit::base64Decode(value->text);
      if (!envelope) {
        std::fprintf(stderr, "dropped: %s\n", envelope.error().message.c_str());
        continue;
      }
      openOne(*envelope);
    } else if (auto ok = sub.handleKeyWrap(m->payload); !ok) {
      std::fprintf(stderr, "wrap refused: %s\n", ok.error().message.c_str());
    }
  }
  if (useMqtt || gw.url.empty()) client.close();
  if (opened < count) return fail("timed out after " + std::to_string(timeoutS) + " s with " + std::to_string(opened) + " of " +
                                  std::to_string(count) + " messages");
  return 0;
}

}  // namespace

int e2eCommand(const std::vector<std::string_view>& args) {
  if (args.size() < 2 || args[1] == "--help" || args[1] == "-h" || args[1] == "help") return usage(args.size() < 2 ? "no subcommand" : "");
  const std::string_view sub = args[1];
  if (sub == "authority") {
    if (args.size() < 3) return usage("authority needs init, enroll or revoke");
    const std::string_view what = args[2];
    Options o;
    if (what == "init") o = parseOptions(args, 3, {"dir"}, {});
    else if (what == "enroll") o = parseOptions(args, 3, {"dir", "role", "id", "key", "days", "out"}, {}, {"topic"});
    else if (what == "revoke") o = parseOptions(args, 3, {"dir", "serial", "cert"}, {});
    else return usage("unknown authority command: " + std::string(what));
    if (!o.error.empty()) return usage(o.error);
    if (!o.positional.empty()) return usage("unexpected argument " + o.positional[0]);
    if (what == "init") return authorityInit(o);
    if (what == "enroll") return authorityEnroll(o);
    return authorityRevoke(o);
  }
  Options o;
  if (sub == "keygen") o = parseOptions(args, 2, {"type", "out"}, {});
  else if (sub == "publish")
    o = parseOptions(args, 2, {"broker", "topic", "key", "cert", "authority", "state", "crl", "count", "interval-ms", "value-prefix",
                               "wait-subscribers", "linger-s"}, {});
  else if (sub == "subscribe")
    o = parseOptions(args, 2, {"broker", "topic", "key", "cert", "authority", "data-topic", "gateway", "provider", "token", "rest",
                               "count", "timeout-s"}, {"north"});
  else return usage("unknown command: " + std::string(sub));
  if (!o.error.empty()) return usage(o.error);
  if (!o.positional.empty()) return usage("unexpected argument " + o.positional[0]);
  if (sub == "keygen") return keygen(o);
  if (sub == "publish") return publish(o);
  return subscribe(o);
}

}  // namespace gatehouse::app
