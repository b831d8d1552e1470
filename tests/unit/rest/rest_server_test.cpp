// The REST layer over a real in-process HTTP server, with owners the simulator cannot play:
// a device that never answers (504 after the command timeout) and one that answers late.
#include <gtest/gtest.h>

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>

#include <chrono>
#include <sstream>
#include <thread>

#include "gatehouse/kit/codec.h"
#include "http/server.h"
#include "model/model.h"
#include "rest/rest_api.h"

using namespace gatehouse::core;

namespace {

// Keeps every callback and answers only when told to.
class SilentDevice : public model::CommandHandler {
 public:
  void onSet(const model::SetCommand& c, std::function<void(Result<model::Value>)> done) override {
    std::lock_guard lock(mu);
    pendingSets.push_back({c.value, std::move(done)});
  }
  void onAct(const model::ActCommand& c, std::function<void(Result<model::Value>)> done) override {
    std::lock_guard lock(mu);
    acts.push_back(c);
    pendingActs.push_back(std::move(done));
  }
  std::vector<model::ActCommand> acts;
  std::mutex mu;
  std::vector<std::pair<model::Value, std::function<void(Result<model::Value>)>>> pendingSets;
  std::vector<std::function<void(Result<model::Value>)>> pendingActs;
};

struct Fixture {
  model::Model model;
  std::shared_ptr<SilentDevice> device = std::make_shared<SilentDevice>();
  std::unique_ptr<rest::RestApi> api;
  std::unique_ptr<http::Server> server;

