#!/usr/bin/env bash
# Installs, with apt, the servers the integration tests use when they are
# missing: slapd and ldap-utils (LDAP), chromium (browser tests), redis-server
# and postgresql, and npm; then, with npm, axe-core (the browser tests'
# accessibility check) into a cache directory outside the repository,
# $SSOKIT_TEST_CACHE or ~/.cache/ssokit-test, where e2e finds it. Runs as
# root or through sudo. Safe to run again.
set -euo pipefail
need=()
command -v slapd >/dev/null 2>&1 || [ -x /usr/sbin/slapd ] || need+=(slapd)
command -v ldapadd >/dev/null 2>&1 || need+=(ldap-utils)
command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || need+=(chromium)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need+=(postgresql)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v npm >/dev/null 2>&1 || need+=(npm)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# axe-core, pinned; e2e reads node_modules/axe-core/axe.min.js below the
# cache directory.
axe_version=4.14.1
cache="${SSOKIT_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ssokit-test}"
if ! grep -qs "\"version\": \"$axe_version\"" "$cache/node_modules/axe-core/package.json"; then
  echo "installing: axe-core@$axe_version (npm) in $cache" >&2
  mkdir -p "$cache"
  npm install --silent --no-audit --no-fund --no-save --prefix "$cache" "axe-core@$axe_version" >/dev/null
fi
