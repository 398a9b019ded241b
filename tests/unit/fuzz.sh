#!/usr/bin/env bash
# The libFuzzer targets of tests/fuzz, each for a short bounded time (FUZZ_SECONDS, default 10)
# from its committed seed corpus: fails on any crash or sanitizer report. `make fuzz` runs the
# long sessions.
src=$(dirname "$0")/../..
exec "$src/tests/fuzz/run.sh" check
