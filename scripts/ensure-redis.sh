#!/usr/bin/env bash
# Prints the path of a redis-server for the team-mode tests, installing Debian's package if needed.
exec "$(dirname "$0")/ensure-debian-binary.sh" redis-server redis-server REDIS_SERVER "install Redis >= 6.2"
