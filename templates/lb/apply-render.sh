#!/bin/sh
# Run by consul-template after each render (POSIX sh). The render replaces nginx's running
# configuration only if `nginx -t` accepts it; a refused render is logged and kept out, and the
# last good configuration keeps serving.
staged=/etc/drcon/rendered/nginx.conf
live=/etc/nginx/nginx.conf
if problem=$(nginx -t -q -c "$staged" 2>&1); then
  # cp then mv: nginx never reads a half-written file. Before nginx runs (the entrypoint's first
  # render) there is nothing to reload.
  cp "$staged" "$live.next" && mv -f "$live.next" "$live" &&
    { [ ! -s /tmp/nginx.pid ] || kill -HUP "$(cat /tmp/nginx.pid)"; }
else
  echo "drcon-lb: refused a render that nginx -t rejects; keeping the last good configuration:" \
    "$(echo "$problem" | tr '\n' ' ')" >&2
fi
# consul-template exits when its command fails: a refused render is not a reason to stop watching.
exit 0
