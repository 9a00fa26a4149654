#!/bin/sh
# Run by consul-template after each render (POSIX sh). The render replaces nginx's running
# configuration only if `nginx -t` accepts it; a refused render is logged and kept out, and the
# last good configuration keeps serving. consul-template waits for this script before it renders
# again, so changes that arrive meanwhile fold into the next render. It runs on every join and
# leave, so it stays quick: few processes, no fixed waits.
staged=/etc/drcon/rendered/nginx.conf
live=/etc/nginx/nginx.conf
last_reload=/tmp/drcon-last-reload
# Reloads come at most this often: a burst of changes (scale 1 -> 10) folds into a few reloads,
# while a change after a quiet spell is applied at once.
min_gap_ms=200

# How a render differs from the running configuration: exit 0 when only in its timestamps (it
# routes the same, and reloading for it would only close clients' idle keep-alive connections),
# 3 when only in which instances are routed (upstream `server` lines, and /routes), 1 otherwise.
compare() {
  awk 'FNR == 1 { f++ }
    /^# Rendered by consul-template at / { next }
    { sub(/"rendered":"[^"]*"/, ""); all[f, ++n[f]] = $0 }
    /^    server [0-9.]+:[0-9]+ max_fails=1 fail_timeout=10s;$/ { next }
    /"services":/ { gsub(/"[0-9.:]+",?/, "") }
    { rest[f, ++m[f]] = $0 }
    END {
      same = n[1] == n[2]
      for (i = 1; same && i <= n[1]; i++) if (all[1, i] != all[2, i]) same = 0
      if (same) exit 0
      if (m[1] != m[2]) exit 1
      for (i = 1; i <= m[1]; i++) if (rest[1, i] != rest[2, i]) exit 1
      exit 3
    }' "$1" "$2"
}

# Sets $pids to nginx's workers: the master's children named nginx (the master is PID 1, so the
# entrypoint's consul-template supervisor is its child too). Shell built-ins only.
workers_of() {
  pids=
  for stat in /proc/[0-9]*/stat; do
    read -r pid comm _ ppid _ <"$stat" 2>/dev/null || continue
    [ "$ppid" = "$1" ] && [ "$comm" = "(nginx)" ] && pids="$pids $pid"
  done
}

# SIGHUP makes nginx load the configuration and start new workers, but its master then waits
# 100 ms before it tells the old workers to stop, and meanwhile the old workers (first in line on
# the listening socket) take most new connections with the old routes. So once the new workers
# exist, the old ones get their graceful stop (SIGQUIT: requests in flight finish) at once; new
# connections wait in the listening socket's queue for the new workers. The master marks the old
# workers as stopping after its wait and reaps them only then, so it does not start them again.
# (Before the new workers exist the master may still reap and restart an old worker: not yet.)
reload() {
  workers_of "$1"
  old=$pids
  kill -HUP "$1" || return 0
  tries=0
  while [ "$tries" -lt 500 ]; do
    workers_of "$1"
    for pid in $pids; do
      case " $old " in *" $pid "*) ;; *) [ -n "$old" ] && kill -QUIT $old 2>/dev/null; return 0 ;; esac
    done
    sleep 0.002
    tries=$((tries + 1))
  done
  # No new worker within ~1 s: nginx refused the reload, and the old workers keep serving.
  return 0
}

# A render that changes only which instances are routed needs no `nginx -t`: the template writes
# each instance as `server <IPv4>:<port 1-65535> ...` in an upstream that keeps at least one
# server, and the running configuration passed `nginx -t`. Anything else is checked first.
differs=1
[ -s "$live" ] && { compare "$staged" "$live"; differs=$?; }
[ "$differs" = 0 ] && exit 0
if [ "$differs" = 3 ] || problem=$(nginx -t -q -c "$staged" 2>&1); then
  # cp then mv: nginx never reads a half-written file.
  cp "$staged" "$live.next" && mv -f "$live.next" "$live" || exit 0
  # Before nginx runs (the entrypoint's first render) there is nothing to reload.
  [ -s /tmp/nginx.pid ] || exit 0
  now=$(awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime)
  last=0
  [ -s "$last_reload" ] && read -r last <"$last_reload"
  # (A host restart starts the uptime again: a later "last" is from before it.)
  if [ "$now" -ge "$last" ] && [ $((now - last)) -lt "$min_gap_ms" ]; then
    sleep "$(awk "BEGIN { print ($last + $min_gap_ms - $now) / 1000 }")"
    now=$((last + min_gap_ms))
  fi
  echo "$now" >"$last_reload"
  read -r master </tmp/nginx.pid
  reload "$master"
else
  echo "drcon-lb: refused a render that nginx -t rejects; keeping the last good configuration:" \
    "$(echo "$problem" | tr '\n' ' ')" >&2
fi
# consul-template exits when its command fails: a refused render is not a reason to stop watching.
exit 0
