# Sourced by scripts/setup.sh and scripts/lock.sh: `ensure_uv PYTHON` sets UV to a uv binary
# at the version and hashes requirements-dev.txt pins, installed with pip into .tools/uv from
# that one locked entry (so installing the locks never depends on the locks being installed).
# uv resolves the locks (scripts/lock.sh) and installs them into the virtualenvs (setup.sh).

ensure_uv() {
  local py="$1" want
  want="$(sed -n 's/^uv==\([^ ;]*\).*/\1/p' requirements-dev.txt)"
  UV=".tools/uv/bin/uv"
  if [ -x "$UV" ] && [ -n "$want" ] && [ "$("$UV" --version | awk '{print $2}')" = "$want" ]; then
    return 0
  fi
  printf '[uv] installing uv %s into .tools/uv\n' "${want:-(first lock)}" >&2
  rm -rf .tools/uv
  mkdir -p .tools
  "$py" -m venv .tools/uv
  if [ -n "$want" ]; then
    # The lock's uv entry alone: the line `uv==...` and its hash lines.
    awk '/^uv==/ {on = 1; print; next} /^[a-z]/ {on = 0} on && !/^ *#/' requirements-dev.txt >.tools/uv/requirements.txt
    .tools/uv/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps \
      -r .tools/uv/requirements.txt 2> >(grep -v 'is ignored: it is neither a file nor a directory' >&2)
  else # no uv in the lock yet: the range requirements-dev.in gives
    .tools/uv/bin/python -m pip install --quiet --disable-pip-version-check \
      "$(sed -n 's/^\(uv[<>=!~][^ #]*\).*/\1/p' requirements-dev.in)" \
      2> >(grep -v 'is ignored: it is neither a file nor a directory' >&2)
  fi
}
