#!/usr/bin/env bash
# The main job: set up, build, start berthd (unless one is running), make the busybox base
# image in it, build an image from a Dockerfile, and run containers through the daemon:
# foreground with an exit code, detached with logs, exec, stop, a restart policy and a
# health check; then a two-container app on its own network, its parts finding each other
# by name, answering on a published port; then the same kind of app from a compose file,
# with docker-compose and the docker CLI talking to berthd's Docker API.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh
berth=$PWD/build/bin/berth
show() { echo; echo "\$ berth $*"; "$berth" "$@"; }

if ! "$berth" version >/dev/null 2>&1; then
  echo "starting berthd (log: /var/log/berthd.log)"
  setsid "$PWD/build/bin/berthd" >>/var/log/berthd.log 2>&1 < /dev/null &
  for _ in $(seq 50); do "$berth" version >/dev/null 2>&1 && break; sleep 0.1; done
fi
scripts/busybox-image.sh busybox:latest  # into berthd: images are the daemon's
show version
show images
show run --rm -h demo --env GREETING=hello busybox sh -c '
echo "$GREETING from a berth container"
echo "pid: $$   hostname: $(hostname)   user: $(id -u)"
echo "network interfaces: $(ls /sys/class/net | tr "\n" " ")"
echo "root filesystem: $(awk '"'"'$5 == "/" { for (i = 7; i <= NF; i++) if ($i == "-") { print $(i+1); exit } }'"'"' /proc/self/mountinfo)"
echo "processes:"; ps -o pid,user,comm; exit 0'
show build -t hello examples/hello
show run --rm hello
show history hello

"$berth" rm -f demo-ticker >/dev/null 2>&1 || true
show run -d --name demo-ticker --restart always --health-cmd 'test -f /tmp/ready' \
  --health-interval 500ms busybox sh -c 'touch /tmp/ready; i=0; while true; do echo "tick $i"; i=$((i+1)); sleep 0.2; done'
sleep 1.5
show ps
show logs --tail 3 demo-ticker
show exec demo-ticker sh -c 'echo "exec in the same container: pid 1 is $(cat /proc/1/comm)"'
show stop -t 2 demo-ticker
show rm demo-ticker

# A small app whose parts find each other and answer on a published port: two `api`
# containers register in the service catalog (with an HTTP health check) and `web` (a CGI
# page) asks `api.service.berth` for data; berthd's DNS answers with the passing ones.
"$berth" rm -f demo-web demo-api-1 demo-api-2 >/dev/null 2>&1 || true
"$berth" network rm demo-net >/dev/null 2>&1 || true
show network create demo-net
for i in 1 2; do
  show run -d --name demo-api-$i --network demo-net --service api:80 \
    --service-check http:/data.json --service-check-interval 1s busybox sh -c \
    'mkdir -p /www && echo "{\"greeting\": \"hello from api ($(hostname))\"}" > /www/data.json && exec httpd -f -p 80 -h /www'
done
show run -d --name demo-web --network demo-net -p 18080:80 busybox sh -c \
  'mkdir -p /www/cgi-bin && printf "#!/bin/sh\necho Content-Type: text/plain\necho\necho web asked api and got: \$(wget -qO- http://api.service.berth/data.json)\n" > /www/cgi-bin/page && chmod +x /www/cgi-bin/page && exec httpd -f -p 80 -h /www'
show ps
for _ in $(seq 50); do [ "$("$berth" catalog show api --passing --format json | wc -l)" = 2 ] && break; sleep 0.1; done
show catalog ls
show catalog show api
echo; echo "\$ dig +short @10.88.0.1 api.service.berth; dig +short @10.88.0.1 _api._tcp.service.berth SRV"
dig +short +time=2 @10.88.0.1 api.service.berth
dig +short +time=2 @10.88.0.1 _api._tcp.service.berth SRV
echo; echo "\$ curl http://127.0.0.1:18080/cgi-bin/page   (twice: the answers rotate)"
for _ in $(seq 50); do curl -sf http://127.0.0.1:18080/cgi-bin/page && break; sleep 0.1; done
curl -sf http://127.0.0.1:18080/cgi-bin/page
show stop -t 1 demo-api-1
echo; echo "\$ dig +short @10.88.0.1 api.service.berth   (demo-api-1 left the catalog when it stopped)"
dig +short +time=2 @10.88.0.1 api.service.berth
show rm -f demo-web demo-api-1 demo-api-2
show network rm demo-net

echo; echo "\$ berth save -o busybox.tar busybox   (a docker-archive that docker, podman and skopeo load)"
"$berth" save -o /tmp/berth-demo-busybox.tar busybox
tar -tf /tmp/berth-demo-busybox.tar
rm -f /tmp/berth-demo-busybox.tar

# The same kind of app through Docker's own tools: berthd serves the Docker Engine API on
# its socket, so docker-compose and the docker CLI drive it unchanged.
export DOCKER_HOST=unix:///run/berth/berth.sock
project=$(mktemp -d /tmp/berth-demo-compose.XXXXXX)
trap 'docker-compose -p berthdemo --project-directory "$project" -f "$project/docker-compose.yml" down -v >/dev/null 2>&1 || true; rm -rf "$project"' EXIT
cat > "$project/docker-compose.yml" <<'YML'
version: "3.8"
services:
  api:
    image: busybox
    command: sh -c 'mkdir -p /www && echo "hello from the api service" > /www/index.html && exec httpd -f -p 80 -h /www'
  web:
    image: busybox
    command:
      - sh
      - -c
      - |
        mkdir -p /www/cgi-bin
        printf '#!/bin/sh\necho Content-Type: text/plain\necho\necho "web got: $$(wget -qO- http://api/)"\n' > /www/cgi-bin/page
        chmod +x /www/cgi-bin/page
        exec httpd -f -p 80 -h /www
    ports: ["18081:80"]
    volumes: [data:/data]
volumes:
  data:
YML
compose() { docker-compose -p berthdemo --project-directory "$project" -f "$project/docker-compose.yml" "$@"; }
echo; echo "\$ DOCKER_HOST=$DOCKER_HOST docker-compose up -d   (docker-compose.yml: api + web, a volume, port 18081)"
compose up -d
echo; echo "\$ docker ps"
docker ps
echo; echo "\$ curl http://127.0.0.1:18081/cgi-bin/page"
for _ in $(seq 50); do curl -sf http://127.0.0.1:18081/cgi-bin/page && break; sleep 0.1; done
echo; echo "\$ docker-compose down -v"
compose down -v
