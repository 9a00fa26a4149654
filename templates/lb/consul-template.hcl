# consul-template for drcon's LB. Consul's address comes from CONSUL_HTTP_ADDR (set by `drcon up`).

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

template {
  source      = "/etc/drcon/nginx.conf.ctmpl"
  destination = "/etc/nginx/nginx.conf"
  # Quiescence: render 30 ms after the last change, at most 150 ms after the first. Long enough
  # to fold a burst (scale 1 -> 10 registers ten instances within ~100 ms) into one or two nginx
  # reloads instead of ten, short enough that a dead instance leaves the LB well under 250 ms.
  wait {
    min = "30ms"
    max = "150ms"
  }
}

exec {
  command = ["nginx", "-g", "daemon off;"]
  # SIGHUP is nginx's graceful reload: new workers take the new config, old workers finish the
  # requests they hold (bounded by worker_shutdown_timeout in the template).
  reload_signal = "SIGHUP"
  # SIGQUIT is nginx's graceful stop.
  kill_signal  = "SIGQUIT"
  kill_timeout = "10s"
  # No random delay before signalling: there is one nginx, not a fleet to stagger.
  splay = "0s"
}
