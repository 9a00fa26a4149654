#!/usr/bin/env bash
# The test suite on a current Docker engine: Docker 29 (what Docker Desktop and Docker Engine ship
# today: API 1.56, the containerd image store, containers in a time namespace), built from the Go
# module proxy because nothing else is reachable from the test machines.
#
#   bash test/engines/docker29.sh install   # the binaries, cached in ~/.cache/drcon-d29 by version
#   bash test/engines/docker29.sh test      # `npm test` against Docker 29 (DRCON_E2E=required)
#
# Docker 29 runs in a container of the host's engine (drcon-ci/dind:20.10, test/images/dind.md,
# with these binaries first in its PATH), in its own network and pid namespaces: two engines on
# one host must not share bridges and iptables. The tests run in those namespaces (nsenter) with
# the host's files, so drcon sees a local engine and publishes on that namespace's 127.0.0.1.
set -euo pipefail

# The versions moby pins for this release (its go.mod), so the three fit together.
DOCKER_VERSION=29.8.1
MOBY_MODULE=github.com/moby/moby/v2
MOBY_MODULE_VERSION=v2.0.0-beta.24 # carries 29.8.1
CONTAINERD_VERSION=v2.3.5
RUNC_VERSION=v1.5.1

BIN="$HOME/.cache/drcon-d29/$DOCKER_VERSION-containerd-${CONTAINERD_VERSION#v}-runc-${RUNC_VERSION#v}/bin"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CONTAINER=drcon-ci-docker29
API_DIR=/tmp/drcon-ci-docker29-api

die() {
  echo "docker29.sh: $*" >&2
  exit 1
}

install() {
  if [[ -x "$BIN/dockerd" && -x "$BIN/containerd" && -x "$BIN/runc" ]]; then
    echo "Docker $DOCKER_VERSION binaries cached in $BIN"
    return
  fi
  command -v go >/dev/null 2>&1 || die "go is required (see .ci/run)"
  echo "building Docker $DOCKER_VERSION, containerd $CONTAINERD_VERSION and runc $RUNC_VERSION (about 8 min cold)"
  export GOFLAGS=-buildvcs=false GOBIN="$BIN"
  CGO_ENABLED=0 go install -tags "exclude_graphdriver_btrfs exclude_graphdriver_devicemapper" \
    -ldflags "-X $MOBY_MODULE/dockerversion.Version=$DOCKER_VERSION" \
    "$MOBY_MODULE/cmd/dockerd@$MOBY_MODULE_VERSION" "$MOBY_MODULE/cmd/docker-proxy@$MOBY_MODULE_VERSION"
  # runc needs cgo and libseccomp; Debian's runc 1.1.5 cannot make the time namespace 29 asks for.
  if ! dpkg -s libseccomp-dev >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libseccomp-dev >/dev/null
  fi
  CGO_ENABLED=1 go install -tags seccomp "github.com/opencontainers/runc@$RUNC_VERSION"
  CGO_ENABLED=0 go install -tags "no_btrfs no_devmapper no_zfs" \
    "github.com/containerd/containerd/v2/cmd/containerd@$CONTAINERD_VERSION" \
    "github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2@$CONTAINERD_VERSION"
}

remove() {
  docker rm -f -v "$CONTAINER" >/dev/null 2>&1 || true
}

run_tests() {
  [[ -x "$BIN/dockerd" ]] || die "not installed: run $0 install"
  docker image inspect drcon-ci/dind:20.10 >/dev/null 2>&1 ||
    die "drcon-ci/dind:20.10 is missing: run bash test/images/build.sh dind"
  remove
  trap remove EXIT
  rm -rf "$API_DIR" && mkdir -p "$API_DIR"
  # As test/e2e/inner-engine.ts starts it (test/images/dind.md says why each option).
  docker run -d --name "$CONTAINER" --cap-add ALL --cap-drop SYS_RESOURCE \
    --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
    --security-opt systempaths=unconfined --cgroupns private --network none \
    --sysctl net.ipv6.conf.all.disable_ipv6=0 -v "$API_DIR:/run/drcon-api" -v "$BIN:/opt/docker29:ro" \
    -e PATH=/opt/docker29:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    drcon-ci/dind:20.10 >/dev/null
  local api="unix://$API_DIR/docker.sock"
  for _ in $(seq 1 120); do
    docker -H "$api" info >/dev/null 2>&1 && break
    sleep 0.5
  done
  if ! docker -H "$api" info >/dev/null 2>&1; then
    docker exec "$CONTAINER" tail -n 40 /var/log/dockerd.log >&2 || true
    die "Docker $DOCKER_VERSION did not answer within 60 s"
  fi
  docker -H "$api" version --format 'docker engine {{.Server.Version}} (API {{.Server.APIVersion}})'
  # The stand-ins go across as they are, so both engines test the same images.
  local images
  mapfile -t images < <(sed -n 's/^DRCON_\(IMAGE\|CI\)_[A-Z_]*=//p' "$ROOT/test/images/ci.env")
  docker save "${images[@]}" | docker -H "$api" load -q
  local pid
  pid="$(docker inspect -f '{{.State.Pid}}' "$CONTAINER")"
  # The engine's own socket path differs from the client's here, as on colima: say which it is.
  (cd "$ROOT" && nsenter --net="/proc/$pid/ns/net" --pid="/proc/$pid/ns/pid" \
    env DOCKER_HOST="$api" DRCON_DOCKER_SOCKET=/var/run/docker.sock DRCON_E2E=required npm test)
}

case "${1:-}" in
install) install ;;
test) run_tests ;;
*) die "usage: $0 install|test" ;;
esac
