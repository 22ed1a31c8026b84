#!/usr/bin/env bash
# Removes testbed network namespaces (ssw-*) and daemons left behind by a
# killed test or an interrupted `cargo xtask testbed up`. Touches nothing else.
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then
  echo "clean-testbeds: run as root (network namespaces)" >&2
  exit 1
fi
for pidfile in /run/smtpsweep-testbed/*/serve.pid; do
  [ -e "$pidfile" ] || continue
  pid=$(cat "$pidfile")
  kill "$pid" 2>/dev/null && echo "stopped testbed daemon $pid"
  rm -rf "$(dirname "$pidfile")"
done
for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep '^ssw-' || true); do
  ip netns del "$ns" && echo "deleted namespace $ns"
done
