// Event loops, connections and streams of the HTTP server.
//
// Shape: one listening socket registered with EPOLLEXCLUSIVE in every loop's epoll; whichever
// loop wakes accepts and hands each new socket round-robin to a loop (its own directly, another
// through that loop's task queue), so load spreads evenly even when one loop happens to win
// most wake-ups. Everything about a connection then happens on its loop thread. Other threads
// (asynchronous handlers, stream writers) reach it through Loop::post(): a mutex-protected
// task vector plus an eventfd.
//
// Memory per idle keep-alive connection: the Connection object (~600 bytes: parser state with
// an empty Request, empty buffers, timer links) plus its map node; the read buffer is one 64 KiB
// scratch array per loop, and request/response buffers are released as soon as a request is
// answered. Measured by HttpLoad.FiveThousandIdleConnectionsAndASlowloris with mallinfo2: 644
// bytes of heap per idle keep-alive connection (x86-64, glibc; the kernel's socket memory comes on top).
//
// Timers: each kind of deadline (head, body, idle, lingering close) has a fixed duration, so a
// connection entering a state is appended to that state's FIFO list and the lists stay sorted
// by deadline: O(1) to arm, disarm and find the next expiry, with no per-read work.

#include "http/server.h"
#include "gatehouse/kit/thread_name.h"

#include <fcntl.h>
#include <netdb.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <unordered_map>
#include <utility>

#include "http/request_parser.h"
#include "http/response_writer.h"
#include "http/socket_util.h"

namespace gatehouse::core::http {
namespace detail {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kMaxPipeline = 32;      // requests in flight per connection before reads pause
constexpr int kLingerMs = 1000;               // after our last response: wait for the peer's FIN
constexpr std::size_t kReadChunk = 64 * 1024;
constexpr int kMaxEvents = 256;
constexpr int kMaxAcceptsPerWake = 64;
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

char kListenTag;
char kWakeTag;

enum class TimerKind : std::uint8_t { None = 0, Header, Body, Idle, Linger, Count };

std::string systemError(int err) { return std::strerror(err); }

}  // namespace

class Connection;
class StreamImpl;

struct ServerShared {
  ServerOptions options;
  Handler handler;
  Server::Observer observer;
  std::atomic<std::size_t> connections{0};
  std::atomic<std::size_t> nextLoop{0};
  std::vector<Loop*> loops;  // written before the loop threads start, read-only afterwards
  int listenFd = -1;
};

struct ResponderState {
  std::shared_ptr<Loop> loop;
  std::weak_ptr<Connection> conn;
  std::uint64_t slot = 0;
  WireOptions wire;
  std::string path;
  std::size_t maxStreamBytes = 0;
};

class Loop : public std::enable_shared_from_this<Loop> {
 public:
  explicit Loop(ServerShared* shared) : shared_(shared) {}
  ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  Result<void> init(int listenFd);
  void run();
  // Any thread. False once the loop has shut down (the task is dropped).
  bool post(std::function<void()> task);
  void requestStop();
  bool inLoopThread() const;
  std::size_t connectionCount() const { return count_.load(std::memory_order_relaxed); }

  // Loop thread only.
  ServerShared& shared() { return *shared_; }
  char* scratch() { return scratch_.get(); }
  void adopt(int fd, std::string peer);
  void release(Connection* c);
  void timerSet(Connection* c, TimerKind kind);
  int epollFd() const { return ep_; }
  static Responder makeResponder(std::unique_ptr<ResponderState> state) {
    return Responder(std::move(state));
  }

 private:
  void acceptReady();
  void runTasks();
  int nextTimeoutMs();
  void sweepTimers();
  void shutdown();
  Clock::duration duration(TimerKind kind) const;

  struct TimerList {
    Connection* head = nullptr;
    Connection* tail = nullptr;
  };

  ServerShared* shared_;
  int ep_ = -1;
  int wake_ = -1;
  int listenFd_ = -1;
  int reserveFd_ = -1;
  std::unique_ptr<char[]> scratch_;
  std::atomic<bool> stopRequested_{false};
  bool stopping_ = false;
  std::mutex taskMutex_;
  std::vector<std::function<void()>> tasks_;
  bool tasksClosed_ = false;
  std::unordered_map<Connection*, std::shared_ptr<Connection>> conns_;
  std::vector<std::shared_ptr<Connection>> graveyard_;  // closed this iteration; freed after it
  std::array<TimerList, static_cast<std::size_t>(TimerKind::Count)> timers_{};
  std::atomic<std::size_t> count_{0};
};

namespace {
thread_local Loop* tlLoop = nullptr;
}  // namespace

bool Loop::inLoopThread() const { return tlLoop == this; }

// The sink behind a stream response. Producers (any thread) append to pending_ under mu_; the
// loop thread moves pending bytes into the connection's output. unsent_ counts bytes accepted
// by write() that the kernel has not taken yet, which is what maxStreamBufferBytes bounds.
class StreamImpl final : public StreamSink, public std::enable_shared_from_this<StreamImpl> {
 public:
  StreamImpl(std::shared_ptr<Loop> loop, std::weak_ptr<Connection> conn, std::size_t maxBytes)
      : loop_(std::move(loop)), conn_(std::move(conn)), max_(maxBytes) {}

