// A PLACEHOLDER for Grafana in `make test-compose`, where Grafana can be neither built nor
// fetched. As `grafana server` it answers GET /api/health and GET /metrics on :3000 and 404 to
// everything else, so no check of Grafana's own API can pass against it by accident; as
// `grafana cli ...` (grafana/image/Dockerfile installs plugins with it) it does nothing.
package main

import (
	"fmt"
	"log"
	"net/http"
	"os"
	"strings"
)

// The version the image is tagged with; its health answer and build_info say "placeholder".
var version = "unknown"

func main() {
	if len(os.Args) > 1 && os.Args[1] == "cli" {
		fmt.Printf("grafana placeholder: skipped `grafana %s`\n", strings.Join(os.Args[1:], " "))
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/health", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"database":"ok","version":"%s","commit":"placeholder"}`+"\n", version)
	})
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		fmt.Fprintln(w, "# HELP grafana_build_info A metric with a constant '1' value labeled by version.")
		fmt.Fprintln(w, "# TYPE grafana_build_info gauge")
		fmt.Fprintf(w, "grafana_build_info{edition=\"placeholder\",version=\"%s\"} 1\n", version)
	})
	log.Printf("grafana placeholder %s: /api/health and /metrics on :3000, nothing else", version)
	log.Fatal(http.ListenAndServe(":3000", mux))
}
