#!/bin/sh
# demo.sh — a demo centre in its own folder, and a short tour of the tools.
# usage: sh share/riserva/demo.sh [DIR]   (default ./demo; never your data)
set -eu

here=$(cd "$(dirname "$0")/../.." && pwd)
dir=${1:-$PWD/demo}
case $dir in /*) ;; *) dir=$PWD/$dir ;; esac
[ -x "$here/bin/book" ] && PATH="$here/bin:$PATH"

rm -rf "$dir"
mkdir -p -m 700 "$dir"
export RISERVA_DB="$dir/riserva.db"
export RISERVA_CONFIG="$dir/config"
export RISERVA_KEY="$dir/key"
export RISERVA_ACTOR=demo
unset RISERVA_NOW
cat >"$RISERVA_CONFIG" <<'EOF'
[clinic]
name = Centro Benessere Aurora
timezone = Europe/Rome
locale = it
email = info@aurora.example
[booking]
slot_step = 15m
EOF

say() {
	if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then
		printf '\n\033[1m== %s\033[0m\n' "$*"
	else
		printf '\n== %s\n' "$*"
	fi
}
# Shows the command as one would type it (words with spaces quoted), runs it.
run() {
	printf '$'
	for a in "$@"; do
		case $a in
		*[!A-Za-z0-9@%+=:,./_-]*) printf " '%s'" "$a" ;;
		*) printf ' %s' "$a" ;;
		esac
	done
	printf '\n'
	"$@"
}

echo "building a demo centre in $dir ..."

# Staff and their weekly hours.
staff add --name "Giulia Conti" --email giulia@aurora.example >/dev/null
staff add --name "Marco Greco" --email marco@aurora.example >/dev/null
staff add --name "Sara Marino" --email sara@aurora.example >/dev/null
staff add --name "Luca Ferri" --email luca@aurora.example >/dev/null
staff add --name "Elena Rossi" --email elena@aurora.example --role reception >/dev/null
staff hours giulia@aurora.example mon-fri 09:00-13:00 14:00-18:00 >/dev/null
staff hours marco@aurora.example tue-sat 10:00-19:00 >/dev/null
staff hours sara@aurora.example mon-sat 08:30-14:30 >/dev/null
staff hours luca@aurora.example mon-fri 12:00-20:00 >/dev/null

# The catalog.
catalog add --name "Massaggio rilassante" --duration 60 --buffer 15 --price 55 >/dev/null
catalog add --name "Massaggio decontratturante" --duration 50 --buffer 10 --price 50 >/dev/null
catalog add --name "Trattamento viso" --duration 45 --price 40 >/dev/null
catalog add --name "Manicure" --duration 30 --buffer 5 --price 25 >/dev/null
catalog add --name "Pedicure" --duration 45 --buffer 5 --price 35 >/dev/null
catalog add --name "Riflessologia" --duration 40 --buffer 10 --price 45 >/dev/null
staff services giulia@aurora.example 1 2 6 >/dev/null
staff services marco@aurora.example 1 2 >/dev/null
staff services sara@aurora.example 3 4 5 >/dev/null
staff services luca@aurora.example 1 3 6 >/dev/null

# 300 clients, imported in one go.
awk 'BEGIN {
	split("Giulia Marco Francesca Luca Chiara Alessandro Sara Matteo Elena Davide Anna Paolo Martina Simone Laura", n, " ")
	split("Rossi Russo Ferrari Esposito Bianchi Romano Colombo Ricci Marino Greco Bruno Gallo Conti Fontana Costa Giordano Mancini Rizzo Lombardi Moretti", s, " ")
	srand(7)
	for (i = 1; i <= 300; i++) {
		a = n[1 + (i * 7) % 15]; b = s[1 + (i * 11) % 20]
		e = tolower(a "." b); gsub(/ /, "", e)
		printf "{\"name\":\"%s\",\"surname\":\"%s\",\"email\":\"%s.%d@example.com\",\"phone\":\"+39 3%02d %07d\",\"locale\":\"%s\"}\n",
		    a, b, e, i, 20 + i % 80, int(rand() * 9999999), (i % 9 == 0) ? "en" : "it"
	}
}' | client import 2>/dev/null

# Days as the centre counts them, in its time zone, not the machine's.
export TZ=Europe/Rome
today=$(date +%F)
# The tour looks at the next working day (the centre is closed on Sunday).
next=$(date -d "$today 1 day" +%F)
[ "$(date -d "$next" +%u)" -eq 7 ] && next=$(date -d "$today 2 days" +%F)

# A month of appointments: the last two weeks and the next two. Past days
# are booked as they were, with the clock set to that morning. The tour's
# day is left half free, so that it has slots to show.
staff_services() {
	case $1 in
	giulia*) echo "1 2 6" ;; marco*) echo "1 2" ;; sara*) echo "3 4 5" ;;
	luca*) echo "1 3 6" ;;
	esac
}
n=0 made=0
for d in $(seq -14 14); do
	day=$(date -d "$today $d days" +%F)
	for who in giulia marco sara luca; do
		set -- $(staff_services $who)
		k=$(( (d + 20) * 7 ))
		for hhmm in 08:30 09:00 09:45 10:30 11:15 12:00 12:45 14:00 14:45 15:30 16:15 17:00 17:45 18:30; do
			k=$((k + 3))
			[ $((k % 5)) -eq 0 ] && continue	# some gaps
			[ "$day" = "$next" ] && [ $((k % 2)) -eq 0 ] && continue
			svc=$(eval echo \${$((1 + (k / 3 + d + 14) % $#))})
			client=$((1 + (k * 37 + n) % 300))
			n=$((n + 1))
			if [ "$d" -lt 0 ]; then
				now="$day 06:00"	# local: before the first slot, in summer too
			else
				now=""
			fi
			if RISERVA_NOW=$now book add --client "$client" \
			    --service "$svc" --staff "$who@aurora.example" \
			    --at "$day $hhmm" >/dev/null 2>&1; then
				made=$((made + 1))
			fi
		done
	done
done
echo "$made appointments booked, 300 clients, 5 staff, 6 services."

say "Free slots for a relaxing massage on $next"
run book slots --service "Massaggio rilassante" --date "$next" --format table | head -n 12

say "The agenda of $next"
run book list --date "$next" --format table

slot=$(book slots --service "Trattamento viso" --date "$next" -j | head -n 1)
at=$(printf '%s\n' "$slot" | sed 's/.*"start":"\([^"]*\)".*/\1/')
who=$(printf '%s\n' "$slot" | sed 's/.*"staff_id":\([0-9]*\).*/\1/')

say "Booking a facial at the first free time"
run book add --client 42 --service "Trattamento viso" --staff "$who" --at "$at" --format table

say "Booking the same time again, for someone else: refused"
set +e
run book add --client 43 --service "Trattamento viso" --staff "$who" --at "$at"
echo "(exit status $?)"
set -e

say "The same agenda as JSON Lines, for scripts and jq"
run book list --date "$next" -j | head -n 3
echo "..."

cat <<EOF

To keep exploring this demo centre, point your shell at it:

    export PATH="$here/bin:\$PATH"
    export RISERVA_DB="$RISERVA_DB"
    export RISERVA_CONFIG="$RISERVA_CONFIG"
    export RISERVA_KEY="$RISERVA_KEY"

then try: client list --search rossi, book slots --service Pedicure --date $next,
staff hours giulia@aurora.example, man -l man/book.1. Your own data is not touched.
EOF
