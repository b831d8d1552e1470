// RestApi with an AccessPolicy (docs/security.md, SECURITY-CHECKLIST A16) over a real
// in-process HTTP server. The policy here is a FAKE that maps fixed tokens to fixed permission
// sets: token validation is the security part's business and is tested there; this file checks
// that the REST layer asks the policy at the right places and obeys its answers.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>

#include "http/server.h"
#include "model/model.h"
#include "rest/access.h"
#include "rest/rest_api.h"

using namespace gatehouse::core;
using rest::AccessVerb;

namespace {

using Rule = std::function<bool(AccessVerb, std::string_view p, std::string_view s, std::string_view r)>;

struct Profile {
  Rule rule;
  bool admin = false;
};

// Token -> caller. Caller::context points at the Profile, the way a real policy keeps its roles.
class FakePolicy : public rest::AccessPolicy {
 public:
  void addToken(const std::string& token, Profile profile, std::int64_t expiresUnix = 0) {
    std::lock_guard lock(mu_);
    tokens_[token] = {std::make_shared<const Profile>(std::move(profile)), expiresUnix};
  }
  void refuse(const std::string& token, std::string error) {
    std::lock_guard lock(mu_);
    refused_[token] = std::move(error);
  }

  rest::AuthOutcome authenticate(std::string_view authorization) override {
    authCalls.fetch_add(1);
    rest::AuthOutcome out;
    constexpr std::string_view kBearer = "Bearer ";
    if (authorization.substr(0, kBearer.size()) != kBearer) return out;   // no Bearer credentials
    out.tokenGiven = true;
    const std::string token(authorization.substr(kBearer.size()));
    std::lock_guard lock(mu_);
    if (auto it = refused_.find(token); it != refused_.end()) {
      out.error = it->second;
      return out;
    }
    auto it = tokens_.find(token);
    if (it == tokens_.end()) {
      out.error = "unknown token";
      return out;
    }
    rest::Caller c;
    c.subject = token;
    c.expiresUnix = it->second.second;
    c.context = it->second.first;
    out.caller = std::move(c);
    return out;
  }
  bool allows(const rest::Caller& caller, AccessVerb verb, std::string_view p, std::string_view s,
              std::string_view r) const override {
    allowsCalls.fetch_add(1);
    return static_cast<const Profile*>(caller.context.get())->rule(verb, p, s, r);
  }
  bool isAdmin(const rest::Caller& caller) const override {
    return static_cast<const Profile*>(caller.context.get())->admin;
  }

  std::atomic<int> authCalls{0};
  mutable std::atomic<int> allowsCalls{0};

 private:
  std::mutex mu_;
  std::map<std::string, std::pair<std::shared_ptr<const Profile>, std::int64_t>> tokens_;
  std::map<std::string, std::string> refused_;
};

// The "user" role: sees provider p except its maint service and its internal resource, reads p
// except p/s/secret (which it may describe), may ACT on go, may update nothing, is no admin.
bool userRule(AccessVerb verb, std::string_view p, std::string_view s, std::string_view r) {
  switch (verb) {
    case AccessVerb::Describe:
      if (p.empty()) return true;   // the provider list
      return p == "p" && s != "maint" && r != "internal";
    case AccessVerb::Read:
      if (p.empty()) return true;   // snapshots
      return p == "p" && s != "maint" && r != "secret" && r != "internal";
    case AccessVerb::Update: return false;
    case AccessVerb::Act: return p == "p" && s == "s" && r == "go";
  }
  return false;
}

// Answers SET with the value and ACT with "ok" at once.
class EchoDevice : public model::CommandHandler {
 public:
  void onSet(const model::SetCommand& c, std::function<void(Result<model::Value>)> done) override {
    sets.fetch_add(1);
    done(c.value);
  }
  void onAct(const model::ActCommand&, std::function<void(Result<model::Value>)> done) override {
    done(model::Value::ofString("ok"));
  }
  std::atomic<int> sets{0};
};

struct HttpResult {
  int status = 0;
  std::string body;
  std::string wwwAuthenticate;
  bool hasChallenge = false;
};

struct Fixture {
  model::Model model;
  std::shared_ptr<EchoDevice> device = std::make_shared<EchoDevice>();
  std::shared_ptr<FakePolicy> policy = std::make_shared<FakePolicy>();
  std::unique_ptr<rest::RestApi> api;
  std::unique_ptr<http::Server> server;

