# consul-template for drcon's LB. Consul's address comes from CONSUL_HTTP_ADDR (set by `drcon up`).
# It renders nginx's configuration to a staging file; apply-render.sh moves a render in and
# reloads nginx only once `nginx -t` accepts it (entrypoint.sh runs nginx and this side by side).

log_level = "warn"

consul {
  # Keep retrying forever, quickly: after a Consul restart the LB must follow within seconds,
  # and nginx keeps serving the last good config meanwhile.
  retry {
    enabled     = true
    attempts    = 0
    backoff     = "100ms"
    max_backoff = "1s"
  }
}

# A single Consul server answers every read itself; no stale reads are needed.
max_stale = "0s"

# How long one blocking query waits for a change. When Consul loses its data (a new volume), its
# index starts again near zero: a query that asks for "changes after index N" (N from the old
# Consul) then waits its full time before consul-template sees the lower index and starts over.
# 5 s bounds that blind spot (the default, 60 s, made the LB ignore every change for a minute);
# the cost is one idle request per watched service every 5 s.
block_query_wait = "5s"

template {
  source      = "/etc/drcon/nginx.conf.ctmpl"
  destination = "/etc/drcon/rendered/nginx.conf"
  command     = ["/bin/sh", "/etc/drcon/apply-render.sh"]
  # nginx -t and a signal take milliseconds; this only bounds a stuck command.
  command_timeout = "30s"
  # A template error (bad data from Consul) is logged and the last render stays, instead of
  # stopping consul-template.
  error_fatal = false
  # No quiescence wait (it delayed every join by its minimum): a change after a quiet spell is
  # rendered at once. Bursts (scale 1 -> 10) still fold: consul-template waits for
  # apply-render.sh, which reloads nginx at most every 200 ms, and then renders everything that
  # changed meanwhile in one go.
}
