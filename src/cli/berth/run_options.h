#pragma once
// The flags of `berth run` / `berth create` as typed, and their translation into the native
// API's create body (src/api/native_api.md). Pure: no requests, no OS calls (the host's
// environment and --env-file contents come in through callbacks), so that every flag's
// parsing is unit-tested and a bad value is refused before anything is sent.
//
// Errors are kInvalidArgument and read "invalid --memory '12q': unknown unit 'q' …".

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace berth::cli {

// Flag values exactly as given; empty strings mean "not given". Numbers stay strings so
// that their errors read like every other flag's.
struct RunFlags {
  std::string image;
  std::vector<std::string> cmd;
  std::string name;
  std::vector<std::string> env;        // -e K=V, or -e K (the host's value, if set)
  std::vector<std::string> env_files;  // --env-file
  std::vector<std::string> labels;     // -l K=V or -l K
  std::string workdir, user, hostname;
  std::optional<std::string> entrypoint;  // "" clears the image's
  bool detach = false, interactive = false, tty = false, rm = false;
  bool init = false, read_only = false;
  std::string memory, cpus, pids_limit, cpuset_cpus;
  std::vector<std::string> cap_add, cap_drop, security_opts;
  std::string restart;
  std::string health_cmd, health_interval, health_timeout, health_retries, health_start_period;
  bool no_healthcheck = false;
  std::vector<std::string> volumes, mounts, tmpfs;  // -v, --mount, --tmpfs
  // Networking (net_options.h parses the values).
  std::string network;          // --network: bridge, none, host, container:NAME or a network's name
  std::string ip, mac_address;  // --ip, --mac-address
  std::vector<std::string> network_aliases;  // --network-alias
  std::vector<std::string> publish, expose;  // -p, --expose
  bool publish_all = false;                  // -P
  std::vector<std::string> links, dns;       // --link NAME[:ALIAS], --dns IP
  std::string stop_signal, stop_timeout;
  std::vector<std::string> log_opts;  // --log-opt K=V
  // The service catalog: become the labels berth.service, berth.service.tags,
  // berth.service.check[.interval|.timeout] (src/daemon/registrar.h reads them).
  std::string service;                    // --service NAME[:PORT]
  std::vector<std::string> service_tags;  // --service-tag T
  std::string service_check, service_check_interval, service_check_timeout;
};

// The host's environment, for `-e KEY` and env-file lines without '='.
using EnvLookup = std::function<std::optional<std::string>(const std::string& key)>;
// Reads a whole file (--env-file).
using FileReader = std::function<Result<std::string>(const std::string& path)>;

// The create body for `flags`, or the first bad flag.
//
// Networking: --network becomes network_mode (left out without it: the daemon's default
// bridge); --ip, --mac-address and --network-alias become networks[<that network, or
// "bridge">] = {"ip","mac","aliases"} (only the keys given). Aliases need a user-defined
// network, as in docker. The modes none, host and container:NAME give the container no
// endpoint of its own, so the flags that describe one (-p, -P, --ip, --mac-address,
// --network-alias, --link; with container: also --expose, --dns and --hostname) conflict
// with them. docker drops -p with host networking after a warning; berth refuses instead.
Result<nlohmann::json> createBody(const RunFlags& flags, const EnvLookup& env,
                                  const FileReader& read_file);

// "invalid --flag 'value': why", the error of every bad flag value.
Error flagError(std::string_view flag, std::string_view value, const Error& why);
// Repeated KEY=VALUE flags (--label, --opt) as a JSON object; a bare KEY has the value "".
Result<nlohmann::json> keyValues(std::string_view flag, const std::vector<std::string>& entries);

// "--cpus 1.5" → nano CPUs (1500000000).
Result<int64_t> parseCpus(std::string_view text);
// -v SRC:DST[:ro|rw], or -v DST (an anonymous volume): a mount object of the create body.
// An absolute SRC is a bind mount; anything else must be a volume name.
Result<nlohmann::json> parseVolume(std::string_view text);
// --mount type=bind|volume|tmpfs,source=…,target=…,readonly[,tmpfs-size=64m].
Result<nlohmann::json> parseMount(std::string_view text);
// --tmpfs /run[:size=64m,ro].
Result<nlohmann::json> parseTmpfs(std::string_view text);
// --restart no|always|unless-stopped|on-failure[:N] → {"name","max_retries"}.
Result<nlohmann::json> parseRestart(std::string_view text);
// One --log-opt (max-size=10m, max-file=3) applied to the body's "log" object.
Status applyLogOpt(std::string_view text, nlohmann::json& log);
// An --env-file's lines: KEY=VALUE kept as is, KEY alone taken from the host if set,
// blank lines and '#' comments skipped.
Result<std::vector<std::string>> parseEnvFile(std::string_view content, const EnvLookup& env);

}  // namespace berth::cli

namespace berth::cli {

// --since/--until of logs and events: unix seconds ("1700000000", "1700000000.5"), an
// RFC 3339 time ("2024-05-01T10:00:00Z", "…+02:00", fractions allowed) or a duration
// before `now_ns` ("10m"). Returns unix seconds as the API takes them ("1700000000.5").
Result<std::string> parseTimeFlag(std::string_view text, int64_t now_ns);
// "&since=…&until=…" for whichever of the two flags is set (relative to now), or an error
// that names the bad one.
Result<std::string> timeRangeQuery(const std::string& since, const std::string& until);

}  // namespace berth::cli
