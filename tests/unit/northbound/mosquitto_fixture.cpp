#include "mosquitto_fixture.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace gatehouse::test {

namespace {

bool canConnect(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

std::uint16_t freeLoopbackPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

MosquittoBroker::MosquittoBroker(bool persistence) : persistence_(persistence) {
  char pattern[] = "/tmp/gh-north-mosquitto-XXXXXX";
  if (const char* d = ::mkdtemp(pattern)) dir_ = d;
  // As root, mosquitto drops to user mosquitto: its config must be readable, and its
  // persistence folder writable, by that user.
  ::chmod(dir_.c_str(), 0755);
  if (persistence_) {
    std::filesystem::create_directory(dir_ + "/data");
    ::chmod((dir_ + "/data").c_str(), 0777);
  }
}

MosquittoBroker::~MosquittoBroker() {
  stop();
  std::error_code ec;
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
}

bool MosquittoBroker::start() {
  if (pid_ > 0) return true;
  if (port_ == 0) port_ = freeLoopbackPort();
  const std::string conf = dir_ + "/mosquitto.conf";
  {
    std::ofstream out(conf);
    out << "listener " << port_ << " 127.0.0.1\n"
        << "allow_anonymous true\n"
        << "log_dest stderr\n"
        << "max_queued_messages 0\n"
        << "max_inflight_messages 1000\n";
    if (persistence_) {
      out << "persistence true\npersistence_location " << dir_ << "/data/\nautosave_interval 0\n";
    } else {
      out << "persistence false\n";
    }
  }
  ::chmod(conf.c_str(), 0644);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  const std::string logPath = dir_ + "/mosquitto.log";
  posix_spawn_file_actions_addopen(&actions, 1, logPath.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  std::string prog = "/usr/sbin/mosquitto", c = "-c";
  std::string confArg = conf;
  char* argv[] = {prog.data(), c.data(), confArg.data(), nullptr};
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, prog.c_str(), &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    error_ = "cannot start mosquitto: " + std::to_string(rc);
    return false;
  }
  pid_ = pid;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (canConnect(port_)) return true;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      error_ = "mosquitto exited at start:\n" + log();
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  error_ = "mosquitto did not accept connections on port " + std::to_string(port_) + " within 10 s:\n" + log();
  stop();
  return false;
}

void MosquittoBroker::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

std::string MosquittoBroker::log() const {
  std::ifstream in(dir_ + "/mosquitto.log");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace gatehouse::test
