#include "catalog/health.h"

#include <boost/asio.hpp>
#include <map>

#include "common/strings.h"

namespace berth::catalog {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using boost::system::error_code;

// How much of an HTTP answer is read: its status line must fit.
constexpr size_t kMaxStatusLine = 4096;

std::string lowerFirst(std::string s) {
  if (!s.empty()) s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

// "HTTP/1.1 200 OK" → "HTTP 200 OK" and whether it passes (2xx); nullopt for anything else.
std::optional<std::pair<bool, std::string>> readStatusLine(std::string_view line) {
  if (!startsWith(line, "HTTP/")) return std::nullopt;
  size_t space = line.find(' ');
  if (space == std::string_view::npos || line.size() < space + 4) return std::nullopt;
  if (line.size() > space + 4 && line[space + 4] != ' ') return std::nullopt;
  auto code = parseInt(line.substr(space + 1, 3));
  if (!code || *code < 100 || *code > 999) return std::nullopt;
  std::string reason(trim(line.substr(space + 4)));
  reason.resize(std::min<size_t>(reason.size(), 64));
  for (char& c : reason)
    if (static_cast<unsigned char>(c) < ' ' || c == 0x7f) c = '?';
  std::string output = "HTTP " + std::to_string(*code) + (reason.empty() ? "" : " " + reason);
  return std::make_pair(*code >= 200 && *code < 300, output);
}

std::string commandOutput(int status, const std::string& out) {
  std::string said(trim(out));
  return "exit status " + std::to_string(status) + (said.empty() ? "" : ": " + said);
}

// One instance's check; lives on the loop's thread (and, for a command, the command's).
struct Probe {
  Probe(asio::io_context& io, std::string k, uint64_t g, Instance i)
      : key(std::move(k)),
        generation(g),
        in(std::move(i)),
        tally(in.check),
        target(in.address + ":" + std::to_string(in.port)),
        next(io),
        deadline(io),
        socket(io) {}

  const std::string key;
  const uint64_t generation;
  const Instance in;
  Tally tally;
  const std::string target;  // "10.89.0.2:80"

  asio::steady_timer next;      // the next run
  asio::steady_timer deadline;  // the running one's timeout
  tcp::socket socket;
  std::string request;
  std::string response;
  Clock::time_point started;
  uint64_t run = 0;  // which run the deadline belongs to
  bool timed_out = false;
  bool stopped = false;
  std::thread command;
};
using ProbePtr = std::shared_ptr<Probe>;

}  // namespace

bool Tally::record(bool passed) {
  Health before = health_;
  if (passed) {
    fails_ = 0;
    if (++passes_ >= check_.successes) health_ = Health::kPassing;
  } else {
    passes_ = 0;
    if (++fails_ >= check_.failures) health_ = Health::kCritical;
  }
  bool first = !reported_;
  reported_ = true;
  return first || health_ != before;
}

struct HealthChecker::Loop {
  Loop(CommandRunner run, std::function<void(CheckReport)> report)
      : run_command(std::move(run)), report(std::move(report)) {
    thread = std::thread([this] { io.run(); });
  }

  // Stops every check; returns once running commands have finished.
  ~Loop() {
    asio::post(io, [this] {
      for (auto& [key, p] : probes) halt(p);
      probes.clear();
    });
    work.reset();
    thread.join();
  }

  void start(const std::string& key, uint64_t generation, const Instance& in) {
    asio::post(io, [this, key, generation, in] {
      if (auto it = probes.find(key); it != probes.end()) halt(it->second);
      auto p = std::make_shared<Probe>(io, key, generation, in);
      probes[key] = p;
      runCheck(p);
    });
  }

  void stop(const std::string& key) {
    asio::post(io, [this, key] {
      auto it = probes.find(key);
      if (it == probes.end()) return;
      halt(it->second);
      probes.erase(it);
    });
  }

  void halt(const ProbePtr& p) {
    p->stopped = true;
    p->next.cancel();
    p->deadline.cancel();
    error_code ignored;
    p->socket.close(ignored);
  }

  void schedule(const ProbePtr& p, Clock::time_point at) {
    p->next.expires_at(at);
    p->next.async_wait([this, p](error_code ec) {
      if (!ec && !p->stopped) runCheck(p);
    });
  }

