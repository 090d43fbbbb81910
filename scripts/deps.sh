#!/usr/bin/env bash
# Installs every Debian package berth needs to build, test and benchmark. Idempotent:
# runs apt-get only when something is missing.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git clang-format
  clang libclang-rt-14-dev
  nlohmann-json3-dev libseccomp-dev libcap-dev libcli11-dev libfmt-dev libspdlog-dev
  libarchive-dev libsqlite3-dev libssl-dev
  # the archives of libarchive's own dependencies: berth and berth-runtime link statically
  nettle-dev libacl1-dev liblzma-dev libzstd-dev liblz4-dev libbz2-dev zlib1g-dev libxml2-dev
  libgtest-dev libgmock-dev libbenchmark-dev libboost-dev
  libmnl-dev libnftables-dev libldns-dev libbpf-dev
  etcd-server etcd-client
  busybox-static iproute2 iputils-ping jq nftables dnsutils curl iperf3 dnsmasq-base
  podman conmon crun runc hyperfine skopeo umoci
  docker.io python3-docker docker-compose
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # docker.io brings dockerd and containerd for their clients (the docker CLI drives berthd
  # in the tests; dockerd is only a benchmark peer, started by bench/ on a private socket):
  # no service may start at install, or dockerd would take over iptables' FORWARD chain.
  policy=/usr/sbin/policy-rc.d
  own_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && own_policy=1
    trap 'rm -f "$policy"' EXIT
  fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
  if [ "$own_policy" = 1 ]; then rm -f "$policy"; trap - EXIT; fi
fi
