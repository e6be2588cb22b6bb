#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# See ops.sh.
OPS_CASE=legacy source "$(dirname "$0")/ops.sh"
