#!/usr/bin/env bash
# Prints the path of a prometheus for the metrics tests, installing Debian's package if needed
# (without recommends: the node exporter is not needed).
exec "$(dirname "$0")/ensure-debian-binary.sh" prometheus prometheus PROMETHEUS "install Prometheus >= 2.40"