  explicit Fixture(bool withPolicy = true) {
    rest::RestOptions ro;
    ro.commandTimeoutMs = 5000;
    ro.sse.heartbeatMs = 200;
    api = std::make_unique<rest::RestApi>(model, ro);
    model.registerOwner("dev", device);
    declare("p", "s", "level", model::ResourceKind::Sensor, model::Mutability::Modifiable, model::ValueType::Int);
    declare("p", "s", "go", model::ResourceKind::Action, model::Mutability::Modifiable, model::ValueType::Int);
    declare("p", "s", "secret", model::ResourceKind::Sensor, model::Mutability::Updatable, model::ValueType::Double);
    declare("p", "s", "internal", model::ResourceKind::Sensor, model::Mutability::Updatable, model::ValueType::Double);
    declare("p", "maint", "counter", model::ResourceKind::Sensor, model::Mutability::Updatable, model::ValueType::Int);
    declare("hidden", "h", "x", model::ResourceKind::Sensor, model::Mutability::Updatable, model::ValueType::Int);
    EXPECT_TRUE(model.push("p", "s", "level", model::Value::ofInt(7)).ok());
    EXPECT_TRUE(model.push("p", "s", "secret", model::Value::ofDouble(42.5)).ok());
    EXPECT_TRUE(model.push("hidden", "h", "x", model::Value::ofInt(3)).ok());

    policy->addToken("admin-token", {[](AccessVerb, auto, auto, auto) { return true; }, true});
    policy->addToken("user-token", {userRule, false});
    policy->addToken("nobody-token", {[](AccessVerb, auto, auto, auto) { return false; }, false});
    policy->refuse("forged", "signature \"bad\" \\ invalid");
    policy->refuse("long", std::string(300, 'x') + "\xc3\xa9");
    if (withPolicy) api->setAccessPolicy(policy);

    http::ServerOptions so;
    so.port = 0;
    so.threads = 2;
    server = std::make_unique<http::Server>(so, [this](http::Request& r, http::Responder res) {
      api->handle(r, std::move(res));
    });
    api->start();
    EXPECT_TRUE(server->start().ok());
  }
  ~Fixture() {
    api->stop();
    server->stop();
  }

  void declare(const char* p, const char* s, const char* r, model::ResourceKind kind, model::Mutability mut,
               model::ValueType type) {
    model::ResourceDecl d;
    d.provider = p;
    d.service = s;
    d.resource = r;
    d.kind = kind;
    d.mutability = mut;
    d.type = type;
    d.owner = "dev";
    EXPECT_TRUE(model.declareResource(d).ok()) << p << "/" << s << "/" << r;
  }

