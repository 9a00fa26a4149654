#!/bin/sh
# The stand-in's form of the official nginx image's /docker-entrypoint.sh: when the command is
# nginx, run the executable scripts in /docker-entrypoint.d/ in order (*.envsh sourced, *.sh
# run; the stand-in ships none), then run the command as PID 1.
set -e

if [ "$1" = "nginx" ] || [ "$1" = "nginx-debug" ]; then
    for f in $(find /docker-entrypoint.d/ -follow -type f -print | sort -V); do
        [ -x "$f" ] || continue
        case "$f" in
            *.envsh) . "$f" ;;
            *.sh) "$f" ;;
        esac
    done
fi

exec "$@"
