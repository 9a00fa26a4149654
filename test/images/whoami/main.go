// Command whoami is a minimal stand-in for traefik/whoami, used only by drcon's offline tests.
//
// Why it exists: the test machines reach no image registry, so every image drcon's tests run
// is built locally (test/images/build.sh), and the Go module proxy does not serve
// github.com/traefik/whoami (403 for every version). This program keeps the behaviour of
// traefik/whoami that drcon's tests rely on, with the standard library only:
//
//   - it listens on :80 (flag -port, or WHOAMI_PORT_NUMBER);
//   - every path answers with "Hostname: ...", one "IP: ..." line per interface address,
//     "RemoteAddr: ...", then the request line and headers (a ?wait=<duration> query
//     delays the answer, as in traefik/whoami);
//   - GET /health answers 200 "OK" (POST /health with a status code in the body changes it);
//   - on SIGTERM (or SIGINT) it shuts down gracefully: it stops accepting connections and lets
//     requests in flight finish (http.Server.Shutdown).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	port := flag.String("port", envOr("WHOAMI_PORT_NUMBER", "80"), "port to listen on")
	name := flag.String("name", os.Getenv("WHOAMI_NAME"), "name to show in answers")
	grace := flag.Duration("shutdown-timeout", 30*time.Second, "longest wait for requests in flight on SIGTERM")
	flag.Parse()

	var healthCode atomic.Int32
	healthCode.Store(http.StatusOK)

	mux := http.NewServeMux()
	mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			body, _ := io.ReadAll(io.LimitReader(r.Body, 16))
			code, err := strconv.Atoi(strings.TrimSpace(string(body)))
			if err != nil || code < 100 || code > 599 {
				http.Error(w, "body must be an HTTP status code", http.StatusBadRequest)
				return
			}
			healthCode.Store(int32(code))
		}
		code := int(healthCode.Load())
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(code)
		if code == http.StatusOK {
			fmt.Fprint(w, "OK")
		} else {
			fmt.Fprint(w, http.StatusText(code))
		}
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if wait := r.URL.Query().Get("wait"); wait != "" {
			if d, err := time.ParseDuration(wait); err == nil {
				select {
				case <-time.After(d):
				case <-r.Context().Done():
					return
				}
			}
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprint(w, whoami(r, *name))
	})

	srv := &http.Server{
		Addr:              ":" + *port,
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
	}

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	done := make(chan struct{})
	go func() {
		sig := <-stop
		log.Printf("%s: shutting down, letting requests in flight finish", sig)
		ctx, cancel := context.WithTimeout(context.Background(), *grace)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			log.Printf("shutdown: %v", err)
		}
		close(done)
	}()

	log.Printf("listening on %s", srv.Addr)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
	<-done
	log.Print("stopped")
}

// whoami renders the answer traefik/whoami gives: who answered, then the request as received.
func whoami(r *http.Request, name string) string {
	var b strings.Builder
	if name != "" {
		fmt.Fprintf(&b, "Name: %s\n", name)
	}
	hostname, _ := os.Hostname()
	fmt.Fprintf(&b, "Hostname: %s\n", hostname)
	for _, ip := range interfaceIPs() {
		fmt.Fprintf(&b, "IP: %s\n", ip)
	}
	fmt.Fprintf(&b, "RemoteAddr: %s\n", r.RemoteAddr)
	fmt.Fprintf(&b, "%s %s %s\n", r.Method, r.URL.RequestURI(), r.Proto)
	fmt.Fprintf(&b, "Host: %s\n", r.Host)
	keys := make([]string, 0, len(r.Header))
	for k := range r.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range r.Header[k] {
			fmt.Fprintf(&b, "%s: %s\n", k, v)
		}
	}
	return b.String()
}

func interfaceIPs() []string {
	var ips []string
	ifaces, err := net.Interfaces()
	if err != nil {
		return nil
	}
	for _, iface := range ifaces {
		addrs, err := iface.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			switch v := a.(type) {
			case *net.IPNet:
				ips = append(ips, v.IP.String())
			case *net.IPAddr:
				ips = append(ips, v.IP.String())
			}
		}
	}
	return ips
}

func envOr(key, fallback string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return fallback
}
