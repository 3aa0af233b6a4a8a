#!/usr/bin/env bats
# Every binary: --help, --version, usage errors; the network stays out of
# the tools that do not need it.

load helper

@test "every binary answers --help on stdout with exit 0, and --version" {
	for b in "$RV_ROOT"/bin/*; do
		t=${b##*/}
		run "$t" --help
		assert_success
		assert_line --index 0 --partial "usage: $t"
		run "$t" --version
		assert_output "$t (riserva) 0.1.0"
		run "$t" --no-such-option
		assert_failure 64
	done
}

@test "only the network tools link libcurl" {
	for b in "$RV_ROOT"/bin/*; do
		t=${b##*/}
		case $t in
		remind|notify|gcal-sync) ;;
		*) run readelf -d "$b"
		   refute_output --partial libcurl ;;
		esac
	done
}

@test "make lint leaves the flavor bin/ was built as alone" {
	# make check runs lint between the sanitizer build and the suite: a
	# lint that stamped the release flavor made the next install relink.
	before=$(cat "$RV_ROOT/build/flavor")
	run env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$RV_ROOT" -s lint
	assert_success
	[ "$(cat "$RV_ROOT/build/flavor")" = "$before" ]
}

@test "make install puts every tool, page and completion under a prefix" {
	d="$BATS_TEST_TMPDIR/inst"
	before=$(cd "$RV_ROOT" && cksum bin/*)
	# The flavor bin/ was built as, so that install has nothing to relink.
	read -r flavor werror <"$RV_ROOT/build/flavor"
	run make -C "$RV_ROOT" -s install DESTDIR="$d" PREFIX=/usr PROGRAM_PREFIX=rv- \
		FLAVOR="$flavor" WERROR="${werror:-}"
	assert_success
	# bin/ is what the rest of the suite runs (under make check, the
	# sanitizer build): installing must not relink it as another flavor.
	[ "$(cd "$RV_ROOT" && cksum bin/*)" = "$before" ] ||
		fail "make install rebuilt bin/"
	for b in "$RV_ROOT"/bin/*; do
		t=${b##*/}
		assert_file_executable "$d/usr/bin/rv-$t"
		assert_file_exists "$d/usr/share/man/man1/rv-$t.1"
		assert_file_exists "$d/usr/share/bash-completion/completions/rv-$t"
		assert_file_exists "$d/usr/share/zsh/site-functions/_rv-$t"
		grep -q "^complete .* rv-$t\$" "$d/usr/share/bash-completion/completions/rv-$t"
		head -n 1 "$d/usr/share/zsh/site-functions/_rv-$t" | grep -q "^#compdef rv-$t"
	done
	grep -q '^_riserva_prefix=rv-$' "$d/usr/share/bash-completion/completions/_riserva"
	assert_file_exists "$d/usr/share/man/man7/riserva.7"
	assert_file_exists "$d/usr/share/man/man5/riserva.conf.5"
}

@test "a second make after a fresh build has nothing to do" {
	# The real Makefile over a tree of one library file, one tool and the
	# known-answer test: make must not throw away the objects it just made
	# (and then, say under sudo make install, build them all again).
	d="$BATS_TEST_TMPDIR/tree"
	mkdir -p "$d/lib" "$d/cmd" "$d/t"
	cp "$RV_ROOT/Makefile" "$d/"
	echo 'int lib_f(void); int lib_f(void) { return 0; }' >"$d/lib/a.c"
	echo 'int lib_f(void); int main(void) { return lib_f(); }' >"$d/cmd/x.c"
	cp "$d/cmd/x.c" "$d/t/kat.c"
	# Whatever make and flavor run this suite, the tree builds on its own.
	run env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$d" -s FLAVOR=release
	assert_success
	assert_file_exists "$d/bin/x"
	assert_file_exists "$d/build/release/cmd/x.o"
	run env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$d" -q FLAVOR=release
	assert_success
}