  HttpResult request(const std::string& method, const std::string& path, const std::string& token = {},
                     const std::string& body = {}, const std::string& rawAuthorization = {}) {
    Poco::Net::HTTPClientSession session("127.0.0.1", server->port());
    session.setTimeout(Poco::Timespan(10, 0));
    Poco::Net::HTTPRequest req(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
    if (!token.empty()) req.set("Authorization", "Bearer " + token);
    if (!rawAuthorization.empty()) req.set("Authorization", rawAuthorization);
    if (method == "POST" || method == "PUT") {
      req.setContentType("application/json");
      req.setContentLength(static_cast<std::streamsize>(body.size()));
    }
    session.sendRequest(req) << body;
    Poco::Net::HTTPResponse resp;
    std::istream& in = session.receiveResponse(resp);
    std::ostringstream out;
    Poco::StreamCopier::copyStream(in, out);
    HttpResult r;
    r.status = static_cast<int>(resp.getStatus());
    r.body = out.str();
    r.hasChallenge = resp.has("WWW-Authenticate");
    if (r.hasChallenge) r.wwwAuthenticate = resp.get("WWW-Authenticate");
    return r;
  }
  HttpResult get(const std::string& path, const std::string& token = {}) { return request("GET", path, token); }
};

bool contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

constexpr const char* kInsufficient = R"(Bearer realm="gatehouse", error="insufficient_scope")";
const std::string kRes = "/sensinact/providers/p/services/s/resources/";

// A raw-socket SSE client: reads with a deadline and sees the end of the stream.
class SseClient {
 public:
  SseClient(std::uint16_t port, const std::string& path, const std::string& token) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    std::string req = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n";
    if (!token.empty()) req += "Authorization: Bearer " + token + "\r\n";
    req += "\r\n";
    if (connected_) connected_ = ::send(fd_, req.data(), req.size(), 0) == static_cast<ssize_t>(req.size());
  }
  ~SseClient() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool connected() const { return connected_; }
  // Reads until `needle` is in the received text, the stream ends, or the deadline passes.
  bool waitFor(std::string_view needle, std::chrono::milliseconds timeout) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (!contains(data, needle)) {
      if (!readSome(until)) return false;
    }
    return true;
  }
  // Reads until the server closes the stream; false on timeout.
  bool waitForEnd(std::chrono::milliseconds timeout) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (!ended) {
      if (!readSome(until) && !ended) return false;
    }
    return true;
  }
  std::string data;
  bool ended = false;

 private:
  bool readSome(std::chrono::steady_clock::time_point until) {
    if (ended) return false;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd pfd{fd_, POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) return false;
    char buf[4096];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) {
      ended = true;
      return false;
    }
    data.append(buf, static_cast<std::size_t>(n));
    return true;
  }
  int fd_ = -1;
  bool connected_ = false;
};

}  // namespace

// --- authentication ---------------------------------------------------------------------------

TEST(RestAccess, NoCredentialsGets401WithTheBareChallenge) {
  Fixture f;
  auto r = f.get("/sensinact/providers");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.wwwAuthenticate, R"(Bearer realm="gatehouse")");
  EXPECT_TRUE(contains(r.body, R"("type":"ERROR")")) << r.body;
  EXPECT_TRUE(contains(r.body, R"("statusCode":401)")) << r.body;
  EXPECT_FALSE(contains(r.body, "\"providers\":[")) << r.body;
  // Credentials of another scheme are no Bearer token either.
  auto basic = f.request("GET", "/sensinact", {}, {}, "Basic dXNlcjpwYXNz");
  EXPECT_EQ(basic.status, 401);
  EXPECT_EQ(basic.wwwAuthenticate, R"(Bearer realm="gatehouse")");
}

TEST(RestAccess, RefusedTokenGets401InvalidTokenWithEscapedDescription) {
  Fixture f;
  auto r = f.get("/sensinact/providers", "forged");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.wwwAuthenticate,
            R"(Bearer realm="gatehouse", error="invalid_token", error_description="signature \"bad\" \\ invalid")");
  EXPECT_TRUE(contains(r.body, R"("statusCode":401)")) << r.body;
  EXPECT_FALSE(contains(r.body, "forged")) << "the token must not be echoed: " << r.body;

  auto unknown = f.get("/sensinact", "no-such-token");
  EXPECT_EQ(unknown.status, 401);
  EXPECT_TRUE(contains(unknown.wwwAuthenticate, R"(error_description="unknown token")")) << unknown.wwwAuthenticate;
}

TEST(RestAccess, ChallengeDescriptionIsAsciiAndAtMost200Characters) {
  Fixture f;
  auto r = f.get("/sensinact/providers", "long");
  EXPECT_EQ(r.status, 401);
  const std::string prefix = R"(error_description=")";
  const auto start = r.wwwAuthenticate.find(prefix);
  ASSERT_NE(start, std::string::npos) << r.wwwAuthenticate;
  ASSERT_EQ(r.wwwAuthenticate.back(), '"');
  const std::string description =
      r.wwwAuthenticate.substr(start + prefix.size(), r.wwwAuthenticate.size() - start - prefix.size() - 1);
  EXPECT_EQ(description, std::string(200, 'x'));
  for (char c : r.wwwAuthenticate) EXPECT_TRUE(c >= 0x20 && c <= 0x7e) << static_cast<int>(c);
}

