#!/bin/sh
# Test agent: dies of SIGKILL.
echo "AGENT-KILLING-ITSELF"
kill -9 $$