  explicit Fixture(int timeoutMs) {
    rest::RestOptions ro;
    ro.commandTimeoutMs = timeoutMs;
    api = std::make_unique<rest::RestApi>(model, ro);
    model.registerOwner("dev", device);
    model::ResourceDecl d;
    d.provider = "p";
    d.service = "s";
    d.resource = "level";
    d.type = model::ValueType::Int;
    d.mutability = model::Mutability::Modifiable;
    d.owner = "dev";
    EXPECT_TRUE(model.declareResource(d).ok());
    d.resource = "blob";
    d.type = model::ValueType::Bytes;
    EXPECT_TRUE(model.declareResource(d).ok());
    d.type = model::ValueType::Int;
    d.resource = "go";
    d.kind = model::ResourceKind::Action;
    EXPECT_TRUE(model.declareResource(d).ok());
    d.resource = "relay";   // shaped like the MQTT bridge's e2e/keyRequest
    d.params = {{"topic", model::ValueType::String, false, {}, {}}, {"request", model::ValueType::Bytes, false, {}, {}}};
    d.resultType = model::ValueType::Bytes;
    EXPECT_TRUE(model.declareResource(d).ok());
    http::ServerOptions so;
    so.port = 0;
    so.threads = 1;
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

  std::pair<int, std::string> post(const std::string& path, const std::string& body) {
    Poco::Net::HTTPClientSession session("127.0.0.1", server->port());
    session.setTimeout(Poco::Timespan(10, 0));
    Poco::Net::HTTPRequest req(Poco::Net::HTTPRequest::HTTP_POST, path, Poco::Net::HTTPMessage::HTTP_1_1);
    req.setContentType("application/json");
    req.setContentLength(static_cast<std::streamsize>(body.size()));
    session.sendRequest(req) << body;
    Poco::Net::HTTPResponse resp;
    std::istream& in = session.receiveResponse(resp);
    std::ostringstream out;
    Poco::StreamCopier::copyStream(in, out);
    return {static_cast<int>(resp.getStatus()), out.str()};
  }
};

}  // namespace

TEST(RestCommands, DeviceThatNeverAnswersGets504AfterTheTimeout) {
  Fixture f(300);
  const auto start = std::chrono::steady_clock::now();
  auto [status, body] = f.post("/sensinact/providers/p/services/s/resources/level/SET", R"({"value": 5})");
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(status, 504);
  EXPECT_NE(body.find("\"type\":\"ERROR\""), std::string::npos) << body;
  EXPECT_NE(body.find("did not answer within 300 ms"), std::string::npos) << body;
  EXPECT_GE(took, std::chrono::milliseconds(250));
  EXPECT_LT(took, std::chrono::milliseconds(3000));
  // The device answering after the timeout changes the model but cannot answer twice.
  std::function<void(Result<model::Value>)> late;
  {
    std::lock_guard lock(f.device->mu);
    ASSERT_EQ(f.device->pendingSets.size(), 1u);
    late = f.device->pendingSets[0].second;
  }
  late(model::Value::ofInt(5));
  EXPECT_EQ(f.model.resource("p", "s", "level")->value, model::Value::ofInt(5));
}

TEST(RestCommands, AnswerFromAnotherThreadCompletesTheRequest) {
  Fixture f(5000);
  std::thread device([&f] {
    for (int i = 0; i < 200; ++i) {
      std::function<void(Result<model::Value>)> done;
      {
        std::lock_guard lock(f.device->mu);
        if (!f.device->pendingActs.empty()) done = f.device->pendingActs[0];
      }
      if (done) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        done(model::Value::ofString("started"));
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });
  auto [status, body] = f.post("/sensinact/providers/p/services/s/resources/go/ACT", "");
  device.join();
  EXPECT_EQ(status, 200) << body;
  EXPECT_NE(body.find("\"type\":\"ACT_RESPONSE\""), std::string::npos) << body;
  EXPECT_NE(body.find("\"result\":\"started\""), std::string::npos) << body;
}

TEST(RestCommands, DeviceErrorsKeepTheirStatus) {
  Fixture f(5000);
  std::thread device([&f] {
    for (int i = 0; i < 200; ++i) {
      std::function<void(Result<model::Value>)> done;
      {
        std::lock_guard lock(f.device->mu);
        if (!f.device->pendingSets.empty()) done = f.device->pendingSets[0].second;
      }
      if (done) {
        done(makeError(ErrorCode::Unavailable, "device asleep"));
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });
  auto [status, body] = f.post("/sensinact/providers/p/services/s/resources/level/SET", R"({"value": 1})");
  device.join();
  EXPECT_EQ(status, 503);
  EXPECT_NE(body.find("device asleep"), std::string::npos) << body;
  f.model.unregisterOwner("dev");
  auto [gone, goneBody] = f.post("/sensinact/providers/p/services/s/resources/level/SET", R"({"value": 1})");
  EXPECT_EQ(gone, 503);
  EXPECT_NE(goneBody.find("not running"), std::string::npos) << goneBody;
}

// JSON has no bytes: a bytes ACT parameter or SET value is written in base64 and reaches the owner
// as the exact bytes (NULs included); a bytes result goes back in base64; bad base64 is a 400.
TEST(RestCommands, BytesParametersAndValuesAreBase64OnTheWire) {
  Fixture f(5000);
  const std::string request("GHE\x01\x02\x00\x03\xff\xfe", 9);
  const std::string wrap("GHE\x01\x03\x00wrap", 10);
  std::thread device([&] {
    for (int i = 0; i < 300; ++i) {
      std::function<void(Result<model::Value>)> done;
      {
        std::lock_guard lock(f.device->mu);
        if (!f.device->pendingActs.empty()) done = f.device->pendingActs[0];
      }
      if (done) {
        done(model::Value::ofBytes(wrap));
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });
  auto [status, body] = f.post("/sensinact/providers/p/services/s/resources/relay/ACT",
                               R"({"parameters": [{"name": "topic", "type": "string", "value": "enc/p/data"},)"
                               R"( {"name": "request", "type": "bytes", "value": ")" + gatehouse::kit::base64Encode(request) + "\"}]}");
  device.join();
  EXPECT_EQ(status, 200) << body;
  EXPECT_NE(body.find("\"result\":\"" + gatehouse::kit::base64Encode(wrap) + "\""), std::string::npos) << body;
  {
    std::lock_guard lock(f.device->mu);
    ASSERT_EQ(f.device->acts.size(), 1u);
    ASSERT_EQ(f.device->acts[0].params.size(), 2u);
    EXPECT_EQ(f.device->acts[0].params[0].value, model::Value::ofString("enc/p/data"));
    EXPECT_EQ(f.device->acts[0].params[1].value, model::Value::ofBytes(request));
  }
  auto [bad, badBody] = f.post("/sensinact/providers/p/services/s/resources/relay/ACT",
                               R"({"topic": "enc/p/data", "request": "not base64!"})");
  EXPECT_EQ(bad, 400) << badBody;
  EXPECT_NE(badBody.find("parameter 'request' is bytes: write it in base64"), std::string::npos) << badBody;

  std::thread setter([&] {
    for (int i = 0; i < 300; ++i) {
      std::function<void(Result<model::Value>)> done;
      model::Value v;
      {
        std::lock_guard lock(f.device->mu);
        if (!f.device->pendingSets.empty()) std::tie(v, done) = f.device->pendingSets[0];
      }
      if (done) {
        done(v);
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });
  auto [set, setBody] = f.post("/sensinact/providers/p/services/s/resources/blob/SET", R"({"value": "AAEC"})");
  setter.join();
  EXPECT_EQ(set, 200) << setBody;
  {
    std::lock_guard lock(f.device->mu);
    ASSERT_EQ(f.device->pendingSets.size(), 1u);
    EXPECT_EQ(f.device->pendingSets[0].first, model::Value::ofBytes(std::string("\x00\x01\x02", 3)));
  }
  EXPECT_NE(setBody.find("\"value\":\"AAEC\""), std::string::npos) << setBody;
}