TEST(RestAccess, HealthAndOpenApiAreServedWithoutToken) {
  Fixture f;
  const int before = f.policy->authCalls.load();
  auto health = f.get("/health");
  EXPECT_EQ(health.status, 200) << health.body;
  EXPECT_TRUE(contains(health.body, R"("status":"UP")")) << health.body;
  auto openapi = f.get("/openapi.json");
  EXPECT_EQ(openapi.status, 200);
  EXPECT_TRUE(contains(openapi.body, "\"openapi\"")) << openapi.body.substr(0, 200);
  EXPECT_EQ(f.policy->authCalls.load(), before);
}

// --- verbs --------------------------------------------------------------------------------------

TEST(RestAccess, ReadIsAllowedOrDeniedPerResource) {
  Fixture f;
  auto level = f.get(kRes + "level/GET", "user-token");
  EXPECT_EQ(level.status, 200) << level.body;
  EXPECT_TRUE(contains(level.body, R"("value":7)")) << level.body;
  EXPECT_FALSE(level.hasChallenge);

  auto secret = f.get(kRes + "secret/GET", "user-token");
  EXPECT_EQ(secret.status, 403) << secret.body;
  EXPECT_EQ(secret.wwwAuthenticate, kInsufficient);
  EXPECT_TRUE(contains(secret.body, R"("statusCode":403)")) << secret.body;
  EXPECT_FALSE(contains(secret.body, "42.5")) << secret.body;

  auto adminSecret = f.get(kRes + "secret/GET", "admin-token");
  EXPECT_EQ(adminSecret.status, 200) << adminSecret.body;
  EXPECT_TRUE(contains(adminSecret.body, "42.5")) << adminSecret.body;
}

TEST(RestAccess, DescribeIsCheckedBeforeTheModelSoUnknownElementsGet403) {
  Fixture f;
  auto hidden = f.get("/sensinact/providers/hidden", "user-token");
  EXPECT_EQ(hidden.status, 403) << hidden.body;
  EXPECT_EQ(hidden.wwwAuthenticate, kInsufficient);
  // A provider that does not exist looks the same to a caller who may not describe it.
  auto missing = f.get("/sensinact/providers/nosuch", "user-token");
  EXPECT_EQ(missing.status, 403) << missing.body;
  EXPECT_EQ(missing.wwwAuthenticate, kInsufficient);
  auto missingResource = f.get("/sensinact/providers/nosuch/services/a/resources/b/GET", "user-token");
  EXPECT_EQ(missingResource.status, 403) << missingResource.body;
  // Who may describe it learns that it does not exist.
  auto adminMissing = f.get("/sensinact/providers/nosuch", "admin-token");
  EXPECT_EQ(adminMissing.status, 404) << adminMissing.body;

  EXPECT_EQ(f.get("/sensinact/providers/p/services/maint", "user-token").status, 403);
  EXPECT_EQ(f.get("/sensinact/providers/p/services/maint/resources", "user-token").status, 403);
  EXPECT_EQ(f.get(kRes + "internal", "user-token").status, 403);
  EXPECT_EQ(f.get(kRes + "secret", "user-token").status, 200);   // describable, not readable
  EXPECT_EQ(f.get("/sensinact/providers/p/services", "user-token").status, 200);
  auto nobody = f.get("/sensinact/providers", "nobody-token");
  EXPECT_EQ(nobody.status, 403);
  EXPECT_EQ(nobody.wwwAuthenticate, kInsufficient);
  EXPECT_EQ(f.get("/sensinact/snapshot", "nobody-token").status, 403);
}

