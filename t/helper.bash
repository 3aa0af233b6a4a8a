# helper.bash — loaded by every test file: each test gets its own database,
# config, key and home, and runs the built binaries from bin/.

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'
load '/usr/lib/bats/bats-file/load'

RV_ROOT="$(cd "$BATS_TEST_DIRNAME/.." && pwd)"
export PATH="$RV_ROOT/bin:$PATH"
export ASAN_OPTIONS="detect_leaks=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

rv_setup() {
	export HOME="$BATS_TEST_TMPDIR/home"
	mkdir -p "$HOME"
	export XDG_CONFIG_HOME="$HOME/.config"
	export XDG_DATA_HOME="$HOME/.local/share"
	export XDG_RUNTIME_DIR="$BATS_TEST_TMPDIR/run"
	mkdir -p -m 700 "$XDG_RUNTIME_DIR"
	export RISERVA_DB="$BATS_TEST_TMPDIR/rv.db"
	export RISERVA_CONFIG="$BATS_TEST_TMPDIR/config"
	export RISERVA_KEY="$BATS_TEST_TMPDIR/key"
	export RISERVA_ACTOR=tester
	# A key made ahead, as a centre's admin would: the tools' one-time
	# "created the key file" warning stays out of the tests' output.
	# (t/keys.bats and t/auth.bats remove it to see that warning.)
	printf '%s\n' 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f \
		>"$RISERVA_KEY"
	chmod 600 "$RISERVA_KEY"
	# Monday 30 November 2026, 08:00 in Rome: the tests' fixed clock.
	export RISERVA_NOW=2026-11-30T08:00:00+01:00
	unset NO_COLOR TZ
	for v in $(env | sed -n 's/^\(RISERVA_[A-Z]*_[A-Z_]*\)=.*/\1/p'); do
		case $v in
		RISERVA_NOW|RISERVA_DB|RISERVA_CONFIG|RISERVA_KEY|RISERVA_ACTOR) ;;
		*) unset "$v" ;;
		esac
	done
}

setup() {
	rv_setup
}

# A small centre: two operators with hours, two services, two clients.
#   staff 1 giulia@example.com  mon-fri 09:00-13:00 14:00-18:00  Massaggio, Viso
#   staff 2 marco@example.com   mon-sat 10:00-19:00              Massaggio
#   service 1 Massaggio 60 min + 15 min buffer, 45.00
#   service 2 Viso 30 min, 30.00
#   client 1 Mario Rossi mario@example.com; client 2 Anna Bianchi anna@example.com
rv_centre() {
	staff add --name Giulia --email giulia@example.com >/dev/null
	staff add --name Marco --email marco@example.com >/dev/null
	catalog add --name Massaggio --duration 60 --buffer 15 --price 45 >/dev/null
	catalog add --name Viso --duration 30 --price 30 >/dev/null
	staff hours giulia@example.com mon-fri 09:00-13:00 14:00-18:00 >/dev/null
	staff hours marco@example.com mon-sat 10:00-19:00 >/dev/null
	staff services giulia@example.com Massaggio Viso >/dev/null
	staff services marco@example.com Massaggio >/dev/null
	client add --name Mario --surname Rossi --email mario@example.com \
		--phone '+39 333 111 2222' >/dev/null
	client add --name Anna --surname Bianchi --email anna@example.com \
		--phone 3334445555 --locale en >/dev/null
}

# The number sqlite3 prints for a query on the test database.
rv_sql() {
	sqlite3 "$RISERVA_DB" "$@"
}

# A JSON value out of the last line of $output: rv_json '["id"]'
rv_json() {
	printf '%s\n' "$output" | tail -n 1 |
		python3 -c 'import json,sys; v=json.load(sys.stdin)'"$1"'; print(v if not isinstance(v,(dict,list,bool)) and v is not None else json.dumps(v))'
}

# A free TCP port on loopback, for the test servers.
rv_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
