#!/usr/bin/env bash
# Runs a fuzz target once on every file of its corpus: in the normal build
# through standalone_main, under --config=fuzz through libFuzzer (which, given
# files rather than directories, runs each once and does not fuzz). A crash,
# a sanitizer report or a broken check fails the test with the input named.
# Usage: replay_test.sh FUZZ_BINARY CORPUS_FILE...
set -euo pipefail
binary="$1"
shift
(($# > 0)) || { echo "no corpus files given" >&2; exit 1; }
exec "$binary" "$@"