TEST(RestAccess, SetNeedsUpdateAndActNeedsAct) {
  Fixture f;
  auto set = f.request("POST", kRes + "level/SET", "user-token", R"({"value": 9})");
  EXPECT_EQ(set.status, 403) << set.body;
  EXPECT_EQ(set.wwwAuthenticate, kInsufficient);
  EXPECT_EQ(f.device->sets.load(), 0);
  EXPECT_EQ(f.model.resource("p", "s", "level")->value, model::Value::ofInt(7));

  auto adminSet = f.request("POST", kRes + "level/SET", "admin-token", R"({"value": 9})");
  EXPECT_EQ(adminSet.status, 200) << adminSet.body;
  EXPECT_EQ(f.device->sets.load(), 1);

  auto act = f.request("POST", kRes + "go/ACT", "user-token", "");
  EXPECT_EQ(act.status, 200) << act.body;
  EXPECT_TRUE(contains(act.body, R"("result":"ok")")) << act.body;
  auto nobodyAct = f.request("POST", kRes + "go/ACT", "nobody-token", "");
  EXPECT_EQ(nobodyAct.status, 403) << nobodyAct.body;
  EXPECT_EQ(nobodyAct.wwwAuthenticate, kInsufficient);
}

TEST(RestAccess, RuntimeAndMetricsNeedAdmin) {
  Fixture f;
  for (const char* path : {"/sensinact/runtime/plugins", "/metrics"}) {
    auto user = f.get(path, "user-token");
    EXPECT_EQ(user.status, 403) << path;
    EXPECT_EQ(user.wwwAuthenticate, kInsufficient) << path;
    EXPECT_EQ(f.get(path).status, 401) << path;
    EXPECT_EQ(f.get(path, "admin-token").status, 200) << path;
  }
  EXPECT_TRUE(contains(f.get("/metrics", "admin-token").body, "gatehouse_providers"));
  auto reload = f.request("POST", "/sensinact/runtime/plugins/reload", "user-token");
  EXPECT_EQ(reload.status, 403) << reload.body;
  // The admin reaches the route (this gateway has no plugin host to reload).
  EXPECT_EQ(f.request("POST", "/sensinact/runtime/plugins/reload", "admin-token").status, 503);
}

// --- filtered lists -----------------------------------------------------------------------------

TEST(RestAccess, ProviderListsShowOnlyWhatTheCallerMayDescribe) {
  Fixture f;
  auto user = f.get("/sensinact/providers", "user-token");
  EXPECT_EQ(user.status, 200) << user.body;
  EXPECT_TRUE(contains(user.body, R"("providers":["p"])")) << user.body;
  auto admin = f.get("/sensinact/providers", "admin-token");
  EXPECT_TRUE(contains(admin.body, R"("providers":["hidden","p"])")) << admin.body;
  // With an LDAP filter too.
  auto filtered = f.get("/sensinact/providers?filter=(PROVIDER=*)", "user-token");
  EXPECT_EQ(filtered.status, 200) << filtered.body;
  EXPECT_TRUE(contains(filtered.body, R"("providers":["p"])")) << filtered.body;

  auto all = f.get("/sensinact", "user-token");
  EXPECT_EQ(all.status, 200) << all.body;
  EXPECT_TRUE(contains(all.body, R"("name":"p")")) << all.body;
  EXPECT_TRUE(contains(all.body, R"("name":"secret")")) << all.body;
  EXPECT_FALSE(contains(all.body, "hidden")) << all.body;
  EXPECT_FALSE(contains(all.body, "internal")) << all.body;
  EXPECT_FALSE(contains(all.body, "maint")) << all.body;   // emptied by the filter, removed
  auto adminAll = f.get("/sensinact", "admin-token");
  EXPECT_TRUE(contains(adminAll.body, "hidden") && contains(adminAll.body, "maint") &&
              contains(adminAll.body, "internal"))
      << adminAll.body;
}

