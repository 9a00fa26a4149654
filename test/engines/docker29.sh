#!/usr/bin/env bash
# A current Docker engine for the second end-to-end run in CI: Docker 29 (what Docker Desktop and
# Docker Engine ship today: API 1.56, the containerd image store, containers in a time namespace),
# built from the Go module proxy because nothing else is reachable from the test machines.
#
#   bash test/engines/docker29.sh install   # the binaries, cached in ~/.cache/drcon-d29 by version
#   bash test/engines/docker29.sh start     # dockerd 29 on /var/run/docker.sock, its own data root
#   bash test/engines/docker29.sh stop
#
# It answers on the default socket, so drcon and the tests find it as they find any engine. Only one
# engine may run at a time with default networking (bridges, iptables): stop the other one first.
set -euo pipefail

# The versions moby pins for this release (its go.mod), so the three fit together.
DOCKER_VERSION=29.8.1
MOBY_MODULE=github.com/moby/moby/v2
MOBY_MODULE_VERSION=v2.0.0-beta.24 # carries 29.8.1
CONTAINERD_VERSION=v2.3.5
RUNC_VERSION=v1.5.1

BIN="$HOME/.cache/drcon-d29/$DOCKER_VERSION-containerd-${CONTAINERD_VERSION#v}-runc-${RUNC_VERSION#v}/bin"
DATA_ROOT=/var/lib/docker29
EXEC_ROOT=/var/run/docker29
PIDFILE=/var/run/docker29.pid
LOG=/var/log/drcon-dockerd29.log

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

start() {
  [[ -x "$BIN/dockerd" ]] || die "not installed: run $0 install"
  if docker info >/dev/null 2>&1; then
    die "an engine already answers on the default socket: stop it first"
  fi
  mkdir -p "$DATA_ROOT"
  # Its own containerd, shim and runc come first in PATH: dockerd starts containerd itself.
  PATH="$BIN:$PATH" nohup dockerd --data-root "$DATA_ROOT" --exec-root "$EXEC_ROOT" \
    --pidfile "$PIDFILE" >"$LOG" 2>&1 &
  local pid=$!
  disown
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if ! docker info >/dev/null 2>&1; then
    tail -n 40 "$LOG" >&2 || true
    die "dockerd $DOCKER_VERSION did not answer within 30 s (log: $LOG)"
  fi
  docker version --format 'docker engine {{.Server.Version}} (API {{.Server.APIVersion}})'
}

stop() {
  stop_pidfile "$PIDFILE"
}

# Stops the dockerd whose pid file is $1 and waits until it has exited (its containerd with it).
stop_pidfile() {
  local pidfile="$1" pid
  [[ -f "$pidfile" ]] || return 0
  pid="$(cat "$pidfile")"
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 120); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.5
  done
  die "dockerd ($pid) did not stop within 60 s"
}

case "${1:-}" in
install) install ;;
start) start ;;
stop) stop ;;
# The engine .ci/run started first (Debian's, pid file /var/run/docker.pid).
stop-default) stop_pidfile /var/run/docker.pid ;;
*) die "usage: $0 install|start|stop|stop-default" ;;
esac
