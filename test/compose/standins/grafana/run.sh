#!/bin/sh
# PLACEHOLDER of Grafana's /run.sh: starts the placeholder server.
exec grafana server "$@"