TEST(RestAccess, ServiceAndResourceListsShowOnlyWhatTheCallerMayDescribe) {
  Fixture f;
  auto provider = f.get("/sensinact/providers/p", "user-token");
  EXPECT_EQ(provider.status, 200) << provider.body;
  EXPECT_TRUE(contains(provider.body, R"("s")")) << provider.body;
  EXPECT_FALSE(contains(provider.body, "maint")) << provider.body;
  auto services = f.get("/sensinact/providers/p/services", "user-token");
  EXPECT_TRUE(contains(services.body, R"("s")")) << services.body;
  EXPECT_FALSE(contains(services.body, "maint")) << services.body;
  EXPECT_TRUE(contains(f.get("/sensinact/providers/p/services", "admin-token").body, "maint"));

  auto service = f.get("/sensinact/providers/p/services/s", "user-token");
  EXPECT_EQ(service.status, 200) << service.body;
  EXPECT_TRUE(contains(service.body, R"("name":"level")")) << service.body;
  EXPECT_FALSE(contains(service.body, "internal")) << service.body;
  auto resources = f.get("/sensinact/providers/p/services/s/resources", "user-token");
  EXPECT_TRUE(contains(resources.body, R"("level")") && contains(resources.body, R"("secret")")) << resources.body;
  EXPECT_FALSE(contains(resources.body, "internal")) << resources.body;
  EXPECT_TRUE(contains(f.get("/sensinact/providers/p/services/s/resources", "admin-token").body, "internal"));
}

TEST(RestAccess, SnapshotShowsOnlyWhatTheCallerMayRead) {
  Fixture f;
  for (const std::string method : {"GET", "POST"}) {
    auto user = f.request(method, "/sensinact/snapshot", "user-token", method == "POST" ? "{}" : "");
    EXPECT_EQ(user.status, 200) << user.body;
    EXPECT_TRUE(contains(user.body, R"("name":"level")")) << user.body;
    EXPECT_FALSE(contains(user.body, "secret")) << user.body;
    EXPECT_FALSE(contains(user.body, "42.5")) << user.body;
    EXPECT_FALSE(contains(user.body, "hidden")) << user.body;
    EXPECT_FALSE(contains(user.body, "maint")) << user.body;
  }
  auto admin = f.get("/sensinact/snapshot", "admin-token");
  EXPECT_TRUE(contains(admin.body, "42.5") && contains(admin.body, "hidden")) << admin.body;
}

TEST(RestAccess, FiltersCannotProbeValuesTheCallerMayNotRead) {
  Fixture f;
  // s.secret is 42.5: an admin's filter sees it, the user's filter does not.
  auto admin = f.get("/sensinact/providers?filter=(s.secret=42.5)", "admin-token");
  EXPECT_TRUE(contains(admin.body, R"("providers":["p"])")) << admin.body;
  auto user = f.get("/sensinact/providers?filter=(s.secret=42.5)", "user-token");
  EXPECT_EQ(user.status, 200) << user.body;
  EXPECT_TRUE(contains(user.body, R"("providers":[])")) << user.body;
  // A readable value still filters.
  auto readable = f.get("/sensinact/providers?filter=(s.level=7)", "user-token");
  EXPECT_TRUE(contains(readable.body, R"("providers":["p"])")) << readable.body;
}

// --- streams ------------------------------------------------------------------------------------

TEST(RestAccess, SnapshotStreamDeliversOnlyReadableNotifications) {
  Fixture f;
  SseClient user(f.server->port(), "/sensinact/snapshot/subscribe", "user-token");
  SseClient admin(f.server->port(), "/sensinact/snapshot/subscribe", "admin-token");
  ASSERT_TRUE(user.connected() && admin.connected());
  ASSERT_TRUE(user.waitFor(": subscribed", std::chrono::seconds(5))) << user.data;
  ASSERT_TRUE(admin.waitFor(": subscribed", std::chrono::seconds(5))) << admin.data;
  // Same provider, so each subscriber gets them in this order: once level is there, secret
  // would have been before it.
  ASSERT_TRUE(f.model.push("p", "s", "secret", model::Value::ofDouble(99.25)).ok());
  ASSERT_TRUE(f.model.push("p", "s", "level", model::Value::ofInt(11)).ok());
  ASSERT_TRUE(user.waitFor(R"("resource":"level")", std::chrono::seconds(5))) << user.data;
  EXPECT_FALSE(contains(user.data, "secret")) << user.data;
  EXPECT_FALSE(contains(user.data, "99.25")) << user.data;
  ASSERT_TRUE(admin.waitFor(R"("resource":"level")", std::chrono::seconds(5))) << admin.data;
  EXPECT_TRUE(contains(admin.data, "99.25")) << admin.data;
}

