#!/usr/bin/env bash
# Installs what sipqual needs on Debian 12 (root): Debian tools and a project venv.
# Idempotent: a second run only checks. Used by both README commands.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"

need_apt=()
for pair in sipp:sip-tester kamailio:kamailio rtpengine:rtpengine-daemon rtpengine-ctl:rtpengine-utils \
            tshark:tshark dumpcap:tshark editcap:tshark unbound:unbound ip:iproute2 ss:iproute2 openssl:openssl ps:procps iptables:iptables chromium:chromium pdftotext:poppler-utils; do
  cmd=${pair%%:*}; pkg=${pair#*:}
  command -v "$cmd" >/dev/null 2>&1 || need_apt+=("$pkg")
done
[ -e /usr/lib/x86_64-linux-gnu/kamailio/modules/tls.so ] || need_apt+=(kamailio-tls-modules)
python_ok=1; python3 -c 'import venv, ensurepip' 2>/dev/null || python_ok=0
[ "$python_ok" = 1 ] || need_apt+=(python3-venv)

if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "sipqual: missing Debian packages (${need_apt[*]}) and not root; run as root once" >&2; exit 2
  fi
  export DEBIAN_FRONTEND=noninteractive
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
  # No daemons started by the packages (kamailio.service would take port 5060): the lab starts its own.
  own_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; own_policy=1
  fi
  trap '[ "$own_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d; true' EXIT
  apt-get update -q
  apt-get install -y -q --no-install-recommends $(printf '%s\n' "${need_apt[@]}" kamailio-tls-modules | sort -u)
fi

if [ ! -x .venv/bin/python ] || [ pyproject.toml -nt .venv/.installed ]; then
  python3 -m venv .venv
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e '.[test]'
  touch .venv/.installed
fi
