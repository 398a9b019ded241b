#!/bin/sh
# Test agent: asks init to shut down with signal $1 and exits 0 when init passes SIGTERM on.
trap 'echo "AGENT-GOT-SIGTERM"; exit 0' TERM
kill -"$1" 1
# Short commands: busybox sh runs the trap between them.
while :; do sleep 0.1; done
