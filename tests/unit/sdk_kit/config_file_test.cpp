// kit/config/file.h: reading a configuration file whole, within a size limit.
#include "gatehouse/kit/config/file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

namespace gatehouse::kit::config {
namespace {

class ReadConfigFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) / ("kit_config_file_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& content) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }
  std::filesystem::path dir_;
};

TEST_F(ReadConfigFile, ReadsTheWholeFile) {
  const std::string content = std::string("layouts:\n  - name: a\n") + std::string(1, '\0') + "\xff tail";
  auto r = readConfigFile(write("ok.yaml", content), 1024, "the layouts file");
  ASSERT_TRUE(r) << r.message();
  EXPECT_EQ(*r, content);
}

TEST_F(ReadConfigFile, EmptyFileAndExactlyTheLimit) {
  auto empty = readConfigFile(write("empty.yaml", ""), 10, "the layouts file");
  ASSERT_TRUE(empty) << empty.message();
  EXPECT_EQ(*empty, "");
  auto full = readConfigFile(write("ten.yaml", "0123456789"), 10, "the layouts file");
  ASSERT_TRUE(full) << full.message();
  EXPECT_EQ(*full, "0123456789");
}

TEST_F(ReadConfigFile, MissingFileIsNotFoundWithTheReason) {
  const std::string path = (dir_ / "nope.yaml").string();
  auto r = readConfigFile(path, 1024, "the mappings file");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::NotFound);
  EXPECT_EQ(r.message(), path + ": cannot open the mappings file: No such file or directory");
}

TEST_F(ReadConfigFile, TooBigIsRefusedBeforeReading) {
  const std::string path = write("big.yaml", "01234567890");
  auto r = readConfigFile(path, 10, "the layouts file");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::BadRequest);
  EXPECT_EQ(r.message(), path + ": the layouts file is larger than 10 bytes");

  // A sparse file far beyond the limit costs nothing to refuse.
  const std::string huge = write("huge.yaml", "");
  std::filesystem::resize_file(huge, 64u * 1024 * 1024);
  auto h = readConfigFile(huge, 1024 * 1024, "the layouts file");
  ASSERT_FALSE(h);
  EXPECT_EQ(h.message(), huge + ": the layouts file is larger than 1048576 bytes");
}

TEST_F(ReadConfigFile, DirectoryAndFifoAreNotRegularFiles) {
  const std::string path = dir_.string();
  auto r = readConfigFile(path, 1024, "the layouts file");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::BadRequest);
  EXPECT_EQ(r.message(), path + ": the layouts file is not a regular file");

  // A FIFO nobody writes to must not hang the reader.
  const std::string fifo = (dir_ / "fifo.yaml").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  auto f = readConfigFile(fifo, 1024, "the layouts file");
  ASSERT_FALSE(f);
  EXPECT_EQ(f.message(), fifo + ": the layouts file is not a regular file");
}

TEST_F(ReadConfigFile, UnreadableFileNamesTheReason) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads files whatever their mode";
  const std::string path = write("secret.yaml", "x: 1\n");
  ASSERT_EQ(::chmod(path.c_str(), 0), 0);
  auto r = readConfigFile(path, 1024, "the mappings file");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::BadRequest);
  EXPECT_EQ(r.message(), path + ": cannot open the mappings file: Permission denied");
}

}  // namespace
}  // namespace gatehouse::kit::config
