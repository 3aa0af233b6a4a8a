# riserva — build, test, install.  `make`, `make demo`, `make check`, `make bench`.

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
DATADIR ?= $(PREFIX)/share
MANDIR ?= $(DATADIR)/man
BASHCOMPDIR ?= $(DATADIR)/bash-completion/completions
ZSHCOMPDIR ?= $(DATADIR)/zsh/site-functions
DESTDIR ?=
PROGRAM_PREFIX ?=

CC ?= cc
CFLAGS ?= -O2 -g
LDFLAGS ?=
PKG_CONFIG ?= pkg-config

# FLAVOR=san builds with AddressSanitizer and UBSan into its own objects.
FLAVOR ?= release
WERROR ?=
BUILD := build/$(FLAVOR)

WARN := -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes \
	-Wmissing-prototypes -Wvla
ifeq ($(WERROR),1)
WARN += -Werror
endif
ifeq ($(FLAVOR),san)
SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer
endif

PKGS := sqlite3 jansson libgcrypt
NET_PKGS := libcurl
# Only these talk to the network, so only they link libcurl (~10 ms of
# start-up the others do not pay).
NET_TOOLS := remind notify gcal-sync

ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -Ilib $(WARN) $(SAN) $(CFLAGS) \
	$(shell $(PKG_CONFIG) --cflags $(PKGS) $(NET_PKGS) 2>/dev/null)
LIBS = $(shell $(PKG_CONFIG) --libs $(PKGS))
NET_LIBS = $(shell $(PKG_CONFIG) --libs $(NET_PKGS))

LIB_SRC := $(sort $(wildcard lib/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
CMD_SRC := $(sort $(wildcard cmd/*.c))
TOOLS := $(notdir $(CMD_SRC:.c=))
BINS := $(TOOLS:%=bin/%)
# Known-answer tests of lib/'s primitives, for the bats suite; not installed.
TEST_BINS := t/kat
MAN1 := $(wildcard man/*.1)
MAN5 := $(wildcard man/*.5)
MAN7 := $(wildcard man/*.7)

.DELETE_ON_ERROR:
.PHONY: all clean install uninstall check test lint demo bench deps deps-test

all: $(BINS) $(TEST_BINS)

# Switching flavor relinks bin/: it depends on a file naming the flavor.
# Written only by a make that builds here: lint, test and the targets that
# build through a sub-make (check, bench, demo) must not stamp their own
# default flavor over the one bin/ was built as, or the next install would
# relink the sanitizer build the suite is running as a release one.
FLAVOR_STAMP := build/flavor
NO_STAMP := lint clean uninstall deps deps-test test check bench demo
ifneq ($(filter-out $(NO_STAMP),$(or $(MAKECMDGOALS),all)),)
$(shell mkdir -p build; echo '$(FLAVOR) $(WERROR)' | cmp -s - $(FLAVOR_STAMP) || echo '$(FLAVOR) $(WERROR)' > $(FLAVOR_STAMP))
endif

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/librv.a: $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

bin/%: $(BUILD)/cmd/%.o $(BUILD)/librv.a $(FLAVOR_STAMP)
	@mkdir -p bin
	$(CC) $(SAN) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/librv.a \
		$(if $(filter $*,$(NET_TOOLS)),$(NET_LIBS)) $(LIBS)

t/%: $(BUILD)/t/%.o $(BUILD)/librv.a $(FLAVOR_STAMP)
	$(CC) $(SAN) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/librv.a $(LIBS)

-include $(LIB_OBJ:.o=.d) $(CMD_SRC:%.c=$(BUILD)/%.d) $(BUILD)/t/kat.d

# A tool's object is made by a chain of rules, so make would delete it as
# intermediate; the next make, reading its .d, would then build every tool
# again (as root, under sudo make install).
.SECONDARY: $(CMD_SRC:%.c=$(BUILD)/%.o) $(TEST_BINS:%=$(BUILD)/%.o)

clean:
	rm -rf build bin t/tmp bench/tmp demo $(TEST_BINS)

deps:
	@sh mk/deps.sh build

deps-test:
	@sh mk/deps.sh build test

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7 \
		$(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR) \
		$(DESTDIR)$(DATADIR)/riserva
	for t in $(TOOLS); do \
		install -m 755 bin/$$t $(DESTDIR)$(BINDIR)/$(PROGRAM_PREFIX)$$t; \
		install -m 644 man/$$t.1 \
			$(DESTDIR)$(MANDIR)/man1/$(PROGRAM_PREFIX)$$t.1; \
		sed -e 's/^_riserva_prefix=.*/_riserva_prefix=$(PROGRAM_PREFIX)/' \
			-e 's/^\(complete .*\) \([a-z-]*\)$$/\1 $(PROGRAM_PREFIX)\2/' \
			completions/bash/$$t \
			> $(DESTDIR)$(BASHCOMPDIR)/$(PROGRAM_PREFIX)$$t; \
		sed -e 's/^#compdef \(.*\)/#compdef $(PROGRAM_PREFIX)\1/' \
			-e 's/^_riserva_prefix=.*/_riserva_prefix=$(PROGRAM_PREFIX)/' \
			completions/zsh/_$$t \
			> $(DESTDIR)$(ZSHCOMPDIR)/_$(PROGRAM_PREFIX)$$t; \
	done
	sed 's/^_riserva_prefix=.*/_riserva_prefix=$(PROGRAM_PREFIX)/' \
		completions/bash/_riserva > $(DESTDIR)$(BASHCOMPDIR)/_riserva
	install -m 644 $(MAN5) $(DESTDIR)$(MANDIR)/man5/
	install -m 644 $(MAN7) $(DESTDIR)$(MANDIR)/man7/
	cp -R share/riserva/. $(DESTDIR)$(DATADIR)/riserva/

uninstall:
	for t in $(TOOLS); do \
		rm -f $(DESTDIR)$(BINDIR)/$(PROGRAM_PREFIX)$$t \
			$(DESTDIR)$(MANDIR)/man1/$(PROGRAM_PREFIX)$$t.1 \
			$(DESTDIR)$(BASHCOMPDIR)/$(PROGRAM_PREFIX)$$t \
			$(DESTDIR)$(ZSHCOMPDIR)/_$(PROGRAM_PREFIX)$$t; \
	done
	rm -f $(DESTDIR)$(BASHCOMPDIR)/_riserva
	rm -rf $(DESTDIR)$(DATADIR)/riserva

# Style too; only cross-references to pages not installed yet are let pass.
lint:
	@out=$$(mandoc -Tlint $(MAN1) $(MAN5) $(MAN7) 2>&1 | \
		grep -v -e 'referenced manual not found' -e 'outdated mandoc.db'); \
	if [ -n "$$out" ]; then echo "$$out"; exit 1; fi; \
	echo "mandoc -Tlint: $(words $(MAN1) $(MAN5) $(MAN7)) pages clean"

# The README's test command: sanitized -Werror build, man pages, the suite.
check: deps-test
	$(MAKE) FLAVOR=san WERROR=1 all
	$(MAKE) lint
	@sh t/run.sh

test:
	@sh t/run.sh

demo: deps
	$(MAKE) all
	@sh share/riserva/demo.sh

bench: deps-test
	$(MAKE) FLAVOR=release all
	@sh bench/run.sh
