#pragma once
// How the verbs show things: aligned tables like docker's, human durations and sizes, the
// `ps`, `stats` and `events` lines, and a small subset of docker's Go templates for
// --format. Pure functions of their inputs (the current time is a parameter).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace berth::cli {

// Columns aligned as docker's tabwriter does (min width 10, padding 3); the last column
// is not padded. Widths count UTF-8 characters, not bytes.
class Table {
 public:
  explicit Table(std::vector<std::string> headers) { rows_.push_back(std::move(headers)); }
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  std::string render() const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

// "5 seconds ago" for a time in the past (ns since the epoch); "N/A" for 0.
// The wall clock in ns since the epoch.
int64_t nowNs();
std::string timeAgo(int64_t then_ns, int64_t now_ns);
// Binary units with 4 significant digits, as docker stats prints memory: "2.613MiB".
std::string binarySize(double bytes);
// Decimal units ("2.1MB", "0B"), as docker prints disk sizes.
std::string decimalSize(double bytes);
// The first 12 characters of an id (a "sha256:" prefix dropped).
std::string shortId(std::string_view id);
// At most `max` UTF-8 characters, the last one replaced by "…" when cut.
std::string ellipsis(std::string_view s, size_t max);
// Go's strconv.Quote for printable text: "\"sh -c 'x'\"".
std::string goQuote(std::string_view s);
// RFC 3339 with nine fraction digits in local time ("2024-05-01T10:00:00.000000000+02:00").
std::string rfc3339Nano(int64_t ns);

// A container summary of GET /v1/containers in docker's `ps` shape (ID, Image, Command,
// CreatedAt, RunningFor, Ports, State, Status, Names, Labels), as `--format json` prints
// it; `trunc` shortens the id and the command as the table does.
nlohmann::json psObject(const nlohmann::json& summary, int64_t now_ns, bool trunc);
// The header and a row of the `ps` table from psObject.
std::vector<std::string> psHeader();
std::vector<std::string> psRow(const nlohmann::json& ps);
// The PORTS column from the port objects of the API ({"container_port","protocol",
// "host_ip","host_port"}), as docker prints it: "0.0.0.0:8080->80/tcp, 443/tcp" (a port
// not published has host_port 0). Consecutive ports that map to consecutive host ports on
// one address are shown as one range ("0.0.0.0:8000-8002->80-82/tcp"); host_ip "" is
// 0.0.0.0, an IPv6 address goes in brackets.
std::string formatPorts(const nlohmann::json& ports);
// `berth port`'s lines from GET /v1/containers/{id}/port: "80/tcp -> 0.0.0.0:18080" for
// every published port, or with `private_port` ("80", "80/udp") just "0.0.0.0:18080" for
// that one; not found (naming `container`) when it is not published.
Result<std::vector<std::string>> portLines(const nlohmann::json& ports,
                                           std::string_view private_port,
                                           std::string_view container);

// A network of the API in docker's `network ls` shape (ID, Name, Driver, Scope, IPv6,
// Internal, Labels, CreatedAt), as `--format json` prints it; `trunc` shortens the id.
nlohmann::json networkObject(const nlohmann::json& network, bool trunc);
// The header and a row of the `network ls` table (NETWORK ID, NAME, DRIVER, SCOPE).
std::vector<std::string> networkHeader();
std::vector<std::string> networkRow(const nlohmann::json& object);

// `inspect`'s output: the objects as an indented JSON array when `format` is "" or "json",
// else one line per object from the template.
Result<std::string> renderInspect(const nlohmann::json& objects, std::string_view format);
// A listing's --format other than a table: one compact JSON object per line for "json",
// else one line per object from the template.
Result<std::string> renderLines(const std::vector<nlohmann::json>& objects,
                                std::string_view format);

// CPU % between two stats samples of the API (Δusage / Δsystem × online CPUs × 100);
// 0 without a previous sample.
double cpuPercent(const nlohmann::json& prev, const nlohmann::json& cur);
std::vector<std::string> statsHeader();
// CONTAINER ID, NAME, CPU %, MEM USAGE / LIMIT, MEM %, PIDS.
std::vector<std::string> statsRow(const std::string& id, const std::string& name,
                                  const nlohmann::json& prev, const nlohmann::json& cur);

// One human line for an event: "TIME TYPE ACTION ID (k=v, …)".
std::string eventLine(const nlohmann::json& event);

// A subset of docker's --format templates over JSON: text with {{.A.B}} (a field; a
// CamelCase name also finds its snake_case key: .State.ExitCode → state.exit_code),
// {{json .A}} and {{json .}}. Strings print raw, other values as JSON.
Result<std::string> renderTemplate(std::string_view tmpl, const nlohmann::json& value);

}  // namespace berth::cli
