module agent-observability/grafana-placeholder

go 1.26