  bool write(std::string data) override {
    bool schedule = false;
    {
      std::lock_guard lock(mu_);
      if (!open_) return false;
      if (data.size() > max_ - unsent_) return false;
      unsent_ += data.size();
      if (pending_.empty()) {
        pending_ = std::move(data);
      } else {
        pending_ += data;
      }
      if (attached_ && !scheduled_) schedule = scheduled_ = true;
    }
    if (schedule) pumpLater();
    return true;
  }

  void close() override {
    bool schedule = false;
    {
      std::lock_guard lock(mu_);
      if (ended_ || closeRequested_) return;
      open_ = false;
      closeRequested_ = true;
      if (attached_ && !scheduled_) schedule = scheduled_ = true;
    }
    if (schedule) pumpLater();
  }

  void abort() override {
    bool schedule = false;
    {
      std::lock_guard lock(mu_);
      if (ended_ || abortRequested_) return;
      open_ = false;
      closeRequested_ = true;
      abortRequested_ = true;
      std::string().swap(pending_);
      if (attached_ && !scheduled_) schedule = scheduled_ = true;
    }
    if (schedule) pumpLater();
  }

  bool isOpen() const override {
    std::lock_guard lock(mu_);
    return open_;
  }

  void onClose(std::function<void()> callback) override {
    if (!callback) return;
    {
      std::lock_guard lock(mu_);
      if (!ended_) {
        callbacks_.push_back(std::move(callback));
        return;
      }
    }
    try {
      callback();
    } catch (...) {
    }
  }

  struct Drain {
    std::string data;
    bool close = false;
    bool abort = false;   // drop the connection now, unsent bytes included
  };

  // Loop thread: the connection starts sending this stream.
  Drain attach() {
    std::lock_guard lock(mu_);
    attached_ = true;
    scheduled_ = false;
    return Drain{std::exchange(pending_, std::string()), closeRequested_, abortRequested_};
  }

  void sent(std::size_t n) {
    std::lock_guard lock(mu_);
    unsent_ -= n < unsent_ ? n : unsent_;
  }

  // Loop thread (or the caller's, when the loop is gone): the stream is over.
  void end() {
    std::vector<std::function<void()>> callbacks;
    {
      std::lock_guard lock(mu_);
      if (ended_) return;
      ended_ = true;
      open_ = false;
      std::string().swap(pending_);
      callbacks.swap(callbacks_);
    }
    for (auto& cb : callbacks) {
      try {
        cb();
      } catch (...) {
      }
    }
  }

 private:
  void pumpLater();
  void pump();

  std::shared_ptr<Loop> loop_;
  std::weak_ptr<Connection> conn_;
  const std::size_t max_;
  mutable std::mutex mu_;
  std::string pending_;
  std::size_t unsent_ = 0;
  bool open_ = true;
  bool ended_ = false;
  bool attached_ = false;
  bool scheduled_ = false;
  bool closeRequested_ = false;
  bool abortRequested_ = false;
  std::vector<std::function<void()>> callbacks_;
};

struct Slot {
  std::uint64_t id = 0;
  bool ready = false;
  bool interim = false;  // 100 Continue: no observer, not the final response
  bool close = false;
  int status = 0;
  std::string bytes;
  std::shared_ptr<StreamImpl> stream;
  Request request;  // kept only when an observer wants it
  Clock::time_point start;
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Loop& loop, int fd, std::string peer, const ParserLimits& limits)
      : loop_(loop), fd_(fd), peer_(std::move(peer)), parser_(limits) {}

  void onEvents(std::uint32_t events);
  void complete(std::uint64_t id, WireResponse wire);
  void completeStream(std::uint64_t id, std::string head, std::shared_ptr<StreamImpl> stream);
  void streamPump(StreamImpl* stream, StreamImpl::Drain drain);
  void onTimeout(TimerKind kind);
  void closeNow();
  bool closed() const { return closed_; }
  std::uint32_t interest = EPOLLIN | EPOLLRDHUP;

  // Timer list links, owned by Loop::timerSet().
  Connection* timerPrev = nullptr;
  Connection* timerNext = nullptr;
  TimerKind timerKind = TimerKind::None;
  Clock::time_point timerStart;

