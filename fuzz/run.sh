#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# run.sh FUZZER SEEDS WORKDIR SECONDS
# Runs a libFuzzer target for SECONDS. The committed seeds are only read;
# what the fuzzer finds (new inputs, crash files) goes to WORKDIR in the
# build tree.
set -eu
fuzzer=$1 seeds=$2 work=$3 secs=$4
mkdir -p "$work"
exec "$fuzzer" -max_total_time="$secs" -timeout=5 -rss_limit_mb=2048 \
	-print_final_stats=1 -error_exitcode=1 -artifact_prefix="$work/" "$work" "$seeds"
