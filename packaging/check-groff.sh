#!/usr/bin/env bash
# Fails when groff warns about a man page (bad macros, unknown escapes, lines it cannot break).
# Usage: check-groff.sh GROFF MANPAGE
set -euo pipefail
warnings=$(LC_ALL=C.UTF-8 "$1" -man -Tutf8 -ww -z "$2" 2>&1)
if [ -n "$warnings" ]; then
    echo "$2:" >&2
    echo "$warnings" >&2
    exit 1
fi