TEST(RestAccess, ResourceSubscribeNeedsReadAndIsFiltered) {
  Fixture f;
  SseClient denied(f.server->port(), kRes + "secret/SUBSCRIBE", "user-token");
  ASSERT_TRUE(denied.connected());
  ASSERT_TRUE(denied.waitFor("\r\n\r\n", std::chrono::seconds(5))) << denied.data;
  EXPECT_TRUE(contains(denied.data, "HTTP/1.1 403")) << denied.data;
  EXPECT_TRUE(contains(denied.data, "insufficient_scope")) << denied.data;

  SseClient none(f.server->port(), kRes + "level/SUBSCRIBE", "");
  ASSERT_TRUE(none.waitFor("\r\n\r\n", std::chrono::seconds(5))) << none.data;
  EXPECT_TRUE(contains(none.data, "HTTP/1.1 401")) << none.data;

  SseClient ok(f.server->port(), kRes + "level/SUBSCRIBE", "user-token");
  ASSERT_TRUE(ok.waitFor(": subscribed", std::chrono::seconds(5))) << ok.data;
  ASSERT_TRUE(f.model.push("p", "s", "level", model::Value::ofInt(12)).ok());
  EXPECT_TRUE(ok.waitFor(R"("newValue":12)", std::chrono::seconds(5))) << ok.data;
}

TEST(RestAccess, StreamEndsWhenTheTokenExpires) {
  Fixture f;
  const auto nowUnix = std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
  f.policy->addToken("short-token", {userRule, false}, nowUnix + 2);
  const auto start = std::chrono::steady_clock::now();
  SseClient shortLived(f.server->port(), "/sensinact/snapshot/subscribe", "short-token");
  SseClient longLived(f.server->port(), "/sensinact/snapshot/subscribe", "user-token");
  ASSERT_TRUE(shortLived.waitFor(": subscribed", std::chrono::seconds(5))) << shortLived.data;
  ASSERT_TRUE(longLived.waitFor(": subscribed", std::chrono::seconds(5))) << longLived.data;
  ASSERT_TRUE(shortLived.waitForEnd(std::chrono::seconds(6))) << "stream still open: " << shortLived.data;
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, std::chrono::milliseconds(900));   // expiry is in whole seconds: 1..2 s ahead
  EXPECT_LT(took, std::chrono::milliseconds(4000));
  EXPECT_TRUE(contains(shortLived.data, "event: error\ndata: {\"error\":\"token expired\"}")) << shortLived.data;
  EXPECT_EQ(f.api->sse().expiredStreamsClosed(), 1u);
  // The other stream is still served.
  ASSERT_TRUE(f.model.push("p", "s", "level", model::Value::ofInt(13)).ok());
  EXPECT_TRUE(longLived.waitFor(R"("newValue":13)", std::chrono::seconds(5))) << longLived.data;
  EXPECT_FALSE(longLived.ended);
}

// --- no policy ------------------------------------------------------------------------------------

TEST(RestAccess, WithoutPolicyEveryoneIsServedAsBefore) {
  Fixture f(/*withPolicy=*/false);
  auto providers = f.get("/sensinact/providers");
  EXPECT_EQ(providers.status, 200) << providers.body;
  EXPECT_TRUE(contains(providers.body, R"("providers":["hidden","p"])")) << providers.body;
  EXPECT_FALSE(providers.hasChallenge);
  EXPECT_EQ(f.get(kRes + "secret/GET").status, 200);
  EXPECT_EQ(f.get("/sensinact/runtime/plugins").status, 200);
  EXPECT_EQ(f.get("/metrics").status, 200);
  // A token is simply ignored.
  EXPECT_EQ(f.get("/sensinact/providers/nosuch", "forged").status, 404);
  EXPECT_TRUE(contains(f.get("/sensinact/snapshot").body, "42.5"));
  EXPECT_EQ(f.policy->authCalls.load(), 0);
}
