#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# md5-bypass over IPv6: see md5-bypass.sh.
MD5_FAMILY=6 source "$(dirname "$0")/md5-bypass.sh"
