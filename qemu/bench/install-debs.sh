#!/bin/sh
# install-debs.sh PACKAGE...: installs the Debian packages among PACKAGE
# that are missing, for make bench (qemu/bench/bench.mk).
#
# nginx, HAProxy and Squid are daemons whose packages start them at
# install and at every boot. The benchmark runs its own instances in
# network namespaces; system-wide ones would hold ports 80/3128 and eat the
# CPU being measured. So the install runs under a policy-rc.d that forbids
# starting services (exit 101), for its duration only, and the services it
# installed are disabled afterwards. A policy-rc.d that was already there
# (containers ship one) is left as it is.
set -eu

missing=""
for p in "$@"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -n "$missing" ] || exit 0
if [ "$(id -u)" != 0 ]; then
	echo "bench-deps: run as root to install:$missing" >&2
	exit 1
fi
echo "bench-deps: installing Debian packages:$missing"

policy=${POLICY_RC_D:-/usr/sbin/policy-rc.d}
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\n# Temporary, from tprouter qemu/bench/install-debs.sh: start no services.\nexit 101\n' >"$policy"
	chmod 755 "$policy"
	trap 'rm -f "$policy"' EXIT
	trap 'rm -f "$policy"; exit 1' INT TERM
fi

apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing

# Not started now; keep them from starting at boot as well.
for p in $missing; do
	case $p in
	nginx*) svc=nginx ;;
	haproxy) svc=haproxy ;;
	squid) svc=squid ;;
	*) continue ;;
	esac
	if [ -d /run/systemd/system ]; then
		systemctl disable --now "$svc" >/dev/null 2>&1 || true
	else
		update-rc.d "$svc" disable >/dev/null 2>&1 || true
		service "$svc" stop >/dev/null 2>&1 || true
	fi
	echo "bench-deps: $svc installed, not running, disabled at boot"
done
