#!/usr/bin/env bash
# Fails when faceatlas-cli's man page misses a command or an option that the program's own --help
# lists. Usage: check-manpage.sh FACEATLAS-CLI MANPAGE
set -euo pipefail
cli=$1
page=$2
# The man source writes '-' as '\-'; compare plain text.
text=$(sed 's/\\-/-/g' "$page")
commands=$("$cli" --help | awk '/^commands:/ {on = 1; next} on && /^  [a-z][a-z-]* / {print $1}')
[ -n "$commands" ] || { echo "check-manpage: '$cli --help' lists no commands" >&2; exit 1; }
missing=0
for command in $commands; do
    if ! grep -q "^\.SS $command\b" <<<"$text"; then
        echo "$page: no section (.SS) for the command '$command'" >&2
        missing=1
    fi
    # Every command listed runs (its help comes from the table only when main knows the command).
    if ! help=$("$cli" "$command" --help) || [[ $help != "usage: faceatlas-cli $command"* ]]; then
        echo "check-manpage: '$cli $command --help' failed or printed no usage line" >&2
        missing=1
        continue
    fi
    for option in $(grep -o -- '--[a-z][a-z-]*' <<<"$help" | sort -u); do
        if ! grep -q -- "$option\b" <<<"$text"; then
            echo "$page: '$command --help' lists $option, the man page does not" >&2
            missing=1
        fi
    done
done
exit $missing
