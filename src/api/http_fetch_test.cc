#include "api/http_fetch.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include "api/test_certs.h"
#include "api/test_web_server.h"
#include "sys/fs.h"

namespace berth::api {
namespace {

using test::httpAnswer;
using test::TestWebServer;

Result<std::pair<Fetched, std::string>> fetchToString(const std::string& url,
                                                      const FetchOptions& options = {}) {
  std::string body;
  auto r = fetchUrl(
      url,
      [&](std::string_view piece) {
        body.append(piece);
        return okStatus();
      },
      options);
  if (!r) return r.error();
  return std::make_pair(*r, body);
}

TEST(FetchUrl, StreamsTheBodyWithTheHeaders) {
  std::string big(300 * 1024, 'x');  // several pieces
  TestWebServer server([&](const std::string&) {
    return httpAnswer(200, "OK", big, {{"Last-Modified", "Wed, 21 Oct 2015 07:28:00 GMT"}});
  });
  auto r = fetchToString(server.base() + "/files/a.txt?v=1#top");
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->second, big);
  EXPECT_EQ(r->first.size, big.size());
  EXPECT_EQ(r->first.headers["last-modified"], "Wed, 21 Oct 2015 07:28:00 GMT");
  auto heads = server.heads();
  ASSERT_EQ(heads.size(), 1u);
  EXPECT_EQ(heads[0].substr(0, heads[0].find("\r\n")), "GET /files/a.txt?v=1 HTTP/1.1");
  EXPECT_NE(heads[0].find("Host: 127.0.0.1:"), std::string::npos) << heads[0];
}

TEST(FetchUrl, FollowsRedirects) {
  TestWebServer server([](const std::string& head) -> std::string {
    if (head.starts_with("GET /old "))
      return httpAnswer(301, "Moved Permanently", "", {{"Location", "/dir/new"}});
    if (head.starts_with("GET /dir/new "))
      return httpAnswer(302, "Found", "", {{"Location", "final"}});
    if (head.starts_with("GET /dir/final ")) return httpAnswer(200, "OK", "hello");
    return httpAnswer(500, "Internal Server Error", "");
  });
  auto r = fetchToString(server.base() + "/old");
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->second, "hello");
  EXPECT_EQ(r->first.url, server.base() + "/dir/final");
}

TEST(FetchUrl, ErrorsSayWhatAndWhere) {
  TestWebServer server([](const std::string& head) -> std::string {
    if (head.starts_with("GET /loop "))
      return httpAnswer(302, "Found", "", {{"Location", "/loop"}});
    if (head.starts_with("GET /short "))
      return "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this";
    return httpAnswer(404, "Not Found", "");
  });
  auto missing = fetchToString(server.base() + "/nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(missing.error().message(),
            "fetch '" + server.base() + "/nope': the server answered 404 Not Found");

  auto loop = fetchToString(server.base() + "/loop");
  ASSERT_FALSE(loop.ok());
  EXPECT_NE(loop.error().message().find("more than 10 redirects"), std::string::npos);

  auto truncated = fetchToString(server.base() + "/short");
  ASSERT_FALSE(truncated.ok());
  EXPECT_EQ(truncated.error().code(), ErrorCode::kUnavailable);

  test::RefusingPort closed;
  auto refused = fetchToString("http://127.0.0.1:" + std::to_string(closed.port()) + "/x");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(refused.error().message().find("connection refused"), std::string::npos)
      << refused.error().message();

  EXPECT_EQ(fetchToString("ftp://example.com/x").error().message(),
            "fetch 'ftp://example.com/x': only http:// and https:// URLs can be fetched");
  EXPECT_EQ(fetchToString("http://user:pw@example.com/").error().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(fetchToString("http://example.com:99999/").error().code(), ErrorCode::kInvalidArgument);
}

// https checks the server's certificate: against the CA given, or the system's CAs, which
// never signed the test's.
TEST(FetchUrl, HttpsVerifiesTheServer) {
  char tmpl[] = "/tmp/berth-fetch-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  struct Cleanup {
    std::string dir;
    ~Cleanup() { (void)sys::removeAll(dir); }
  } cleanup{dir};
  ASSERT_TRUE(test::makeTestCertificates(dir));
  {
    TestWebServer server([](const std::string&) { return httpAnswer(200, "OK", "secret"); }, dir);
    FetchOptions trusted;
    trusted.ca_file = dir + "/ca.pem";
    auto ok = fetchToString(server.base() + "/f", trusted);
    ASSERT_TRUE(ok.ok()) << ok.error().message();
    EXPECT_EQ(ok->second, "secret");

    auto untrusted = fetchToString(server.base() + "/f");
    ASSERT_FALSE(untrusted.ok());
    EXPECT_EQ(untrusted.error().code(), ErrorCode::kUnavailable);
    EXPECT_NE(untrusted.error().message().find("tls handshake"), std::string::npos)
        << untrusted.error().message();
  }
}

TEST(FetchUrl, ASinkErrorStopsTheDownload) {
  TestWebServer server([](const std::string&) { return httpAnswer(200, "OK", "abc"); });
  auto r = fetchUrl(server.base() + "/",
                    [](std::string_view) -> Status { return invalidArgument("disk full"); });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "fetch '" + server.base() + "/': disk full");
}

}  // namespace
}  // namespace berth::api
