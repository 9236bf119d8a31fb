#!/usr/bin/env bash
# Builds one extra test venv, .venv-NAME at the checkout's root, from scripts/venvs/NAME.txt:
# the tests that need a library which cannot share the main .venv (a conflicting pin, a heavy
# server) run it from there as a child process. Again only when the requirements file (or
# pyproject.toml, for a venv that installs this project) changed since the last build.
#
# Never fatal: a venv that cannot be built leaves .venv-NAME.failed with the reason, the
# tests that need it skip and say so, and the rest of the suite runs. The pip output goes to
# .venv-NAME.log.
set -uo pipefail
name="$1"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
requirements="$root/scripts/venvs/$name.txt"
venv="$root/.venv-$name"
stamp="$venv/.sentrial-installed"
log="$root/.venv-$name.log"
failed="$root/.venv-$name.failed"
python="${PYTHON:-python3}"

# A venv that installs this project (a "-e ." line) also goes stale with pyproject.toml.
project="$root/scripts/venvs/$name.txt"
grep -q '^-e \.' "$requirements" && project="$root/pyproject.toml"
if [ -f "$stamp" ] && [ ! "$requirements" -nt "$stamp" ] && [ ! "$project" -nt "$stamp" ]; then
  exit 0
fi
rm -f "$failed"
started=$SECONDS
echo "building $venv from scripts/venvs/$name.txt (log: $log)" >&2
(
  set -e
  cd "$root"
  if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --upgrade pip
  fi
  "$venv/bin/python" -m pip install --quiet -r "$requirements"
) >"$log" 2>&1
status=$?
if [ "$status" -ne 0 ]; then
  { echo "pip failed (exit $status) building $venv; last lines of $log:"; tail -n 5 "$log"; } >"$failed"
  cat "$failed" >&2
  exit 0
fi
touch "$stamp"
echo "built $venv in $((SECONDS - started)) s ($(du -sh "$venv" | cut -f1))" >&2
