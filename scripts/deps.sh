#!/usr/bin/env bash
# Installs every Debian package berth needs to build, test and benchmark. Idempotent:
# runs apt-get only when something is missing.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git clang-format
  nlohmann-json3-dev libseccomp-dev libcap-dev libcli11-dev libfmt-dev libspdlog-dev
  libarchive-dev libsqlite3-dev libssl-dev
  libgtest-dev libgmock-dev libbenchmark-dev libboost-dev
  libmnl-dev libnftables-dev libldns-dev
  etcd-server etcd-client
  busybox-static iproute2 jq nftables dnsutils curl iperf3
  podman conmon crun runc hyperfine skopeo umoci
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
