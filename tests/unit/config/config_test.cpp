// The gateway's configuration: defaults, the shipped file, every error kind with its exact
// position and key path, the loopback rule, caps, and the docs staying in step with the schema.
#include "config/config.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace gatehouse::core::config {
namespace {

const std::string kSourceDir = GATEHOUSE_SOURCE_DIR;

std::string readText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The whole error output for `yaml`, which must be refused.
std::string errorsFor(const std::string& yaml) {
  const Result<Config> r = loadString(yaml, "gw.yaml");
  EXPECT_FALSE(r.ok()) << yaml;
  if (r.ok()) return {};
  EXPECT_EQ(r.error().code, ErrorCode::BadRequest);
  return r.error().message;
}

Config loadOk(const std::string& yaml) {
  Result<Config> r = loadString(yaml, "gw.yaml");
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? r.value() : Config{};
}

// A temporary directory removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "gatehouse-config-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data()) != nullptr ? tmpl : std::string();
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string write(const std::string& name, const std::string& text) const {
    const std::string p = path_ + "/" + name;
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(Config, EmptyFileMeansAllDefaults) {
  for (const char* yaml : {"", "# comments only\n", "gateway:\nhttp:\n"}) {
    Config c = loadOk(yaml);
    Config expected;
    expected.sourcePath = "gw.yaml";
    EXPECT_EQ(c, expected) << yaml;
  }
  const Config d;
  EXPECT_EQ(d.gateway.id, "gatehouse");
  EXPECT_EQ(d.http.listen, "127.0.0.1");
  EXPECT_EQ(d.http.port, 8899);
  EXPECT_EQ(d.pluginHost.maxFileBytes, 64ull << 20);
  EXPECT_TRUE(d.pluginHost.checkOwner);
  EXPECT_TRUE(d.plugins.empty());
}

TEST(Config, EveryKeyIsRead) {
  const Config c = loadOk(
      "gateway: {id: 'gw-1.site:a', log_level: debug}\n"
      "http:\n"
      "  listen: ::1\n"
      "  port: 0\n"
      "  threads: 64\n"
      "  max_connections: 1000000\n"
      "  max_body_bytes: 67108864\n"
      "  max_header_bytes: 1024\n"
      "  header_timeout_ms: 100\n"
      "  body_timeout_ms: 3600000\n"
      "  idle_timeout_ms: 5000\n"
      "  sse_queue: 7\n"
      "  sse_heartbeat_ms: 250\n"
      "  sse_max_clients: 100000\n"
      "auth: {mode: none}\n"
      "plugin_host: {directory: /opt/p, trust_store: t, revocation_list: /r.txt, state_dir: /s, max_file_bytes: 4096, "
      "check_owner: false}\n"
      "plugins:\n"
      "  sim: {lights: 0}\n"
      "  other-one:\n");
  EXPECT_EQ(c.gateway.id, "gw-1.site:a");
  EXPECT_EQ(c.gateway.logLevel, "debug");
  EXPECT_EQ(c.http.listen, "::1");
  EXPECT_EQ(c.http.port, 0);
  EXPECT_EQ(c.http.threads, 64);
  EXPECT_EQ(c.http.maxConnections, 1000000u);
  EXPECT_EQ(c.http.maxBodyBytes, 67108864u);
  EXPECT_EQ(c.http.maxHeaderBytes, 1024u);
  EXPECT_EQ(c.http.headerTimeoutMs, 100);
  EXPECT_EQ(c.http.bodyTimeoutMs, 3600000);
  EXPECT_EQ(c.http.idleTimeoutMs, 5000);
  EXPECT_EQ(c.http.sseQueue, 7u);
  EXPECT_EQ(c.http.sseHeartbeatMs, 250);
  EXPECT_EQ(c.http.sseMaxClients, 100000u);
  EXPECT_EQ(c.auth.mode, "none");
  EXPECT_EQ(c.pluginHost.directory, "/opt/p");
  EXPECT_EQ(c.pluginHost.trustStore, "t");
  EXPECT_EQ(c.pluginHost.revocationList, "/r.txt");
  EXPECT_EQ(c.pluginHost.stateDir, "/s");
  EXPECT_EQ(c.pluginHost.maxFileBytes, 4096u);
  EXPECT_FALSE(c.pluginHost.checkOwner);
  ASSERT_EQ(c.plugins.size(), 2u);
  EXPECT_EQ(c.plugins[0].name, "sim");
  EXPECT_EQ(c.plugins[0].line, 18);
  EXPECT_EQ(c.plugins[0].settings["lights"].as<int>(), 0);
  EXPECT_EQ(c.plugins[1].name, "other-one");
  EXPECT_TRUE(c.plugins[1].settings.IsNull());
}

TEST(Config, ShippedFileLoadsWithDefaultsAndTheDevId) {
  const std::string path = kSourceDir + "/etc/gatehouse.yaml";
  const Result<Config> r = loadFile(path);
  ASSERT_TRUE(r.ok()) << r.error().message;
  Config expected;
  expected.sourcePath = path;
  expected.gateway.id = "gatehouse-dev";
  Config shipped = r.value();
  ASSERT_EQ(shipped.plugins.size(), 1u);
  EXPECT_EQ(shipped.plugins[0].name, "sim");
  EXPECT_EQ(shipped.plugins[0].settings["interval_ms"].as<int>(), 1000);
  shipped.plugins.clear();
  EXPECT_EQ(shipped, expected);
}

TEST(Config, ShippedFileSpellsOutEveryKey) {
  const YAML::Node root = YAML::LoadFile(kSourceDir + "/etc/gatehouse.yaml");
  for (const std::string& path : gatewaySchema().keyPaths()) {
    YAML::Node node = root;
    std::size_t start = 0;
    while (start <= path.size()) {
      const std::size_t dot = std::min(path.find('.', start), path.size());
      node.reset(node[path.substr(start, dot - start)]);
      start = dot + 1;
    }
    EXPECT_TRUE(node.IsDefined() && !node.IsNull()) << path << " is missing from etc/gatehouse.yaml";
  }
}

struct ErrorCase {
  const char* name;
  const char* yaml;
  const char* expected;   // the complete output
};

class ConfigErrors : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(ConfigErrors, ReportedWithPositionAndKeyPath) {
  EXPECT_EQ(errorsFor(GetParam().yaml), GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(
    EachKind, ConfigErrors,
    ::testing::Values(
        ErrorCase{"unknown_key", "http:\n  prot: 80\n",
                  "gw.yaml:2:3: http.prot: unknown key; did you mean \"port\"? Valid keys in http: listen, port, "
                  "threads, max_connections, max_body_bytes, max_header_bytes, header_timeout_ms, body_timeout_ms, "
                  "idle_timeout_ms, sse_queue, sse_heartbeat_ms, sse_stall_timeout_ms, sse_max_clients, command_timeout_ms"},
        ErrorCase{"unknown_section", "plugin_hots:\n  check_owner: false\n",
                  "gw.yaml:1:1: plugin_hots: unknown key; did you mean \"plugin_host\"? Valid top-level keys: gateway, "
                  "http, auth, plugin_host, mqtt_northbound, plugins"},
        ErrorCase{"duplicate_key", "http:\n  port: 1\n  threads: 2\n  port: 2\n",
                  "gw.yaml:4:3: http.port: duplicate key; it is already set at line 2, column 3 (YAML would silently "
                  "keep only one of them)"},
        ErrorCase{"duplicate_section", "http: {}\nauth: {}\nhttp: {port: 1}\n",
                  "gw.yaml:3:1: http: duplicate key; it is already set at line 1, column 1 (YAML would silently keep "
                  "only one of them)"},
        ErrorCase{"int_from_text", "http:\n  threads: abc\n",
                  "gw.yaml:2:12: http.threads: expected an integer, found string \"abc\""},
        ErrorCase{"int_from_float", "http:\n  threads: 2.5\n",
                  "gw.yaml:2:12: http.threads: expected an integer, found number 2.5"},
        ErrorCase{"int_overflow", "http:\n  max_body_bytes: 18446744073709551616\n",
                  "gw.yaml:2:19: http.max_body_bytes: must be between 1024 and 67108864, found 18446744073709551616"},
        ErrorCase{"int_below_range", "http:\n  threads: 0\n",
                  "gw.yaml:2:12: http.threads: must be between 1 and 64, found 0"},
        ErrorCase{"port_above_range", "http: {port: 65536}\n",
                  "gw.yaml:1:14: http.port: must be between 0 and 65535, found 65536"},
        ErrorCase{"bool_yes", "plugin_host:\n  check_owner: yes\n",
                  "gw.yaml:2:16: plugin_host.check_owner: expected true or false, found string \"yes\""},
        ErrorCase{"enum_value", "gateway:\n  log_level: warning\n",
                  "gw.yaml:2:14: gateway.log_level: must be one of trace, debug, info, warn, error; found \"warning\" "
                  "(did you mean \"warn\"?)"},
        ErrorCase{"auth_mode", "auth:\n  mode: ldap\n", "gw.yaml:2:9: auth.mode: must be one of none, oauth2; found \"ldap\""},
        ErrorCase{"oauth2_needs_issuer", "auth:\n  mode: oauth2\n  oauth2:\n    audience: gatehouse\n",
                  "gw.yaml:2:9: auth.oauth2.issuer: auth.mode is oauth2, so auth.oauth2.issuer is required"},
        ErrorCase{"oauth2_plain_http_issuer",
                  "auth:\n  mode: oauth2\n  oauth2:\n    issuer: http://sso.example/realms/a\n    audience: gatehouse\n",
                  "gw.yaml:4:13: auth.oauth2.issuer: the issuer must be an https:// URL (plain http only to a loopback IdP "
                  "with allow_insecure_loopback)"},
        ErrorCase{"oauth2_loopback_http_needs_opt_in",
                  "auth:\n  mode: oauth2\n  oauth2:\n    issuer: http://127.0.0.1:9000\n    audience: gatehouse\n",
                  "gw.yaml:4:13: auth.oauth2.issuer: a plain-http issuer needs auth.oauth2.allow_insecure_loopback: true"},
        ErrorCase{"oauth2_symmetric_algorithm", "auth:\n  oauth2:\n    algorithms: [RS256, HS256]\n",
                  "gw.yaml:3:25: auth.oauth2.algorithms[1]: must be RS256, PS256, ES256 or EdDSA (symmetric HS* and none "
                  "are never accepted), found \"HS256\""},
        ErrorCase{"oauth2_introspection_needs_the_secret",
                  "auth:\n  oauth2:\n    introspection_client_id: gw\n",
                  "gw.yaml:3:30: auth.oauth2.introspection_client_id: introspection needs both "
                  "auth.oauth2.introspection_client_id and introspection_client_secret"},
        ErrorCase{"oauth2_leeway_above_60", "auth:\n  oauth2:\n    leeway_s: 61\n", "gw.yaml:3:15: auth.oauth2.leeway_s: must be between 0 and 60, found 61"},
        ErrorCase{"pattern_id", "gateway:\n  id: 'my gateway'\n",
                  "gw.yaml:2:7: gateway.id: must be 1 to 128 characters from A-Z a-z 0-9 _ . : -, found \"my "
                  "gateway\""},
        ErrorCase{"plugin_name", "plugins:\n  Sim: {}\n",
                  "gw.yaml:2:3: plugins.Sim: must be 1 to 64 characters from a-z 0-9 _ -, found \"Sim\""},
        ErrorCase{"plugin_block_scalar", "plugins:\n  sim: 5\n",
                  "gw.yaml:2:8: plugins.sim: expected a section of settings (or nothing), found integer 5"},
        ErrorCase{"plugins_list", "plugins:\n  - sim\n",
                  "gw.yaml:2:3: plugins: expected a mapping of names to settings, found a list"},
        ErrorCase{"plugin_twice", "plugins:\n  sim: {}\n  sim: {lights: 2}\n",
                  "gw.yaml:3:3: plugins.sim: duplicate key; it is already set at line 2, column 3 (YAML would silently "
                  "keep only one of them)"},
        ErrorCase{"listen_not_an_address", "http:\n  listen: example.com\n",
                  "gw.yaml:2:11: http.listen: must be an IPv4 or IPv6 address literal (without brackets) or "
                  "\"localhost\", found \"example.com\""},
        ErrorCase{"mapping_for_scalar", "http:\n  port:\n    value: 1\n",
                  "gw.yaml:3:5: http.port: expected an integer, found a mapping"},
        ErrorCase{"scalar_for_section", "http: 8080\n",
                  "gw.yaml:1:7: http: expected a section with the keys listen, port, threads, max_connections, "
                  "max_body_bytes, max_header_bytes, header_timeout_ms, body_timeout_ms, idle_timeout_ms, sse_queue, "
                  "sse_heartbeat_ms, sse_stall_timeout_ms, sse_max_clients, command_timeout_ms, found integer 8080"},
        ErrorCase{"list_for_scalar", "gateway:\n  id: [a, b]\n", "gw.yaml:2:7: gateway.id: expected a string, found a list"},
        ErrorCase{"empty_value", "plugin_host:\n  max_file_bytes:\n",
                  "gw.yaml:2:3: plugin_host.max_file_bytes: expected an integer, found nothing (an empty value); remove "
                  "the key to use the default"},
        ErrorCase{"syntax", "http:\n  port: 1\n   threads: 2\n",
                  "gw.yaml:3:11: YAML syntax error: illegal map value"},
        ErrorCase{"root_not_mapping", "- http\n- auth\n",
                  "gw.yaml:1:1: the top level must be a mapping with the keys gateway, http, auth, plugin_host, mqtt_northbound, plugins; "
                  "found a "
                  "list"},
        ErrorCase{"root_scalar", "hello\n",
                  "gw.yaml:1:1: the top level must be a mapping with the keys gateway, http, auth, plugin_host, mqtt_northbound, plugins; "
                  "found "
                  "string \"hello\""},
        ErrorCase{"two_documents", "http: {}\n---\nauth: {}\n",
                  "gw.yaml:2:1: a second YAML document starts here; the configuration must be one document"}),
    [](const ::testing::TestParamInfo<ErrorCase>& info) { return std::string(info.param.name); });

TEST(Config, AllProblemsAreReportedTogetherInFileOrder) {
  const std::string out = errorsFor(
      "gateway:\n"
      "  id: 'bad id'\n"
      "  log_level: loud\n"
      "http:\n"
      "  listen: 0.0.0.0\n"
      "  port: -1\n"
      "  treads: 4\n"
      "plugin_host:\n"
      "  check_owner: 1\n"
      "  max_file_bytes: 5\n");
  EXPECT_EQ(out,
            "gw.yaml:2:7: gateway.id: must be 1 to 128 characters from A-Z a-z 0-9 _ . : -, found \"bad id\"\n"
            "gw.yaml:3:14: gateway.log_level: must be one of trace, debug, info, warn, error; found \"loud\"\n"
            "gw.yaml:5:11: http.listen: auth.mode is none, so http.listen must be a loopback address (127.0.0.0/8 or "
            "::1); configure authentication before listening on 0.0.0.0\n"
            "gw.yaml:6:9: http.port: must be between 0 and 65535, found -1\n"
            "gw.yaml:7:3: http.treads: unknown key; did you mean \"threads\"? Valid keys in http: listen, port, "
            "threads, max_connections, max_body_bytes, max_header_bytes, header_timeout_ms, body_timeout_ms, "
            "idle_timeout_ms, sse_queue, sse_heartbeat_ms, sse_stall_timeout_ms, sse_max_clients, command_timeout_ms\n"
            "gw.yaml:9:16: plugin_host.check_owner: expected true or false, found integer 1\n"
            "gw.yaml:10:19: plugin_host.max_file_bytes: must be between 4096 and 1073741824, found 5");
}

TEST(Config, LoopbackRuleWithoutAuthentication) {
  for (const char* listen : {"127.0.0.1", "127.8.9.10", "::1", "localhost", "'::ffff:127.0.0.1'"}) {
    EXPECT_TRUE(loadString(std::string("http:\n  listen: ") + listen + "\n", "gw.yaml").ok()) << listen;
  }
  EXPECT_EQ(errorsFor("auth:\n  mode: none\nhttp:\n  port: 80\n  listen: 192.168.1.10\n"),
            "gw.yaml:5:11: http.listen: auth.mode is none, so http.listen must be a loopback address (127.0.0.0/8 or "
            "::1); configure authentication before listening on 192.168.1.10");
  EXPECT_EQ(errorsFor("http: {listen: '::'}\n"),
            "gw.yaml:1:16: http.listen: auth.mode is none, so http.listen must be a loopback address (127.0.0.0/8 or "
            "::1); configure authentication before listening on ::");
  // An address that does not parse gets that complaint only, not the loopback one as well.
  EXPECT_EQ(errorsFor("http: {listen: 10.0.0.256}\n"),
            "gw.yaml:1:16: http.listen: must be an IPv4 or IPv6 address literal (without brackets) or \"localhost\", "
            "found \"10.0.0.256\"");
}

TEST(Config, LoopbackAndListenAddressClassification) {
  for (const char* a : {"127.0.0.1", "127.255.255.254", "::1", "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1", "localhost"}) {
    EXPECT_TRUE(isLoopbackAddress(a)) << a;
    EXPECT_TRUE(isListenAddress(a)) << a;
  }
  for (const char* a : {"0.0.0.0", "::", "128.0.0.1", "10.1.2.3", "fe80::1", "::ffff:10.0.0.1", "2001:db8::1"}) {
    EXPECT_FALSE(isLoopbackAddress(a)) << a;
    EXPECT_TRUE(isListenAddress(a)) << a;
  }
  for (const char* a : {"", "127.1", "127.0.0.1.", "[::1]", "::1%lo", "LOCALHOST", "localhost.", "host", "127.0.0.1 "}) {
    EXPECT_FALSE(isLoopbackAddress(a)) << a;
    EXPECT_FALSE(isListenAddress(a)) << a;
  }
  EXPECT_FALSE(isLoopbackAddress(std::string_view("127.0.0.1\0.5.6.7", 16)));
  EXPECT_FALSE(isListenAddress(std::string_view("127.0.0.1\0.5.6.7", 16)));
}

TEST(Config, OversizedTextIsRefused) {
  const std::string big = "gateway: {id: a}\n#" + std::string(1024 * 1024, 'x') + "\n";
  EXPECT_EQ(errorsFor(big), "gw.yaml: the file is " + std::to_string(big.size()) + " bytes; the limit is 1048576 bytes");
  // Exactly 1 MiB is still fine.
  std::string exact = "gateway: {id: a}\n#";
  exact += std::string(1024 * 1024 - exact.size(), 'x');
  EXPECT_TRUE(loadString(exact, "gw.yaml").ok());
}

TEST(Config, OversizedFileIsRefusedBeforeReading) {
  TempDir dir;
  const std::string path = dir.path() + "/big.yaml";
  {
    std::ofstream out(path, std::ios::binary);
    out << "gateway: {id: a}\n";
  }
  std::filesystem::resize_file(path, 64u * 1024 * 1024);   // sparse: costs nothing to make
  const Result<Config> r = loadFile(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, path + ": the configuration file is larger than 1048576 bytes");
}

TEST(Config, DeepNestingIsRefused) {
  const std::string deep = "gateway:\n  id: " + std::string(100, '[') + std::string(100, ']') + "\n";
  EXPECT_EQ(errorsFor(deep), "gw.yaml:2:69: nesting is deeper than 64 levels; a configuration never needs that");
}

TEST(Config, MissingAndUnreadableFilesNameThePath) {
  TempDir dir;
  const Result<Config> missing = loadFile(dir.path() + "/nope.yaml");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::NotFound);
  EXPECT_EQ(missing.error().message,
            dir.path() + "/nope.yaml: cannot open the configuration file: No such file or directory");

  const Result<Config> directory = loadFile(dir.path());
  ASSERT_FALSE(directory.ok());
  EXPECT_EQ(directory.error().message, dir.path() + ": the configuration file is not a regular file");
}

TEST(Config, FileErrorsUseThePathAsGiven) {
  TempDir dir;
  const std::string path = dir.write("gw.yaml", "http:\n  port: high\n");
  const Result<Config> r = loadFile(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, path + ":2:9: http.port: expected an integer, found string \"high\"");
  const std::string good = dir.write("ok.yaml", "http:\n  port: 9000\n");
  const Result<Config> ok = loadFile(good);
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->http.port, 9000);
  EXPECT_EQ(ok->sourcePath, good);
}

// docs/configuration.md carries the rendered schema between markers and two real error outputs.
class ConfigDocs : public ::testing::Test {
 protected:
  const std::string doc_ = readText(kSourceDir + "/docs/configuration.md");
};

TEST_F(ConfigDocs, MentionEveryKey) {
  ASSERT_FALSE(doc_.empty());
  for (const std::string& path : gatewaySchema().keyPaths()) {
    EXPECT_NE(doc_.find("`" + path + "`"), std::string::npos) << path << " is not documented";
  }
}

TEST_F(ConfigDocs, ContainTheCurrentRenderedSchema) {
  const std::string rendered = renderMarkdown(gatewaySchema());
  const std::string begin = "<!-- BEGIN schema: generated from gatewaySchema() -->\n";
  const std::string end = "<!-- END schema -->";
  const std::size_t b = doc_.find(begin);
  const std::size_t e = doc_.find(end);
  ASSERT_NE(b, std::string::npos);
  ASSERT_NE(e, std::string::npos);
  const std::string inDoc = doc_.substr(b + begin.size(), e - b - begin.size());
  // On failure, paste the "rendered" text between the markers.
  EXPECT_EQ(inDoc, rendered) << "docs/configuration.md is out of date; rendered:\n" << rendered;
}

TEST_F(ConfigDocs, ShowRealErrorOutput) {
  // The same inputs as the "Errors" section of the docs.
  const std::string first = errorsFor(
      "gateway:\n"
      "  log_level: verbose\n"
      "http:\n"
      "  listen: 0.0.0.0\n"
      "  prot: 8080\n"
      "  threads: \"4\"\n"
      "plugin_host:\n"
      "  check_owner: yes\n");
  const std::string second = errorsFor("http:\n  port: 8080\n  port: 8081\n");
  for (std::string out : {first, second}) {
    // The docs show the output for a file called etc/gatehouse.yaml.
    std::string shown;
    std::istringstream lines(out);
    for (std::string line; std::getline(lines, line);) shown += "etc/gatehouse.yaml" + line.substr(7) + "\n";
    EXPECT_NE(doc_.find(shown), std::string::npos) << "docs/configuration.md should show:\n" << shown;
  }
}

}  // namespace
}  // namespace gatehouse::core::config
