#include "mosquitto_fixture.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace gatehouse::test_support {

namespace {

int freePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  ::close(fd);
  return port;
}

bool accepts(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

std::string run(const std::string& cmd) {
  int rc = std::system((cmd + " >/dev/null 2>&1").c_str());
  return rc == 0 ? std::string() : "command failed (" + std::to_string(rc) + "): " + cmd;
}

}  // namespace

MosquittoFixture::MosquittoFixture(MosquittoOptions options) : options_(options) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "gatehouse-mosquitto-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  ::chmod(dir_.c_str(), 0755);   // mosquitto (dropped to its own user) must read the config
}

MosquittoFixture::~MosquittoFixture() {
  stop();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string MosquittoFixture::uri() const {
  return std::string(options_.tls ? "ssl" : "tcp") + "://127.0.0.1:" + std::to_string(port_);
}

std::string MosquittoFixture::log() const {
  std::ifstream f(dir_ + "/mosquitto.log");
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string MosquittoFixture::makeCertificates() {
  if (certsMade_) return "";
  const std::string d = dir_;
  const std::string ec = "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes";
  {
    std::ofstream ext(d + "/server.ext");
    ext << "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n";
    std::ofstream cext(d + "/client.ext");
    cext << "extendedKeyUsage=clientAuth\n";
  }
  for (const std::string& cmd : {
           "openssl req -x509 " + ec + " -keyout " + d + "/ca.key -out " + d + "/ca.crt -subj /CN=gatehouse-test-ca -days 2",
           "openssl req -x509 " + ec + " -keyout " + d + "/other-ca.key -out " + d +
               "/other-ca.crt -subj /CN=gatehouse-other-ca -days 2",
           "openssl req " + ec + " -keyout " + d + "/server.key -out " + d + "/server.csr -subj /CN=localhost",
           "openssl x509 -req -in " + d + "/server.csr -CA " + d + "/ca.crt -CAkey " + d + "/ca.key -CAcreateserial -out " +
               d + "/server.crt -days 2 -extfile " + d + "/server.ext",
           "openssl req " + ec + " -keyout " + d + "/client.key -out " + d + "/client.csr -subj /CN=gatehouse-bridge",
           "openssl x509 -req -in " + d + "/client.csr -CA " + d + "/ca.crt -CAkey " + d + "/ca.key -CAcreateserial -out " +
               d + "/client.crt -days 2 -extfile " + d + "/client.ext",
       }) {
    if (auto err = run(cmd); !err.empty()) return err;
  }
  // Test-only keys: readable by the broker's user.
  for (const char* f : {"ca.crt", "other-ca.crt", "server.crt", "server.key", "client.crt", "client.key"})
    ::chmod((d + "/" + f).c_str(), 0644);
  certsMade_ = true;
  return "";
}

std::string MosquittoFixture::writeConfig() {
  std::ofstream c(dir_ + "/mosquitto.conf");
  c << "listener " << port_ << " 127.0.0.1\n"
    << "allow_anonymous true\n"
    << "log_dest stderr\n"
    << "log_type error\nlog_type warning\nlog_type notice\n"
    // A fast QoS1 stream through the default queue of 1000 loses messages (TESTING.md).
    << "max_queued_messages 0\n"
    << "max_inflight_messages 1000\n";
  if (options_.persistence) {
    const std::string data = dir_ + "/data";
    std::filesystem::create_directories(data);
    ::chmod(data.c_str(), 0777);   // written by the broker's user
    c << "persistence true\npersistence_location " << data << "/\nautosave_interval 1800\n";
  } else {
    c << "persistence false\n";
  }
  if (options_.tls) {
    c << "cafile " << caFile() << "\ncertfile " << dir_ << "/server.crt\nkeyfile " << dir_ << "/server.key\n";
    if (options_.requireClientCert) c << "require_certificate true\nuse_identity_as_username true\n";
  }
  c.close();
  ::chmod((dir_ + "/mosquitto.conf").c_str(), 0644);
  return c ? "" : "cannot write the mosquitto config";
}

std::string MosquittoFixture::start() {
  if (pid_ > 0) return "";
  if (options_.tls) {
    if (auto err = makeCertificates(); !err.empty()) return err;
  }
  if (port_ == 0) port_ = freePort();
  if (port_ == 0) return "no free port";
  if (auto err = writeConfig(); !err.empty()) return err;

  const std::string conf = dir_ + "/mosquitto.conf";
  const std::string logPath = dir_ + "/mosquitto.log";
  pid_t pid = ::fork();
  if (pid < 0) return "fork failed";
  if (pid == 0) {
    int fd = ::open(logPath.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    ::execl("/usr/sbin/mosquitto", "mosquitto", "-c", conf.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  pid_ = pid;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return "mosquitto exited at start: " + log();
    }
    if (accepts(port_)) return "";
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  stop();
  return "mosquitto did not accept connections within 10 s: " + log();
}

void MosquittoFixture::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  int status = 0;
  while (::waitpid(pid_, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  pid_ = -1;
}

int freeLoopbackPort() { return freePort(); }

}  // namespace gatehouse::test_support
