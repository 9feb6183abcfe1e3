#!/usr/bin/env bash
# Runs a command with a time limit and prints its exit status, so that a
# test can tell an error (exit 1) from a hang (124) or a signal (>128).
# usage: timeout.sh SECONDS COMMAND...
s=$1
shift
timeout "$s" "$@"
echo "exit $?"
