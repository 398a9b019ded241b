#!/bin/sh
# Test agent: asks for a power-off, then ignores SIGTERM; init must give up on it and kill it.
trap '' TERM
kill -USR2 1
while :; do sleep 0.2; done
