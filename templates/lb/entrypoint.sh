#!/bin/sh
# The LB's entrypoint. POSIX sh only: busybox ash on the official alpine image, dash on the
# Debian stand-in.
#
# nginx is the container's main process (PID 1 after the exec below), so it keeps serving
# whatever happens to consul-template, and `docker stop` reaches it directly (STOPSIGNAL SIGQUIT
# is its graceful stop: requests in flight are answered). consul-template runs beside it, is
# restarted if it dies, and hands each render to apply-render.sh, which puts a render in place
# only once `nginx -t` accepts it.
set -eu

fail() {
  echo "drcon-lb: $*" >&2
  exit 1
}

# The template's keepalive_min_timeout (reloads that clients do not notice) came in nginx 1.27.4.
# An older nginx would refuse the whole configuration; say so in one line instead.
version=$(nginx -v 2>&1 | sed -n 's|.*nginx/\([0-9][0-9.]*\).*|\1|p')
if [ -n "$version" ] && ! echo "$version 1.27.4" | awk '{
  split($1, have, "."); split($2, need, ".")
  for (i = 1; i <= 3; i++) if (have[i] + 0 != need[i] + 0) exit have[i] + 0 < need[i] + 0
}'; then
  fail "nginx $version is older than 1.27.4, which the LB's configuration needs: set images.nginx (or DRCON_IMAGE_NGINX) to nginx:1.28 or later"
fi

# The stack network, as this container sees it: the template routes only addresses on it, and
# never this LB's own address or the gateway (the host).
route=$(ip route | awk '$1 == "default" { print; exit }')
gateway=$(echo "$route" | awk '{ for (i = 1; i < NF; i++) if ($i == "via") { print $(i + 1); exit } }')
dev=$(echo "$route" | awk '{ for (i = 1; i < NF; i++) if ($i == "dev") { print $(i + 1); exit } }')
[ -n "$dev" ] || fail "no default route: is the container on the stack network?"
cidr=$(ip addr show dev "$dev" | awk '$1 == "inet" { print $2; exit }')
prefix=${cidr#*/}
case $prefix in
'' | *[!0-9]*) fail "no IPv4 address on $dev ($cidr)" ;;
esac
[ "$prefix" -ge 8 ] && [ "$prefix" -le 30 ] || fail "unexpected prefix /$prefix on $dev"
DRCON_LB_ADDRESS=${cidr%/*}
DRCON_LB_GATEWAY=$gateway
# Addresses that share the network part divide by this to the same number (see the template).
DRCON_LB_BLOCK=$((1 << (32 - prefix)))
# nginx's workers: one per 4 CPUs this container may run on, at least one. A proxied request costs
# one worker ~31 us of CPU and the app behind it ~3 times that (whoami, a minimal Go server), so one
# worker keeps up with what 4 CPUs of apps serve; a worker per CPU (nginx's `auto`) costs more
# CPU per request when the workers share the CPUs with those apps (docs/benchmarks.md, lb-overhead).
cpus=$(nproc 2>/dev/null || echo 1)
DRCON_LB_WORKERS=$(((cpus + 3) / 4))
export DRCON_LB_ADDRESS DRCON_LB_GATEWAY DRCON_LB_BLOCK DRCON_LB_WORKERS

# Keeps consul-template running once nginx is up (its pid file is what apply-render.sh signals).
supervise_consul_template() {
  while [ ! -s /tmp/nginx.pid ]; do sleep 0.1 2>/dev/null || sleep 1; done
  while :; do
    consul-template -config /etc/drcon/consul-template.hcl || true
    echo "drcon-lb: consul-template exited; restarting it in 1 s, nginx keeps serving meanwhile" >&2
    sleep 1
  done
}

# A pid file left by the container's previous run would let a render signal the wrong process.
rm -f /tmp/nginx.pid
# First start: one render before nginx starts, so that nginx begins with the real configuration.
# (Starting on bootstrap.conf and reloading leaves its workers accepting for a moment after
# `drcon up` has already seen the real one.) Without an answer from Consul, bootstrap.conf it is.
# SIGINT, consul-template's kill signal: it passes SIGTERM (timeout's default) on to a child
# and keeps waiting for Consul, so without Consul nginx would never start.
if [ ! -e /etc/drcon/rendered/nginx.conf ]; then
  timeout -s INT 10 consul-template -config /etc/drcon/consul-template.hcl -once ||
    echo "drcon-lb: no first render within 10 s; starting on the bootstrap configuration" >&2
fi
supervise_consul_template &
# The last configuration that passed `nginx -t` (or, on the first start, bootstrap.conf).
exec nginx -g 'daemon off;'