  void runCheck(const ProbePtr& p) {
    p->started = Clock::now();
    ++p->run;
    if (p->in.check.kind == Check::Kind::kCommand) return runCommand(p);
    p->timed_out = false;
    p->socket = tcp::socket(io);
    p->deadline.expires_after(p->in.check.timeout);
    p->deadline.async_wait([p, run = p->run](error_code ec) {
      if (ec || p->run != run) return;
      p->timed_out = true;
      p->socket.close(ec);
    });
    error_code ec;
    tcp::endpoint to(asio::ip::make_address_v4(p->in.address, ec), p->in.port);
    if (ec) return finish(p, false, "connect " + p->target + ": " + ec.message());
    p->socket.async_connect(to, [this, p](error_code ec) {
      if (p->stopped) return;
      if (ec) return finish(p, false, "connect " + p->target + ": " + failure(p, ec));
      if (p->in.check.kind == Check::Kind::kTcp)
        return finish(p, true, "connect " + p->target + ": ok");
      sendRequest(p);
    });
  }

  // A raw HTTP/1.0 GET: only the status line of the answer matters.
  void sendRequest(const ProbePtr& p) {
    std::string path = p->in.check.path.empty() ? "/" : p->in.check.path;
    std::string what = "GET http://" + p->target + path + ": ";
    p->request = "GET " + path + " HTTP/1.0\r\nHost: " + p->target +
                 "\r\nUser-Agent: berth-health\r\nAccept: */*\r\nConnection: close\r\n\r\n";
    asio::async_write(p->socket, asio::buffer(p->request), [this, p, what](error_code ec, size_t) {
      if (p->stopped) return;
      if (ec) return finish(p, false, what + failure(p, ec));
      p->response.clear();
      asio::async_read_until(p->socket, asio::dynamic_buffer(p->response, kMaxStatusLine), "\r\n",
                             [this, p, what](error_code ec, size_t n) {
                               if (p->stopped) return;
                               if (ec == asio::error::eof)
                                 return finish(p, false, what + "closed without an answer");
                               if (ec == asio::error::not_found)
                                 return finish(p, false, what + "no status line");
                               if (ec) return finish(p, false, what + failure(p, ec));
                               auto status =
                                   readStatusLine(std::string_view(p->response).substr(0, n - 2));
                               if (!status) return finish(p, false, what + "not an HTTP answer");
                               finish(p, status->first, status->second);
                             });
    });
  }

  // CommandRunner blocks: it runs on a thread of its own, which holds the loop open until
  // its result is back on the loop's thread.
  void runCommand(const ProbePtr& p) {
    if (!run_command) return finish(p, false, "command checks need the engine");
    if (p->command.joinable()) p->command.join();
    p->command = std::thread([this, p, guard = asio::make_work_guard(io)] {
      std::string out;
      auto status = run_command(p->in.container, p->in.check.command, p->in.check.timeout, &out);
      asio::post(io, [this, p, status = std::move(status), out = std::move(out)] {
        p->command.join();
        if (p->stopped) return;
        if (!status) return finish(p, false, status.error().message());
        finish(p, *status == 0, commandOutput(*status, out));
      });
    });
  }

  std::string failure(const ProbePtr& p, error_code ec) {
    if (p->timed_out) return "timed out after " + formatDuration(p->in.check.timeout);
    return lowerFirst(ec.message());
  }

  void finish(const ProbePtr& p, bool passed, std::string output) {
    if (p->stopped) return;
    // Reported before the socket closes: a peer that sees the close knows the report is
    // queued (the tests rely on it).
    if (p->tally.record(passed))
      report({p->key, p->generation, p->tally.health(), std::move(output)});
    p->deadline.cancel();
    error_code ignored;
    p->socket.close(ignored);
    schedule(p, std::max(p->started + p->in.check.interval, Clock::now()));
  }

  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  const CommandRunner run_command;
  const std::function<void(CheckReport)> report;
  std::map<std::string, ProbePtr> probes;  // the loop thread's only
  std::thread thread;
};

HealthChecker::HealthChecker(CommandRunner run_command, Report report)
    : report_(std::move(report)) {
  loop_ = std::make_unique<Loop>(std::move(run_command),
                                 [this](CheckReport r) { enqueue(std::move(r)); });
  reporter_ = std::thread([this] { reportLoop(); });
}

HealthChecker::~HealthChecker() {
  loop_.reset();
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  reporter_.join();
}

void HealthChecker::start(const std::string& key, uint64_t generation, const Instance& in) {
  loop_->start(key, generation, in);
}

void HealthChecker::stop(const std::string& key) {
  loop_->stop(key);
  std::lock_guard lock(mu_);
  std::erase_if(queue_, [&](const CheckReport& r) { return r.key == key; });
}

void HealthChecker::enqueue(CheckReport r) {
  {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(r));
  }
  cv_.notify_one();
}

void HealthChecker::reportLoop() {
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    CheckReport r = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    report_(r);
    lock.lock();
  }
}

}  // namespace berth::catalog
