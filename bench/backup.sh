#!/bin/sh
# backup.sh DB — `backup create` of DB (the 1,000,000-appointment database)
# beside `sqlite3 .backup` of the same file plus the same encryption of the
# copy (AES-256-GCM in 1 MiB chunks, bench/backup-gcm.c); then verify and
# restore. Prints one line per measurement.
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh
db=$1
tmp=bench/tmp
out=$tmp/backups
mkdir -p "$tmp"
export PATH="$PWD/bin:$PATH"

cc -O2 -o "$tmp/backup-gcm" bench/backup-gcm.c $(pkg-config --cflags --libs libgcrypt)

rm -rf "$out" "$tmp/raw.db" "$tmp/raw.sealed" "$tmp/restored.db"
create() { backup --db "$db" create --output "$out" >/dev/null; }
raw() {
	sqlite3 "$db" ".backup '$tmp/raw.db'"
	"$tmp/backup-gcm" "$tmp/raw.db" "$tmp/raw.sealed"
}
tc=$(bench_once create)
tr=$(bench_once raw)
bench_row "backup create / sqlite3 .backup + AES-GCM" "$tc" "$tr" ""
f=$(ls "$out"/*.rvbak | tail -n 1)
bench_note "  backup size" "$(du -h "$f" | cut -f1) (database $(du -h "$db" | cut -f1))"
tv=$(bench_once sh -c 'backup verify "$0" >/dev/null' "$f")
bench_note "backup verify (decrypt + integrity_check)" "$(awk -v t="$tv" 'BEGIN { printf "%.2fs", t }')"
tres=$(bench_once sh -c 'backup restore "$0" --db "$1" >/dev/null' "$f" "$tmp/restored.db")
bench_note "backup restore (decrypt + integrity_check)" "$(awk -v t="$tres" 'BEGIN { printf "%.2fs", t }')"
rm -f "$tmp/raw.db" "$tmp/raw.sealed" "$tmp/restored.db"