 private:
  void onReadable();
  void advance();
  void process();
  void flush();
  void writeOut();
  void dispatch(Request&& request);
  void pushError(int status, std::string_view message);
  void attachStream(std::shared_ptr<StreamImpl> stream);
  void appendOut(std::string&& bytes);
  void accountSent(std::size_t n);
  void startLinger();
  void updateInterest();
  void updateTimer();
  bool outPending() const { return outOff_ < out_.size(); }
  bool discardInput() const { return lingering_ || stream_ != nullptr || stopParsing_; }

  Loop& loop_;
  int fd_;
  std::string peer_;
  RequestParser parser_;
  std::vector<Slot> slots_;
  std::uint64_t nextSlot_ = 0;
  std::string out_;
  std::size_t outOff_ = 0;
  std::size_t uncounted_ = 0;  // bytes at the front of out_ that are not stream payload
  std::shared_ptr<StreamImpl> stream_;
  bool fresh_ = true;          // no request completed yet: the head timer runs from accept
  bool closed_ = false;
  bool peerEof_ = false;
  bool stopParsing_ = false;
  bool closeAfterWrite_ = false;
  bool lingering_ = false;
  bool writeBlocked_ = false;
  bool inAdvance_ = false;
  bool again_ = false;
};

// ---------------------------------------------------------------------------------------------
// StreamImpl (needs Connection)

void StreamImpl::pumpLater() {
  auto self = shared_from_this();
  // A refused post means the loop shut down; it ended every stream it had attached.
  loop_->post([self] { self->pump(); });
}

void StreamImpl::pump() {
  Drain drain;
  {
    std::lock_guard lock(mu_);
    scheduled_ = false;
    drain.data = std::exchange(pending_, std::string());
    drain.close = closeRequested_;
    drain.abort = abortRequested_;
  }
  auto conn = conn_.lock();
  if (!conn || conn->closed()) {
    end();
    return;
  }
  conn->streamPump(this, std::move(drain));
}

// ---------------------------------------------------------------------------------------------
// Connection

void Connection::onEvents(std::uint32_t events) {
  if (closed_) return;
  // HUP: both directions are gone (peer reset, or it closed after our shutdown): nothing more
  // can be delivered.
  if (events & (EPOLLERR | EPOLLHUP)) {
    closeNow();
    return;
  }
  if (events & (EPOLLIN | EPOLLRDHUP)) {
    onReadable();
    if (closed_) return;
  }
  if (events & EPOLLOUT) {
    writeBlocked_ = false;
    advance();
  }
}

