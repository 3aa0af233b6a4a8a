#!/bin/sh
# deps.sh — install the Debian packages riserva needs, when they are missing.
# usage: sh mk/deps.sh build [test]
set -u

build="gcc make pkg-config libsqlite3-dev libcurl4-openssl-dev libjansson-dev
	libgcrypt20-dev tzdata"
# zsh: t/completion.bats drives the zsh completions through a pty.
# python3-jsonschema: t/consent.bats validates consent receipts against
# share/riserva/schema/consent-receipt.schema.json.
# openssl: t/mail.bats makes a throwaway certificate for STARTTLS and SMTPS.
test="sqlite3 bats bats-assert bats-support bats-file python3 python3-aiosmtpd
	python3-jsonschema mandoc zsh openssl"

want=
for set in "$@"; do
	case $set in
	build) want="$want $build" ;;
	test) want="$want $test" ;;
	*) echo "deps.sh: unknown set '$set'" >&2; exit 64 ;;
	esac
done

missing=
for p in $want; do
	st=$(dpkg-query -W -f '${Status}' "$p" 2>/dev/null)
	case $st in
	*"ok installed") ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
	echo "riserva needs:$missing (Debian package names); install them" >&2
	exit 69
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "riserva needs:$missing" >&2
	echo "run as root, or: sudo apt-get install -y$missing" >&2
	exit 77
fi
echo "installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null && apt-get install -y -qq $missing >/dev/null ||
	{ echo "deps.sh: apt-get failed" >&2; exit 69; }
