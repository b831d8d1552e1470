// readSealed: the B8/B9/B11 rules on real files, and that the memfd really is sealed.

#include "signing/sealed_image.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <random>

#include "signing/crypto.h"
#include "temp_dir.h"

namespace gatehouse::core::signing {
namespace {

using testing::TempDir;

std::string randomBytes(std::size_t n) {
  std::mt19937 rng(42);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng() & 0xff);
  return s;
}

void expectError(const Result<SealedImage>& r, ErrorCode code, const std::string& path, const std::string& what) {
  ASSERT_FALSE(r.ok()) << path << " was accepted";
  EXPECT_EQ(r.error().code, code) << r.error().message;
  EXPECT_NE(r.error().message.find(path), std::string::npos) << "message does not name the path: " << r.error().message;
  EXPECT_NE(r.error().message.find(what), std::string::npos) << r.error().message << "\nexpected: " << what;
}

class ReadSealed : public ::testing::Test {
 protected:
  TempDir tmp;
  std::string dir = tmp.mkdir("plugins", 0755);
};

TEST_F(ReadSealed, CopiesHashesAndSealsTheBytes) {
  const std::string content = randomBytes(200 * 1024 + 17);   // several copy chunks
  const std::string path = tmp.write("plugins/libsim.so", content);
  auto image = readSealed(path, FilePolicy{});
  ASSERT_TRUE(image.ok()) << image.error().message;
  EXPECT_EQ(image->size(), content.size());
  EXPECT_EQ(image->bytes(), content);
  EXPECT_EQ(image->sha256Hex(), sha256Hex(content));
  EXPECT_EQ(image->sourcePath(), path);
  EXPECT_EQ(image->procPath(), "/proc/self/fd/" + std::to_string(image->fd()));

  // What dlopen will open is the same bytes, even after the file on disk changes.
  tmp.write("plugins/libsim.so", "swapped!");
  EXPECT_EQ(testing::readFile(image->procPath()), content);
  EXPECT_EQ(::lseek(image->fd(), 0, SEEK_CUR), 0);

  const int seals = ::fcntl(image->fd(), F_GET_SEALS);
  EXPECT_EQ(seals & (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL),
            F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
  EXPECT_EQ(::fcntl(image->fd(), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
}

TEST_F(ReadSealed, TheMemfdCannotBeChanged) {
  const std::string content = randomBytes(5000);
  auto image = readSealed(tmp.write("plugins/libsim.so", content), FilePolicy{});
  ASSERT_TRUE(image.ok()) << image.error().message;

  EXPECT_EQ(::write(image->fd(), "x", 1), -1);
  EXPECT_EQ(errno, EPERM);
  EXPECT_EQ(::pwrite(image->fd(), "x", 1, 0), -1);
  EXPECT_EQ(errno, EPERM);
  // Even through a new writable description of the same memory.
  const int rw = ::open(image->procPath().c_str(), O_RDWR | O_CLOEXEC);
  if (rw >= 0) {
    EXPECT_EQ(::write(rw, "x", 1), -1);
    EXPECT_EQ(errno, EPERM);
    ::close(rw);
  }
  EXPECT_EQ(::ftruncate(image->fd(), 1), -1);
  EXPECT_EQ(errno, EPERM);
  EXPECT_EQ(::ftruncate(image->fd(), 1 << 20), -1);
  EXPECT_EQ(errno, EPERM);
  EXPECT_EQ(::mmap(nullptr, content.size(), PROT_READ | PROT_WRITE, MAP_SHARED, image->fd(), 0), MAP_FAILED);
  EXPECT_EQ(errno, EPERM);
  EXPECT_EQ(::fcntl(image->fd(), F_ADD_SEALS, 0), -1);   // F_SEAL_SEAL: no seal can be removed or added
  EXPECT_EQ(image->bytes(), content);
}

TEST_F(ReadSealed, EmptyFileIsAnEmptyImage) {
  auto image = readSealed(tmp.write("plugins/empty.so", ""), FilePolicy{});
  ASSERT_TRUE(image.ok()) << image.error().message;
  EXPECT_EQ(image->size(), 0u);
  EXPECT_TRUE(image->bytes().empty());
  EXPECT_EQ(image->sha256Hex(), sha256Hex(""));
}

TEST_F(ReadSealed, RefusesASymlink) {
  const std::string real = tmp.write("plugins/real.so", "x");
  const std::string link = dir + "/link.so";
  ASSERT_EQ(::symlink(real.c_str(), link.c_str()), 0);
  expectError(readSealed(link, FilePolicy{}), ErrorCode::NotAllowed, link, "is a symbolic link");

  // A symlinked directory is refused too.
  const std::string dirLink = tmp / "plugins-link";
  ASSERT_EQ(::symlink(dir.c_str(), dirLink.c_str()), 0);
  expectError(readSealed(dirLink + "/real.so", FilePolicy{}), ErrorCode::NotAllowed, dirLink + "/real.so",
              "directory " + dirLink + " is a symbolic link");
}

TEST_F(ReadSealed, RefusesWritableFileOrDirectory) {
  const std::string path = tmp.write("plugins/libsim.so", "abc", 0664);
  expectError(readSealed(path, FilePolicy{}), ErrorCode::NotAllowed, path, "writable by group or others (mode 0664)");
  ::chmod(path.c_str(), 0646);
  expectError(readSealed(path, FilePolicy{}), ErrorCode::NotAllowed, path, "writable by group or others (mode 0646)");
  ::chmod(path.c_str(), 0644);
  ASSERT_TRUE(readSealed(path, FilePolicy{}).ok());

  ::chmod(dir.c_str(), 0775);
  expectError(readSealed(path, FilePolicy{}), ErrorCode::NotAllowed, path, "directory " + dir + " is writable by group or others");
  ::chmod(dir.c_str(), 0757);
  expectError(readSealed(path, FilePolicy{}), ErrorCode::NotAllowed, path, "(mode 0757)");
  ::chmod(dir.c_str(), 0755);
}

TEST_F(ReadSealed, RefusesAnUnexpectedOwnerUnlessTheCheckIsOff) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give a file away";
  const std::string path = tmp.write("plugins/libsim.so", "abc");
  ASSERT_EQ(::chown(path.c_str(), 65534, 65534), 0);
  expectError(readSealed(path, FilePolicy{}), ErrorCode::NotAllowed, path, "owned by uid 65534");
  FilePolicy relaxed;
  relaxed.checkOwner = false;
  EXPECT_TRUE(readSealed(path, relaxed).ok());

  ::chown(path.c_str(), 0, 0);
  ASSERT_EQ(::chown(dir.c_str(), 65534, 65534), 0);
  expectError(readSealed(path, FilePolicy{}), ErrorCode::NotAllowed, path, "directory " + dir + " is owned by uid 65534");
}

TEST_F(ReadSealed, RefusesAnOversizedFileWithoutReadingIt) {
  const std::string path = dir + "/huge.so";
  {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::ftruncate(fd, 1LL << 30), 0);   // sparse: 1 GiB that costs nothing on disk
    ::close(fd);
  }
  const auto start = std::chrono::steady_clock::now();
  auto r = readSealed(path, FilePolicy{});
  const auto elapsed = std::chrono::steady_clock::now() - start;
  expectError(r, ErrorCode::TooLarge, path, "is 1073741824 bytes, over the limit of 67108864 (plugin_host.max_file_bytes)");
  // Reading, hashing and copying 1 GiB takes seconds; refusing on fstat takes microseconds.
  EXPECT_LT(elapsed, std::chrono::milliseconds(200));
}

TEST_F(ReadSealed, LimitIsInclusive) {
  FilePolicy policy;
  policy.maxBytes = 10;
  EXPECT_TRUE(readSealed(tmp.write("plugins/ten.so", std::string(10, 'x')), policy).ok());
  expectError(readSealed(tmp.write("plugins/eleven.so", std::string(11, 'x')), policy), ErrorCode::TooLarge,
              dir + "/eleven.so", "is 11 bytes, over the limit of 10");
}

TEST_F(ReadSealed, RefusesWhatIsNotARegularFile) {
  const std::string fifo = dir + "/fifo.so";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
  expectError(readSealed(fifo, FilePolicy{}), ErrorCode::NotAllowed, fifo, "not a regular file");   // and does not hang
  const std::string sub = tmp.mkdir("plugins/sub.so", 0755);
  expectError(readSealed(sub, FilePolicy{}), ErrorCode::NotAllowed, sub, "not a regular file");
  expectError(readSealed(dir + "/missing.so", FilePolicy{}), ErrorCode::NotFound, dir + "/missing.so", "does not exist");
  expectError(readSealed(tmp / "nodir/x.so", FilePolicy{}), ErrorCode::NotFound, tmp / "nodir/x.so", "does not exist");
}

TEST_F(ReadSealed, MoveTransfersOwnership) {
  auto image = readSealed(tmp.write("plugins/a.so", "abc"), FilePolicy{});
  ASSERT_TRUE(image.ok());
  const int fd = image->fd();
  SealedImage moved = std::move(*image);
  EXPECT_EQ(moved.fd(), fd);
  EXPECT_EQ(image->fd(), -1);
  EXPECT_TRUE(image->bytes().empty());
  EXPECT_EQ(moved.bytes(), "abc");
  {
    SealedImage sink = std::move(moved);
    EXPECT_EQ(sink.fd(), fd);
  }
  EXPECT_EQ(::fcntl(fd, F_GETFD), -1);   // closed with its last owner
  EXPECT_EQ(errno, EBADF);
}

}  // namespace
}  // namespace gatehouse::core::signing
