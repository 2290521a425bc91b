#!/usr/bin/env bash
# keep-running.sh COMMAND...: run COMMAND, and run it again whenever it exits on its own (a Celery worker that
# died), until this script itself is stopped (Ctrl-C under `make run`, SIGTERM from honcho). honcho stops every
# process when one exits and restarts none; docker-compose restarts a container by its `restart:` policy instead.
set -u
delay="${KEEP_RUNNING_DELAY:-5}"
stopping=0
child=0
stop() {
  stopping=1
  if [ "$child" -gt 0 ]; then kill -TERM "$child" 2>/dev/null; fi
}
trap stop TERM INT
while :; do
  "$@" &
  child=$!
  wait "$child"
  status=$?
  if [ "$stopping" = 1 ]; then
    wait "$child" 2>/dev/null  # a trap ends the first wait early: let the command finish shutting down
    exit 0
  fi
  echo "keep-running: '$*' exited with status $status; starting it again in ${delay} s" >&2
  sleep "$delay" &
  wait $!
  if [ "$stopping" = 1 ]; then exit 0; fi
done
