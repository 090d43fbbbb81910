// berth-sim: generates (or reads) a cluster and a workload, runs the scheduler over it
// and prints what it measured. See scenario.h for the scenario file and workload.h for
// what the generator makes.

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "sim/run.h"

namespace {

std::string strategyNames() { return "spread, binpack or random"; }

}  // namespace

int main(int argc, char** argv) {
  using namespace berth::sim;
  CLI::App app{"berth-sim: drive berth's scheduler over a generated cluster and workload"};
  std::string file;
  Scenario s;
  std::string strategy = "spread";
  bool no_check = false;
  app.add_option("--scenario", file, "a scenario file (JSON); flags given too override it");
  auto* nodes = app.add_option("--nodes", s.cluster.nodes, "nodes to generate");
  auto* zones = app.add_option("--zones", s.cluster.zones, "zones");
  auto* racks = app.add_option("--racks", s.cluster.racks, "racks (each in one zone)");
  auto* services = app.add_option("--services", s.workload.services, "services to generate");
  auto* tasks = app.add_option("--tasks", s.workload.tasks, "tasks over all services");
  auto* seed = app.add_option("--seed", s.seed, "seed (same seed, same result)");
  auto* strat = app.add_option("--strategy", strategy, "spread, binpack or random");
  auto* globals = app.add_option("--global", s.workload.global_services, "global services to add");
  auto* down = app.add_option("--down", s.down, "nodes to fail after placement");
  app.add_flag("--no-check", no_check, "skip the independent violation check");
  CLI11_PARSE(app, argc, argv);

  if (!file.empty()) {
    std::ifstream in(file);
    if (!in) {
      std::fprintf(stderr, "berth-sim: read scenario '%s': cannot open\n", file.c_str());
      return 2;
    }
    std::stringstream text;
    text << in.rdbuf();
    auto parsed = parseScenario(text.str());
    if (!parsed) {
      std::fprintf(stderr, "berth-sim: scenario '%s': %s\n", file.c_str(),
                   parsed.error().message().c_str());
      return 2;
    }
    Scenario flags = s;
    s = *parsed;
    // Flags given on the command line win over the file.
    if (*nodes) s.cluster.nodes = flags.cluster.nodes;
    if (*zones) s.cluster.zones = flags.cluster.zones;
    if (*racks) s.cluster.racks = flags.cluster.racks;
    if (*services) s.workload.services = flags.workload.services;
    if (*tasks) s.workload.tasks = flags.workload.tasks;
    if (*seed) s.seed = flags.seed;
    if (*globals) s.workload.global_services = flags.workload.global_services;
    if (*down) s.down = flags.down;
  }
  if (*strat || file.empty()) {
    if (strategy == "spread")
      s.workload.strategy = berth::scheduler::Strategy::kSpread;
    else if (strategy == "binpack")
      s.workload.strategy = berth::scheduler::Strategy::kBinpack;
    else if (strategy == "random")
      s.workload.strategy = berth::scheduler::Strategy::kRandom;
    else {
      std::fprintf(stderr, "berth-sim: --strategy '%s': expected %s\n", strategy.c_str(),
                   strategyNames().c_str());
      return 2;
    }
  }
  if (s.cluster.zones < 1 || s.cluster.racks < s.cluster.zones) {
    std::fprintf(stderr, "berth-sim: need --zones >= 1 and --racks >= --zones\n");
    return 2;
  }
  if (s.workload.services == 0 && s.workload.tasks > 0) {
    std::fprintf(stderr, "berth-sim: --tasks needs --services >= 1\n");
    return 2;
  }
  auto report = runScenario(s, !no_check);
  if (!report) {
    std::fprintf(stderr, "berth-sim: %s\n", report.error().message().c_str());
    return 1;
  }
  std::fputs(formatReport(*report).c_str(), stdout);
  return report->checked && report->check.violations > 0 ? 3 : 0;
}
