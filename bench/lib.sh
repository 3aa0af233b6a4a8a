# lib.sh — timing helpers the benchmark scripts share (sourced, POSIX sh).

now_ns() {
	date +%s%N
}

# bench_loop N FUNC: calls FUNC 0 .. N-1 one after the other and prints
# the mean wall-clock seconds of one call.
bench_loop() {
	_n=$1 _f=$2 _i=0
	_t0=$(now_ns)
	while [ "$_i" -lt "$_n" ]; do
		"$_f" "$_i"
		_i=$((_i + 1))
	done
	_t1=$(now_ns)
	awk -v a="$_t0" -v b="$_t1" -v n="$_n" 'BEGIN { printf "%.6f\n", (b - a) / n / 1e9 }'
}

# bench_once CMD...: wall-clock seconds of one run.
bench_once() {
	_t0=$(now_ns)
	"$@"
	_t1=$(now_ns)
	awk -v a="$_t0" -v b="$_t1" 'BEGIN { printf "%.6f\n", (b - a) / 1e9 }'
}

# bench_median X...: the middle one of the numbers, for runs repeated on a
# machine whose speed comes and goes.
bench_median() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
	    END { printf "%.6f\n", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

bench_header() {
	printf '%-44s %12s %12s %8s  %s\n' operation riserva sqlite3 ratio target
}

# bench_row OPERATION TOOL_SECONDS SQLITE_SECONDS TARGET
bench_row() {
	awk -v op="$1" -v t="$2" -v s="$3" -v goal="$4" 'BEGIN {
		printf "%-44s %10.2fms %10.2fms %7.2fx  %s\n", op, t * 1000, s * 1000,
		    (s > 0 ? t / s : 0), goal }'
}

# bench_note TEXT: a measurement that is not a ratio.
bench_note() {
	printf '%-44s %s\n' "$1" "$2"
}

# bench_pair N FUNC_A FUNC_B: calls FUNC_A i then FUNC_B i for i in 0 .. N-1,
# interleaved so that both meet the same disk and cache; prints the mean
# seconds of one call of each, "A B".
bench_pair() {
	_n=$1 _fa=$2 _fb=$3 _i=0 _ta=0 _tb=0
	while [ "$_i" -lt "$_n" ]; do
		_t0=$(now_ns)
		"$_fa" "$_i"
		_t1=$(now_ns)
		"$_fb" "$_i"
		_t2=$(now_ns)
		_ta=$((_ta + _t1 - _t0))
		_tb=$((_tb + _t2 - _t1))
		_i=$((_i + 1))
	done
	awk -v a="$_ta" -v b="$_tb" -v n="$_n" \
	    'BEGIN { printf "%.6f %.6f\n", a / n / 1e9, b / n / 1e9 }'
}
