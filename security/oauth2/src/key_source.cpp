#include "gatehouse/oauth2/key_source.h"

#include <arpa/inet.h>

#include <Poco/Exception.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/URI.h>

#include <istream>

#include "gatehouse/kit/json.h"

namespace gatehouse::oauth2 {

using kit::Json;

namespace {

constexpr std::size_t kMaxDocumentBytes = 1 << 20;   // discovery document and JWKS (A17)

bool isLoopbackHost(const std::string& host) {
  if (host == "localhost") return true;
  in_addr v4{};
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  std::string bare = host;
  if (bare.size() > 2 && bare.front() == '[' && bare.back() == ']') bare = bare.substr(1, bare.size() - 2);
  return ::inet_pton(AF_INET6, bare.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

// Once per process: POCO's SSL layer needs it before the first TLS session.
void initializeSslOnce() {
  static const bool done = [] {
    Poco::Net::initializeSSL();
    return true;
  }();
  (void)done;
}

HttpAnswer pocoRequest(const KeySourceOptions& options, Poco::Net::Context::Ptr context, const std::string& url,
                       const std::string* form, const std::string& authorization, std::size_t maxBytes) {
  HttpAnswer answer;
  if (std::string why = checkFetchUrl(url, options); !why.empty()) {
    answer.error = why;
    return answer;
  }
  try {
    const Poco::URI uri(url);
    std::unique_ptr<Poco::Net::HTTPClientSession> session;
    if (uri.getScheme() == "https") {
      session = std::make_unique<Poco::Net::HTTPSClientSession>(uri.getHost(), uri.getPort(), context);
    } else {
      session = std::make_unique<Poco::Net::HTTPClientSession>(uri.getHost(), uri.getPort());
    }
    session->setTimeout(Poco::Timespan(static_cast<Poco::Timespan::TimeDiff>(options.httpTimeout.count()) * 1000));
    Poco::Net::HTTPRequest request(form != nullptr ? Poco::Net::HTTPRequest::HTTP_POST : Poco::Net::HTTPRequest::HTTP_GET,
                                   uri.getPathEtc().empty() ? "/" : uri.getPathEtc(), Poco::Net::HTTPMessage::HTTP_1_1);
    request.set("Accept", "application/json");
    if (!authorization.empty()) request.set("Authorization", authorization);
    if (form != nullptr) {
      request.setContentType("application/x-www-form-urlencoded");
      request.setContentLength64(static_cast<Poco::Int64>(form->size()));
      session->sendRequest(request) << *form;
    } else {
      session->sendRequest(request);
    }
    Poco::Net::HTTPResponse response;
    std::istream& in = session->receiveResponse(response);
    answer.status = static_cast<int>(response.getStatus());
    if (answer.status >= 300 && answer.status < 400) {
      answer.error = "the IdP answered with a redirect (" + std::to_string(answer.status) + "), which is never followed";
      return answer;
    }
    if (response.hasContentLength() && response.getContentLength64() > static_cast<Poco::Int64>(maxBytes)) {
      answer.error = "the document is larger than " + std::to_string(maxBytes) + " bytes";
      return answer;
    }
    char buffer[16384];
    while (in.read(buffer, sizeof(buffer)) || in.gcount() > 0) {
      answer.body.append(buffer, static_cast<std::size_t>(in.gcount()));
      if (answer.body.size() > maxBytes) {
        answer.body.clear();
        answer.error = "the document is larger than " + std::to_string(maxBytes) + " bytes";
        return answer;
      }
    }
  } catch (const Poco::Exception& e) {
    answer.status = 0;
    answer.body.clear();
    answer.error = e.displayText();
  } catch (const std::exception& e) {
    answer.status = 0;
    answer.body.clear();
    answer.error = e.what();
  }
  return answer;
}

// GET with status and size checks; "" and the body, or why not.
std::string fetchText(const HttpGet& get, const std::string& url, const char* what, std::string& body) {
  HttpAnswer a = get(url, kMaxDocumentBytes);
  if (!a.error.empty()) return std::string("cannot fetch the ") + what + " from " + url + ": " + a.error;
  if (a.status != 200) {
    return std::string("cannot fetch the ") + what + " from " + url + ": HTTP status " + std::to_string(a.status);
  }
  if (a.body.size() > kMaxDocumentBytes) return std::string("the ") + what + " at " + url + " is larger than 1 MiB";
  body = std::move(a.body);
  return {};
}

// fetchText + strict JSON object.
std::string fetchJson(const HttpGet& get, const std::string& url, const char* what, Json& out) {
  std::string body;
  if (std::string e = fetchText(get, url, what, body); !e.empty()) return e;
  auto parsed = kit::parseJson(body, kit::JsonLimits{kMaxDocumentBytes, 16});
  if (!parsed) return std::string("the ") + what + " at " + url + " is not valid JSON: " + parsed.message();
  if (!parsed->isObject()) return std::string("the ") + what + " at " + url + " is not a JSON object";
  out = std::move(*parsed);
  return {};
}

}  // namespace

std::string checkFetchUrl(const std::string& url, const KeySourceOptions& options) {
  try {
    const Poco::URI uri(url);
    if (uri.getHost().empty()) return "the URL " + url + " has no host";
    if (uri.getScheme() == "https") return {};
    if (uri.getScheme() == "http") {
      if (options.allowInsecureLoopback && isLoopbackHost(uri.getHost())) return {};
      return "the URL " + url + " is plain http; only https is allowed (plain http only to a loopback IdP with "
             "allow_insecure_loopback)";
    }
    return "the URL " + url + " is neither https nor http";
  } catch (const Poco::Exception& e) {
    return "the URL " + url + " is not valid: " + e.displayText();
  }
}

HttpGet makeHttpGet(const KeySourceOptions& options) {
  initializeSslOnce();
  // Strict verification of the IdP's certificate chain and name; our CA file, or the system's.
  Poco::Net::Context::Ptr context =
      new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, "", "", options.caFile, Poco::Net::Context::VERIFY_STRICT,
                             9, options.caFile.empty());
  return [options, context](const std::string& url, std::size_t maxBytes) {
    return pocoRequest(options, context, url, nullptr, std::string(), maxBytes);
  };
}

HttpPost makeHttpPost(const KeySourceOptions& options) {
  initializeSslOnce();
  Poco::Net::Context::Ptr context =
      new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, "", "", options.caFile, Poco::Net::Context::VERIFY_STRICT,
                             9, options.caFile.empty());
  return [options, context](const std::string& url, const std::string& form, const std::string& authorization,
                            std::size_t maxBytes) {
    return pocoRequest(options, context, url, &form, authorization, maxBytes);
  };
}

std::string KeySource::introspectionEndpoint() const {
  std::lock_guard lock(mu_);
  return introspectionEndpoint_;
}

KeySource::KeySource(KeySourceOptions options, HttpGet get) : options_(std::move(options)), get_(std::move(get)) {}

std::string KeySource::start() {
  std::unique_lock lock(mu_);
  while (fetching_) fetched_.wait(lock);
  return fetchLocked(lock);
}

std::shared_ptr<const KeySet> KeySource::current() const {
  std::lock_guard lock(mu_);
  if (!keys_ || Clock::now() - keysFetchedAt_ > options_.staleKeysMaxAge) return nullptr;
  return keys_;
}

std::shared_ptr<const KeySet> KeySource::refreshForUnknownKid() {
  {
    std::unique_lock lock(mu_);
    if (fetching_) {
      // Single flight: share the running fetch's result.
      while (fetching_) fetched_.wait(lock);
    } else if (!attempted_ || Clock::now() - lastAttempt_ >= options_.refreshCooldown) {
      (void)fetchLocked(lock);
    }
  }
  return current();
}

KeySource::Stats KeySource::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

std::string KeySource::discover() {
  std::string base = options_.issuer;
  while (!base.empty() && base.back() == '/') base.pop_back();
  const std::string url = base + "/.well-known/openid-configuration";
  Json doc;
  if (std::string e = fetchJson(get_, url, "discovery document", doc); !e.empty()) return e;
  const Json* issuer = doc.find("issuer");
  if (issuer == nullptr || issuer->kind != Json::Kind::String || issuer->text != options_.issuer) {
    return "the discovery document at " + url + " names another issuer than the configured '" + options_.issuer +
           "' (they must be equal, character for character)";
  }
  const Json* jwks = doc.find("jwks_uri");
  if (jwks == nullptr || jwks->kind != Json::Kind::String || jwks->text.empty()) {
    return "the discovery document at " + url + " has no jwks_uri";
  }
  if (std::string why = checkFetchUrl(jwks->text, options_); !why.empty()) return "jwks_uri refused: " + why;
  jwksUri_ = jwks->text;
  const Json* introspection = doc.find("introspection_endpoint");
  if (introspection != nullptr && introspection->kind == Json::Kind::String &&
      checkFetchUrl(introspection->text, options_).empty()) {
    std::lock_guard lock(mu_);
    introspectionEndpoint_ = introspection->text;
  }
  return {};
}

std::string KeySource::fetchLocked(std::unique_lock<std::mutex>& lock) {
  fetching_ = true;
  attempted_ = true;
  lastAttempt_ = Clock::now();
  ++stats_.fetches;
  const bool needDiscovery = jwksUri_.empty();
  lock.unlock();

  std::string error;
  std::shared_ptr<const KeySet> fresh;
  if (needDiscovery) error = discover();
  if (error.empty()) {
    std::string body;
    error = fetchText(get_, jwksUri_, "JWKS", body);
    if (error.empty()) {
      KeySetResult parsed = KeySet::parse(body, options_.allowedAlgs);
      if (parsed.keys) {
        fresh = std::move(parsed.keys);
      } else {
        error = "the JWKS at " + jwksUri_ + " is not usable: " + parsed.error;
      }
    }
  }

  lock.lock();
  if (fresh) {
    keys_ = std::move(fresh);
    keysFetchedAt_ = Clock::now();
  } else {
    ++stats_.failures;
    stats_.lastError = error;
  }
  fetching_ = false;
  fetched_.notify_all();
  return error;
}

}  // namespace gatehouse::oauth2