void Connection::onReadable() {
  char* buf = loop_.scratch();
  // A few reads per wake-up at most, so one busy client cannot starve the others; level
  // triggering brings us back for the rest.
  for (int round = 0; round < 4; ++round) {
    const ssize_t n = ::recv(fd_, buf, kReadChunk, 0);
    if (n > 0) {
      if (!discardInput()) parser_.feed(std::string_view(buf, static_cast<std::size_t>(n)));
      if (static_cast<std::size_t>(n) < kReadChunk) break;
      continue;
    }
    if (n == 0) {
      peerEof_ = true;
      break;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    closeNow();
    return;
  }
  advance();
}

void Connection::advance() {
  if (inAdvance_) {  // re-entered from a handler, observer or callback: finish in the outer call
    again_ = true;
    return;
  }
  inAdvance_ = true;
  do {
    again_ = false;
    process();
    if (closed_) break;
    flush();
    if (closed_) break;
  } while (again_);
  inAdvance_ = false;
  if (closed_) return;
  if (peerEof_ && (stream_ || lingering_ || (slots_.empty() && !outPending()))) {
    closeNow();
    return;
  }
  updateInterest();
  updateTimer();
}

void Connection::process() {
  while (!stopParsing_ && slots_.size() < kMaxPipeline) {
    Request request;
    const auto st = parser_.parse(request);
    if (parser_.takeContinue()) {
      Slot s;
      s.id = nextSlot_++;
      s.ready = true;
      s.interim = true;
      s.bytes = std::string(kContinue);
      slots_.push_back(std::move(s));
    }
    if (st == RequestParser::Status::NeedMore) return;
    if (st == RequestParser::Status::Error) {
      pushError(parser_.errorStatus(), parser_.errorMessage());
      return;
    }
    fresh_ = false;
    const bool keepAlive = request.keepAlive;
    dispatch(std::move(request));
    if (closed_) return;
    if (!keepAlive) stopParsing_ = true;
  }
}

void Connection::dispatch(Request&& request) {
  ServerShared& shared = loop_.shared();
  request.peer = peer_;
  const std::uint64_t id = nextSlot_++;
  {
    Slot s;
    s.id = id;
    s.start = Clock::now();
    slots_.push_back(std::move(s));
  }
  auto state = std::make_unique<ResponderState>();
  state->loop = loop_.shared_from_this();
  state->conn = weak_from_this();
  state->slot = id;
  state->wire.head = request.method == "HEAD";
  state->wire.keepAlive = request.keepAlive;
  state->wire.http10 = request.minorVersion == 0;
  state->path = request.path;
  state->maxStreamBytes = shared.options.maxStreamBufferBytes;
  try {
    shared.handler(request, Loop::makeResponder(std::move(state)));
  } catch (...) {
    // The Responder was destroyed during unwinding and answered 500.
  }
  if (closed_ || !shared.observer) return;
  for (auto& s : slots_) {
    if (s.id == id) {
      s.request = std::move(request);
      break;
    }
  }
}

void Connection::pushError(int status, std::string_view message) {
  const Request& partial = parser_.partialRequest();
  Slot s;
  s.id = nextSlot_++;
  s.ready = true;
  s.close = true;
  s.status = status;
  s.start = Clock::now();
  s.bytes = serializeError(status, partial.path, message).bytes;
  if (loop_.shared().observer) {
    s.request.method = partial.method;
    s.request.target = partial.target;
    s.request.path = partial.path;
    s.request.query = partial.query;
    s.request.peer = peer_;
  }
  slots_.push_back(std::move(s));
  stopParsing_ = true;
}

void Connection::complete(std::uint64_t id, WireResponse wire) {
  if (closed_) return;
  for (auto& s : slots_) {
    if (s.id != id) continue;
    if (s.ready) return;
    s.ready = true;
    s.status = wire.status;
    s.close = wire.close;
    s.bytes = std::move(wire.bytes);
    advance();
    return;
  }
}

void Connection::completeStream(std::uint64_t id, std::string head, std::shared_ptr<StreamImpl> stream) {
  if (closed_) {
    stream->end();
    return;
  }
  for (auto& s : slots_) {
    if (s.id != id) continue;
    if (s.ready) break;
    s.ready = true;
    s.close = true;
    s.bytes = std::move(head);
    s.stream = std::move(stream);
    advance();
    return;
  }
  // The slot was dropped (the connection is closing after an earlier response).
  stream->end();
}

void Connection::flush() {
  const auto& observer = loop_.shared().observer;
  while (!slots_.empty() && slots_.front().ready && !closeAfterWrite_ && !stream_) {
    Slot s = std::move(slots_.front());
    slots_.erase(slots_.begin());
    if (!s.interim && !s.stream && observer) {
      try {
        observer(s.request, s.status, Clock::now() - s.start);
      } catch (...) {
      }
    }
    appendOut(std::move(s.bytes));
    if (s.stream) {
      attachStream(std::move(s.stream));
    } else if (s.close) {
      closeAfterWrite_ = true;
    }
  }
  if (closeAfterWrite_ || stream_) {
    // Requests pipelined behind a close or a stream are never answered; their streams end.
    for (auto& s : slots_) {
      if (s.stream) s.stream->end();
    }
    slots_.clear();
    stopParsing_ = true;
  }
  if (slots_.empty() && slots_.capacity() > 0) std::vector<Slot>().swap(slots_);
  writeOut();
}

void Connection::appendOut(std::string&& bytes) {
  if (!outPending()) {
    out_ = std::move(bytes);
    outOff_ = 0;
  } else {
    out_ += bytes;
  }
}

void Connection::attachStream(std::shared_ptr<StreamImpl> stream) {
  stream_ = std::move(stream);
  uncounted_ = out_.size() - outOff_;
  parser_ = RequestParser(ParserLimits{});  // nothing more is parsed: drop buffered input
  auto drain = stream_->attach();
  if (drain.abort) {
    closeNow();
    return;
  }
  if (!drain.data.empty()) appendOut(std::move(drain.data));
  if (drain.close) closeAfterWrite_ = true;
}

void Connection::streamPump(StreamImpl* stream, StreamImpl::Drain drain) {
  if (closed_ || stream_.get() != stream) return;
  if (drain.abort) {
    closeNow();
    return;
  }
  if (!drain.data.empty()) appendOut(std::move(drain.data));
  if (drain.close) closeAfterWrite_ = true;
  advance();
}

void Connection::accountSent(std::size_t n) {
  if (!stream_) {
    uncounted_ = 0;
    return;
  }
  const std::size_t header = n < uncounted_ ? n : uncounted_;
  uncounted_ -= header;
  if (n > header) stream_->sent(n - header);
}

void Connection::writeOut() {
  if (closed_ || writeBlocked_) return;
  while (outPending()) {
    const ssize_t n = ::send(fd_, out_.data() + outOff_, out_.size() - outOff_, MSG_NOSIGNAL);
    if (n > 0) {
      outOff_ += static_cast<std::size_t>(n);
      accountSent(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      writeBlocked_ = true;
      // Slow reader: keep the unsent tail only.
      if (outOff_ >= 64 * 1024 || outOff_ * 2 >= out_.size()) {
        out_.erase(0, outOff_);
        outOff_ = 0;
      }
      return;
    }
    closeNow();
    return;
  }
  std::string().swap(out_);
  outOff_ = 0;
  if (closeAfterWrite_ && !lingering_) {
    if (stream_) {
      auto stream = std::move(stream_);
      stream->end();
      if (closed_) return;
    }
    startLinger();
  }
}

void Connection::startLinger() {
  // Half-close and wait for the peer's FIN instead of closing outright: closing with unread
  // input (an over-long body we refused) would send RST and could destroy our error response
  // before the client read it.
  lingering_ = true;
  ::shutdown(fd_, SHUT_WR);
  parser_ = RequestParser(ParserLimits{});
}

void Connection::updateInterest() {
  std::uint32_t want = 0;
  const bool reading =
      !peerEof_ && (lingering_ || stream_ || (!stopParsing_ && slots_.size() < kMaxPipeline));
  if (reading) want |= EPOLLIN | EPOLLRDHUP;
  if (writeBlocked_) want |= EPOLLOUT;
  if (want == interest) return;
  epoll_event ev{};
  ev.events = want;
  ev.data.ptr = this;
  if (::epoll_ctl(loop_.epollFd(), EPOLL_CTL_MOD, fd_, &ev) == 0) {
    interest = want;
  } else {
    closeNow();
  }
}

void Connection::updateTimer() {
  TimerKind kind = TimerKind::Idle;
  if (lingering_) {
    kind = TimerKind::Linger;
  } else if (stream_ || !slots_.empty()) {
    kind = TimerKind::None;  // waiting for the handler, or streaming: no deadline of ours
  } else if (outPending()) {
    kind = TimerKind::Idle;  // a client that does not read its response: give up eventually
  } else if (parser_.inBody()) {
    kind = TimerKind::Body;
  } else if (fresh_ || parser_.hasPartial()) {
    kind = TimerKind::Header;
  }
  if (kind != timerKind) loop_.timerSet(this, kind);
}

void Connection::onTimeout(TimerKind kind) {
  if (closed_) return;
  if (kind == TimerKind::Header || kind == TimerKind::Body) {
    pushError(408, kind == TimerKind::Header ? "request head not received in time"
                                             : "request body not received in time");
    advance();
    return;
  }
  closeNow();
}

void Connection::closeNow() {
  if (closed_) return;
  closed_ = true;
  loop_.timerSet(this, TimerKind::None);
  ::close(fd_);  // also removes it from the epoll set
  fd_ = -1;
  std::vector<std::shared_ptr<StreamImpl>> ended;
  if (stream_) ended.push_back(std::move(stream_));
  for (auto& s : slots_) {
    if (s.stream) ended.push_back(std::move(s.stream));
  }
  slots_.clear();
  std::string().swap(out_);
  outOff_ = 0;
  loop_.release(this);  // keeps the object alive until the end of this loop iteration
  for (auto& s : ended) s->end();
}

// ---------------------------------------------------------------------------------------------
// Loop

Loop::~Loop() {
  if (ep_ >= 0) ::close(ep_);
  if (wake_ >= 0) ::close(wake_);
  if (reserveFd_ >= 0) ::close(reserveFd_);
}

Result<void> Loop::init(int listenFd) {
  ep_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (ep_ < 0) return makeError(ErrorCode::Unavailable, "epoll_create1: " + systemError(errno));
  wake_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_ < 0) return makeError(ErrorCode::Unavailable, "eventfd: " + systemError(errno));
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = &kWakeTag;
  if (::epoll_ctl(ep_, EPOLL_CTL_ADD, wake_, &ev) != 0) {
    return makeError(ErrorCode::Unavailable, "epoll_ctl(eventfd): " + systemError(errno));
  }
  listenFd_ = listenFd;
  ev.events = EPOLLIN | EPOLLEXCLUSIVE;  // wake one loop per new connection, not all of them
  ev.data.ptr = &kListenTag;
  if (::epoll_ctl(ep_, EPOLL_CTL_ADD, listenFd, &ev) != 0) {
    ev.events = EPOLLIN;
    if (::epoll_ctl(ep_, EPOLL_CTL_ADD, listenFd, &ev) != 0) {
      return makeError(ErrorCode::Unavailable, "epoll_ctl(listener): " + systemError(errno));
    }
  }
  // Spare descriptor: when accept() fails with EMFILE we close it, accept and drop the
  // connection, and reopen it, instead of spinning on a listener that stays readable.
  reserveFd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  scratch_ = std::make_unique<char[]>(kReadChunk);
  return {};
}

bool Loop::post(std::function<void()> task) {
  bool wake = false;
  {
    std::lock_guard lock(taskMutex_);
    if (tasksClosed_) return false;
    wake = tasks_.empty();
    tasks_.push_back(std::move(task));
  }
  if (wake) {
    const std::uint64_t one = 1;
    [[maybe_unused]] ssize_t r = ::write(wake_, &one, sizeof one);
  }
  return true;
}

void Loop::requestStop() {
  stopRequested_.store(true, std::memory_order_release);
  const std::uint64_t one = 1;
  [[maybe_unused]] ssize_t r = ::write(wake_, &one, sizeof one);
}

void Loop::run() {
  tlLoop = this;
  kit::setThreadName("http-loop");
  std::array<epoll_event, kMaxEvents> events{};
  while (!stopRequested_.load(std::memory_order_acquire)) {
    const int n = ::epoll_wait(ep_, events.data(), kMaxEvents, nextTimeoutMs());
    for (int i = 0; i < n; ++i) {
      void* tag = events[static_cast<std::size_t>(i)].data.ptr;
      if (tag == &kListenTag) {
        acceptReady();
      } else if (tag == &kWakeTag) {
        std::uint64_t v = 0;
        [[maybe_unused]] ssize_t r = ::read(wake_, &v, sizeof v);
      } else {
        static_cast<Connection*>(tag)->onEvents(events[static_cast<std::size_t>(i)].events);
      }
    }
    runTasks();
    sweepTimers();
    graveyard_.clear();
  }
  shutdown();
  tlLoop = nullptr;
}

void Loop::shutdown() {
  stopping_ = true;
  ::epoll_ctl(ep_, EPOLL_CTL_DEL, listenFd_, nullptr);
  std::vector<Connection*> all;
  all.reserve(conns_.size());
  for (auto& entry : conns_) all.push_back(entry.first);
  for (Connection* c : all) c->closeNow();
  {
    std::lock_guard lock(taskMutex_);
    tasksClosed_ = true;
  }
  // Tasks queued before the door closed still run: they end streams whose connection is gone
  // and close sockets handed over by other loops.
  runTasks();
  graveyard_.clear();
}

void Loop::runTasks() {
  std::vector<std::function<void()>> tasks;
  {
    std::lock_guard lock(taskMutex_);
    tasks.swap(tasks_);
  }
  for (auto& task : tasks) {
    try {
      task();
    } catch (...) {
    }
  }
}

void Loop::acceptReady() {
  ServerShared& shared = *shared_;
  for (int i = 0; i < kMaxAcceptsPerWake; ++i) {
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    const int fd = ::accept4(listenFd_, reinterpret_cast<sockaddr*>(&addr), &len,
                             SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if ((errno == EMFILE || errno == ENFILE) && reserveFd_ >= 0) {
        ::close(reserveFd_);
        const int victim = ::accept4(listenFd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (victim >= 0) ::close(victim);
        reserveFd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
      }
      return;  // EAGAIN (drained) or an error the next wake-up retries
    }
    if (shared.connections.fetch_add(1, std::memory_order_relaxed) >= shared.options.maxConnections) {
      shared.connections.fetch_sub(1, std::memory_order_relaxed);
      // Over the limit: a best-effort 503 in one non-blocking write, then close, so the
      // listener keeps draining and the client learns why.
      const std::string busy = serializeError(503, "", "too many connections").bytes;
      [[maybe_unused]] ssize_t r = ::send(fd, busy.data(), busy.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      ::close(fd);
      continue;
    }
    configureAcceptedSocket(fd);
    std::string peer = formatPeer(addr);
    Loop* target = shared.loops[shared.nextLoop.fetch_add(1, std::memory_order_relaxed) % shared.loops.size()];
    if (target == this) {
      adopt(fd, std::move(peer));
    } else if (!target->post([target, fd, peer = std::move(peer)]() mutable { target->adopt(fd, std::move(peer)); })) {
      ::close(fd);
      shared.connections.fetch_sub(1, std::memory_order_relaxed);
    }
  }
}

void Loop::adopt(int fd, std::string peer) {
  if (stopping_) {
    ::close(fd);
    shared_->connections.fetch_sub(1, std::memory_order_relaxed);
    return;
  }
  ParserLimits limits;
  limits.maxHeaderBytes = shared_->options.maxHeaderBytes;
  limits.maxBodyBytes = shared_->options.maxBodyBytes;
  auto conn = std::make_shared<Connection>(*this, fd, std::move(peer), limits);
  epoll_event ev{};
  ev.events = conn->interest;
  ev.data.ptr = conn.get();
  if (::epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    ::close(fd);
    shared_->connections.fetch_sub(1, std::memory_order_relaxed);
    return;
  }
  timerSet(conn.get(), TimerKind::Header);
  Connection* key = conn.get();
  conns_.emplace(key, std::move(conn));
  count_.fetch_add(1, std::memory_order_relaxed);
}

void Loop::release(Connection* c) {
  auto it = conns_.find(c);
  if (it == conns_.end()) return;
  graveyard_.push_back(std::move(it->second));
  conns_.erase(it);
  count_.fetch_sub(1, std::memory_order_relaxed);
  shared_->connections.fetch_sub(1, std::memory_order_relaxed);
}

Clock::duration Loop::duration(TimerKind kind) const {
  const ServerOptions& o = shared_->options;
  int ms = kLingerMs;
  switch (kind) {
    case TimerKind::Header: ms = o.headerTimeoutMs; break;
    case TimerKind::Body: ms = o.bodyTimeoutMs; break;
    case TimerKind::Idle: ms = o.idleTimeoutMs; break;
    default: break;
  }
  return std::chrono::milliseconds(ms < 1 ? 1 : ms);
}

void Loop::timerSet(Connection* c, TimerKind kind) {
  if (c->timerKind != TimerKind::None) {
    TimerList& list = timers_[static_cast<std::size_t>(c->timerKind)];
    if (c->timerPrev) c->timerPrev->timerNext = c->timerNext; else list.head = c->timerNext;
    if (c->timerNext) c->timerNext->timerPrev = c->timerPrev; else list.tail = c->timerPrev;
    c->timerPrev = c->timerNext = nullptr;
  }
  c->timerKind = kind;
  if (kind == TimerKind::None) return;
  c->timerStart = Clock::now();
  TimerList& list = timers_[static_cast<std::size_t>(kind)];
  c->timerPrev = list.tail;
  if (list.tail) list.tail->timerNext = c; else list.head = c;
  list.tail = c;
}

int Loop::nextTimeoutMs() {
  const auto now = Clock::now();
  int best = -1;
  for (std::size_t k = 1; k < timers_.size(); ++k) {
    const Connection* head = timers_[k].head;
    if (!head) continue;
    const auto left = head->timerStart + duration(static_cast<TimerKind>(k)) - now;
    auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
    if (ms < 0) ms = 0;
    if (ms > 60'000) ms = 60'000;
    if (best < 0 || ms < best) best = static_cast<int>(ms);
  }
  return best;
}

void Loop::sweepTimers() {
  const auto now = Clock::now();
  for (std::size_t k = 1; k < timers_.size(); ++k) {
    const auto kind = static_cast<TimerKind>(k);
    const auto d = duration(kind);
    while (Connection* c = timers_[k].head) {
      if (c->timerStart + d > now) break;
      timerSet(c, TimerKind::None);
      c->onTimeout(kind);
    }
  }
}

}  // namespace detail

// ---------------------------------------------------------------------------------------------
// Responder

namespace {

void deliver(detail::ResponderState& st, detail::WireResponse wire) {
  if (st.loop->inLoopThread()) {
    if (auto conn = st.conn.lock()) conn->complete(st.slot, std::move(wire));
    return;
  }
  st.loop->post([conn = st.conn, slot = st.slot, wire = std::move(wire)]() mutable {
    if (auto c = conn.lock()) c->complete(slot, std::move(wire));
  });
}

void answerUnused(std::unique_ptr<detail::ResponderState> st) noexcept {
  try {
    auto wire = detail::serializeError(500, st->path, "the handler did not respond",
                                       st->wire.keepAlive, st->wire.head);
    deliver(*st, std::move(wire));
  } catch (...) {
  }
}

}  // namespace

Responder::Responder(std::unique_ptr<detail::ResponderState> state) : state_(std::move(state)) {}

Responder::Responder() = default;

Responder::Responder(Responder&& other) noexcept = default;

Responder& Responder::operator=(Responder&& other) noexcept {
  if (this != &other) {
    if (state_) answerUnused(std::move(state_));
    state_ = std::move(other.state_);
  }
  return *this;
}

Responder::~Responder() {
  if (state_) answerUnused(std::move(state_));
}

void Responder::respond(Response response) {
  if (!state_) return;
  auto st = std::move(state_);
  try {
    deliver(*st, detail::serializeResponse(response, st->wire));
  } catch (...) {
  }
}

StreamPtr Responder::startStream(int status, std::string contentType, std::vector<Header> headers) {
  if (!state_) {
    auto ended = std::make_shared<detail::StreamImpl>(nullptr, std::weak_ptr<detail::Connection>(), 0);
    ended->end();
    return ended;
  }
  auto st = std::move(state_);
  auto stream = std::make_shared<detail::StreamImpl>(st->loop, st->conn, st->maxStreamBytes);
  std::string head = detail::serializeStreamHead(status, contentType, headers);
  if (st->wire.head) stream->close();  // HEAD: the headers only
  auto attach = [conn = st->conn, slot = st->slot, stream, head = std::move(head)]() mutable {
    auto c = conn.lock();
    if (!c) {
      stream->end();
      return;
    }
    c->completeStream(slot, std::move(head), stream);
  };
  if (st->loop->inLoopThread()) {
    attach();
  } else if (!st->loop->post(std::move(attach))) {
    stream->end();
  }
  return stream;
}

// ---------------------------------------------------------------------------------------------
// Server

Server::Server(ServerOptions options, Handler handler) : shared_(std::make_shared<detail::ServerShared>()) {
  shared_->options = std::move(options);
  shared_->handler = std::move(handler);
}

Server::~Server() { stop(); }

void Server::setObserver(Observer observer) {
  std::lock_guard lock(controlMutex_);
  if (!started_) shared_->observer = std::move(observer);
}

std::size_t Server::openConnections() const {
  return shared_->connections.load(std::memory_order_relaxed);
}

std::vector<std::size_t> Server::loopConnectionCounts() const {
  std::lock_guard lock(controlMutex_);
  std::vector<std::size_t> counts;
  for (const auto& loop : loops_) counts.push_back(loop->connectionCount());
  return counts;
}

Result<void> Server::start() {
  std::lock_guard lock(controlMutex_);
  if (started_) return makeError(ErrorCode::Conflict, "HTTP server already started");
  ServerOptions& o = shared_->options;
  if (!shared_->handler) return makeError(ErrorCode::Internal, "HTTP server has no handler");
  if (o.threads < 1) o.threads = 1;
  if (o.threads > 64) o.threads = 64;
  if (o.maxConnections == 0) o.maxConnections = 1;

  detail::raiseFileLimit();

  const bool v6 = o.address.find(':') != std::string::npos;
  const std::string where = (v6 ? "[" + o.address + "]" : o.address) + ":" + std::to_string(o.port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  const int gai = ::getaddrinfo(o.address.c_str(), std::to_string(o.port).c_str(), &hints, &res);
  if (gai != 0 || res == nullptr) {
    return makeError(ErrorCode::Unavailable,
                     "cannot listen on " + where + ": " + (gai != 0 ? ::gai_strerror(gai) : "no address"));
  }
  const int fd = ::socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    const int err = errno;
    ::freeaddrinfo(res);
    return makeError(ErrorCode::Unavailable, "cannot listen on " + where + ": " + detail::systemError(err));
  }
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);  // restart despite TIME_WAIT
  const int bound = ::bind(fd, res->ai_addr, res->ai_addrlen);
  const int bindErr = errno;
  ::freeaddrinfo(res);
  if (bound != 0 || ::listen(fd, 4096) != 0) {
    const int err = bound != 0 ? bindErr : errno;
    ::close(fd);
    return makeError(ErrorCode::Unavailable, "cannot listen on " + where + ": " + detail::systemError(err));
  }
  sockaddr_storage local{};
  socklen_t len = sizeof local;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) == 0) {
    port_ = ntohs(local.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&local)->sin6_port
                                              : reinterpret_cast<sockaddr_in*>(&local)->sin_port);
  }

  std::vector<std::shared_ptr<detail::Loop>> loops;
  for (int i = 0; i < o.threads; ++i) {
    auto loop = std::make_shared<detail::Loop>(shared_.get());
    auto r = loop->init(fd);
    if (!r) {
      loops.clear();
      ::close(fd);
      return makeError(ErrorCode::Unavailable, "cannot start HTTP server on " + where + ": " + r.error().message);
    }
    loops.push_back(std::move(loop));
  }
  shared_->listenFd = fd;
  shared_->loops.clear();
  for (auto& loop : loops) shared_->loops.push_back(loop.get());
  try {
    for (auto& loop : loops) threads_.emplace_back([loop] { loop->run(); });
  } catch (const std::exception& e) {
    for (auto& loop : loops) loop->requestStop();
    for (auto& t : threads_) t.join();
    threads_.clear();
    ::close(fd);
    return makeError(ErrorCode::Unavailable, std::string("cannot start HTTP server threads: ") + e.what());
  }
  loops_ = std::move(loops);
  listenFd_ = fd;
  started_ = true;
  return {};
}

void Server::stop() {
  std::lock_guard lock(controlMutex_);
  if (!started_ || stopped_) return;
  stopped_ = true;
  for (auto& loop : loops_) loop->requestStop();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
  if (listenFd_ >= 0) ::close(listenFd_);
  listenFd_ = -1;
  loops_.clear();
}

}  // namespace gatehouse::core::http
