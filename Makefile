# SPDX-License-Identifier: GPL-2.0-only
# One make for everything; all output goes to .output/.
#   make            build crux, crux-map, BPF objects and tests
#   make check      run every test (unit, golden, bpf, e2e, asan, fuzz corpus, lint)
#   make fuzz       run the image fuzzer for FUZZ_SECONDS (default 60)
#   make demo       the main story, end to end
#   make bench      benchmarks under tools/bench
#   make V=1        show full commands
#   make install PREFIX=/usr DESTDIR=/tmp/root   binaries, man pages, unit, completions
#   make uninstall  the same files removed;  make deb  a Debian package in .output/

OUTPUT		:= .output
CLANG		?= clang
CC		?= gcc
BPFTOOL		?= $(shell command -v bpftool 2>/dev/null || echo /usr/sbin/bpftool)
PROTOC_C	?= protoc-c
ARCH		:= $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')
PREFIX		?= /usr/local
SBINDIR		?= $(PREFIX)/sbin
MANDIR		?= $(PREFIX)/share/man
UNITDIR		?= $(PREFIX)/lib/systemd/system
BASHCOMPDIR	?= $(PREFIX)/share/bash-completion/completions
VERSION		:= 0.1.0
WERROR		?= 1
comma		:= ,

WARNINGS	:= -Wall -Wextra -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes \
		   -Wshadow -Wno-unused-parameter
ifeq ($(WERROR),1)
WARNINGS	+= -Werror
endif
CFLAGS		?= -g -O2
CFLAGS		+= -std=gnu11 -D_GNU_SOURCE $(WARNINGS) -MMD -MP
# user/ is in layers, each a folder (README, Layout); a module's header sits beside it.
USER_LAYERS	:= base os img map fd dump restore cmd
CPPFLAGS	+= -Iinclude $(addprefix -Iuser/,$(USER_LAYERS)) -I$(OUTPUT) -I$(OUTPUT)/images
LDLIBS		+= -lbpf -lelf -lz -lprotobuf-c
ifdef ASAN
CFLAGS		+= -fsanitize=address,undefined -fno-omit-frame-pointer
LDFLAGS		+= -fsanitize=address,undefined
endif

# clang -target bpf has no system include path of its own: borrow the host's.
CLANG_BPF_SYS_INCLUDES ?= $(shell $(CLANG) -v -E - </dev/null 2>&1 \
	| sed -n '/<...> search starts here:/,/End of search list./{ s| \(/.*\)|-idirafter \1|p }')
BPF_CFLAGS	:= -g -O2 -Wall -Werror -target bpf -D__TARGET_ARCH_$(ARCH) \
		   -I$(OUTPUT) -Iinclude -Ibpf $(CLANG_BPF_SYS_INCLUDES)

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

BPF_SRCS	:= $(wildcard bpf/*.bpf.c)
BPF_OBJS	:= $(patsubst bpf/%.bpf.c,$(OUTPUT)/%.bpf.o,$(BPF_SRCS))
SKELS		:= $(patsubst bpf/%.bpf.c,$(OUTPUT)/%.skel.h,$(BPF_SRCS))

PROTOS		:= $(wildcard images/*.proto)
PB_SRCS		:= $(patsubst images/%.proto,$(OUTPUT)/images/%.pb-c.c,$(PROTOS))
PB_HDRS		:= $(PB_SRCS:.c=.h)
PB_OBJS		:= $(PB_SRCS:.c=.o)

LIB_SRCS	:= $(foreach l,$(USER_LAYERS),$(wildcard user/$(l)/*.c))
LIB_OBJS	:= $(patsubst user/%.c,$(OUTPUT)/user/%.o,$(LIB_SRCS)) $(PB_OBJS)
LIBCRUX		:= $(OUTPUT)/libcrux.a

TOOL_SRCS	:= $(wildcard tools/*.c)
TOOLS		:= $(patsubst tools/%.c,$(OUTPUT)/%,$(subst _,-,$(TOOL_SRCS)))
DEMO_SRCS	:= $(wildcard tools/demo/*.c)
DEMOS		:= $(patsubst tools/demo/%.c,$(OUTPUT)/demo/%,$(DEMO_SRCS))
BENCH_SRCS	:= $(wildcard tools/bench/*.c)
BENCHES		:= $(patsubst tools/bench/%.c,$(OUTPUT)/bench/%,$(BENCH_SRCS))

TESTLIB_SRCS	:= $(wildcard tests/lib/*.c)
TESTLIB_OBJS	:= $(patsubst tests/lib/%.c,$(OUTPUT)/tests/lib/%.o,$(TESTLIB_SRCS))
TESTLIB		:= $(OUTPUT)/libtest.a
TEST_SRCS	:= $(wildcard tests/unit/*.c tests/bpf/*.c tests/e2e/*.c tests/golden/*.c)
TESTS		:= $(patsubst tests/%.c,$(OUTPUT)/tests/%,$(TEST_SRCS))

.PHONY: all check demo bench asan lint modgraph install uninstall deb clean deps FORCE fuzz
.DELETE_ON_ERROR:
.SECONDARY:

all: $(OUTPUT)/crux $(TOOLS) $(TESTS) $(BENCHES) $(DEMOS)

# Missing Debian packages are installed once, before anything is built.
$(OUTPUT)/.deps: tools/deps.sh
	$(call msg,DEPS,checking build dependencies)
	$(Q)mkdir -p $(OUTPUT) && tools/deps.sh && touch $@
deps: $(OUTPUT)/.deps

$(OUTPUT)/vmlinux.h: | $(OUTPUT)/.deps
	$(call msg,BTF,$@)
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@

$(OUTPUT)/%.tmp.bpf.o: bpf/%.bpf.c $(OUTPUT)/vmlinux.h $(wildcard bpf/*.h) include/abi.h include/compat.h
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUTPUT)/%.bpf.o: $(OUTPUT)/%.tmp.bpf.o
	$(call msg,LINK,$@)
	$(Q)$(BPFTOOL) gen object $@ $<

$(OUTPUT)/%.skel.h: $(OUTPUT)/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

$(OUTPUT)/images/%.pb-c.c $(OUTPUT)/images/%.pb-c.h: images/%.proto | $(OUTPUT)/.deps
	$(call msg,PROTO,$<)
	$(Q)mkdir -p $(OUTPUT)/images && $(PROTOC_C) --proto_path=images --c_out=$(OUTPUT)/images $<

# A .proto may import another: every generated header exists before any of them is compiled.
PB_SAN		:= $(if $(ASAN),-fsanitize=address$(comma)undefined)
$(OUTPUT)/images/%.pb-c.o: $(OUTPUT)/images/%.pb-c.c | $(PB_HDRS)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) -std=gnu11 -g -O2 -MMD -MP $(PB_SAN) -c $< -o $@

# Generated headers exist before any C file is compiled; -MMD tracks the rest.
GENERATED	:= $(SKELS) $(PB_HDRS)

$(OUTPUT)/user/%.o: user/%.c | $(GENERATED) $(OUTPUT)/.deps
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D) && $(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(OUTPUT)/tools/%.o: tools/%.c | $(GENERATED) $(OUTPUT)/.deps
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D) && $(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(OUTPUT)/tests/%.o: tests/%.c | $(GENERATED) $(OUTPUT)/.deps
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D) && $(CC) $(CPPFLAGS) -Itests/lib $(CFLAGS) -c $< -o $@

$(LIBCRUX): $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(TESTLIB): $(TESTLIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(OUTPUT)/crux: $(OUTPUT)/user/main.o $(LIBCRUX)
	$(call msg,BIN,$@)
	$(Q)$(CC) $(LDFLAGS) $< $(LIBCRUX) $(LDLIBS) -o $@

# A tool may have parts of its own in tools/<tool>/ (crux-map: its command line).
$(OUTPUT)/crux-map: $(patsubst tools/%.c,$(OUTPUT)/tools/%.o,$(wildcard tools/crux_map/*.c))

$(OUTPUT)/crux-%: $(OUTPUT)/tools/crux_%.o $(LIBCRUX)
	$(call msg,BIN,$@)
	$(Q)$(CC) $(LDFLAGS) $(filter %.o,$^) $(LIBCRUX) $(LDLIBS) -o $@

$(OUTPUT)/bench/%: $(OUTPUT)/tools/bench/%.o $(TESTLIB) $(LIBCRUX)
	$(call msg,BIN,$@)
	$(Q)mkdir -p $(@D) && $(CC) $(LDFLAGS) $^ $(LDLIBS) -lpthread -o $@

# The demo's programs are plain C: no crux library, so they look like any service.
$(OUTPUT)/demo/%: $(OUTPUT)/tools/demo/%.o
	$(call msg,BIN,$@)
	$(Q)mkdir -p $(@D) && $(CC) $(LDFLAGS) $^ -o $@

$(OUTPUT)/tests/%: $(OUTPUT)/tests/%.o $(TESTLIB) $(LIBCRUX)
	$(call msg,BIN,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -lpthread -o $@

# libFuzzer target (tests/fuzz): the library again, built by clang with ASan and UBSan.
FUZZ_CC		?= clang
FUZZ_SECONDS	?= 60
FUZZ_CFLAGS	:= -std=gnu11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer \
		   -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
FUZZ_OBJS	:= $(patsubst user/%.c,$(OUTPUT)/fuzz/user/%.o,$(LIB_SRCS)) \
		   $(patsubst $(OUTPUT)/images/%.c,$(OUTPUT)/fuzz/pb/%.o,$(PB_SRCS))
FUZZER		:= $(OUTPUT)/fuzz/fuzz_img

$(OUTPUT)/fuzz/user/%.o: user/%.c | $(GENERATED) $(OUTPUT)/.deps
	$(call msg,FUZZCC,$@)
	$(Q)mkdir -p $(@D) && $(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@

$(OUTPUT)/fuzz/pb/%.o: $(OUTPUT)/images/%.c | $(PB_HDRS)
	$(call msg,FUZZCC,$@)
	$(Q)mkdir -p $(@D) && $(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZER): tests/fuzz/fuzz_img.c $(FUZZ_OBJS) | $(GENERATED)
	$(call msg,FUZZ,$@)
	$(Q)$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer $< $(FUZZ_OBJS) $(LDLIBS) -o $@

# make fuzz FUZZ_SECONDS=N: new inputs go to .output/fuzz/corpus (copy keepers to tests/fuzz/corpus)
fuzz: $(FUZZER)
	$(Q)mkdir -p $(OUTPUT)/fuzz/corpus
	$(Q)$(FUZZER) -max_total_time=$(FUZZ_SECONDS) -close_fd_mask=3 -timeout=10 \
		$(OUTPUT)/fuzz/corpus tests/fuzz/corpus

check: all $(FUZZER)
	$(Q)tests/run.sh

demo: all
	$(Q)tools/demo.sh

bench: all
	$(Q)tools/bench/run.sh

# Unit and golden tests again, under AddressSanitizer and UBSan, in a tree of their own.
asan:
	$(Q)$(MAKE) --no-print-directory OUTPUT=.output/asan ASAN=1 \
		$(patsubst $(OUTPUT)/%,.output/asan/%,$(filter $(OUTPUT)/tests/unit/% $(OUTPUT)/tests/golden/%,$(TESTS))) \
		$(patsubst $(OUTPUT)/%,.output/asan/%,$(TOOLS))

# lint reads the objects too: the module graph (tools/modgraph.sh) comes from their symbols.
lint: $(LIB_OBJS)
	$(Q)tools/lint.sh

# Print the module graph: each module with the modules it uses; fails on a cycle.
modgraph: $(LIB_OBJS)
	$(Q)tools/modgraph.sh

# The unit names the installed binary: it is made for SBINDIR (a change of it remakes it).
$(OUTPUT)/crux-track.service: dist/crux-track.service.in FORCE
	$(Q)mkdir -p $(@D) && sed 's|@SBINDIR@|$(SBINDIR)|g' $< > $@.tmp
	$(Q)if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi
FORCE:

MANPAGES	:= $(notdir $(wildcard man/*.8))

install: $(OUTPUT)/crux $(OUTPUT)/crux-map $(OUTPUT)/crux-track.service
	install -D -m 0755 $(OUTPUT)/crux $(DESTDIR)$(SBINDIR)/crux
	install -D -m 0755 $(OUTPUT)/crux-map $(DESTDIR)$(SBINDIR)/crux-map
	install -d $(DESTDIR)$(MANDIR)/man8
	install -m 0644 $(addprefix man/,$(MANPAGES)) $(DESTDIR)$(MANDIR)/man8/
	install -D -m 0644 $(OUTPUT)/crux-track.service $(DESTDIR)$(UNITDIR)/crux-track.service
	install -D -m 0644 dist/bash-completion/crux $(DESTDIR)$(BASHCOMPDIR)/crux
	ln -sf crux $(DESTDIR)$(BASHCOMPDIR)/crux-map

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/crux $(DESTDIR)$(SBINDIR)/crux-map
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man8/,$(MANPAGES))
	rm -f $(DESTDIR)$(UNITDIR)/crux-track.service
	rm -f $(DESTDIR)$(BASHCOMPDIR)/crux $(DESTDIR)$(BASHCOMPDIR)/crux-map

# A Debian package of the installed files, /etc/default/crux-track as its conffile.
DEB_ARCH	:= $(shell dpkg --print-architecture 2>/dev/null || echo amd64)
DEB		:= $(OUTPUT)/crux_$(VERSION)-1_$(DEB_ARCH).deb
DEB_ROOT	:= $(OUTPUT)/deb/root
deb: $(DEB)
$(DEB): $(OUTPUT)/crux $(OUTPUT)/crux-map dist/crux-track.service.in dist/deb/control.in \
		dist/deb/postinst dist/deb/postrm dist/crux-track.default $(wildcard man/*.8)
	$(call msg,DEB,$@)
	$(Q)rm -rf $(DEB_ROOT) && $(MAKE) --no-print-directory -s install DESTDIR=$(CURDIR)/$(DEB_ROOT) \
		PREFIX=/usr UNITDIR=/lib/systemd/system >/dev/null
	$(Q)install -D -m 0644 dist/crux-track.default $(DEB_ROOT)/etc/default/crux-track
	$(Q)strip --strip-unneeded $(DEB_ROOT)/usr/sbin/crux $(DEB_ROOT)/usr/sbin/crux-map
	$(Q)gzip -9n $(DEB_ROOT)/usr/share/man/man8/*.8
	$(Q)install -d $(DEB_ROOT)/DEBIAN && install -m 0755 dist/deb/postinst dist/deb/postrm $(DEB_ROOT)/DEBIAN/
	$(Q)echo /etc/default/crux-track > $(DEB_ROOT)/DEBIAN/conffiles
	$(Q)sed -e 's|@VERSION@|$(VERSION)-1|' -e 's|@ARCH@|$(DEB_ARCH)|' \
		-e "s|@SIZE@|$$(du -sk --exclude=DEBIAN $(DEB_ROOT) | cut -f1)|" dist/deb/control.in \
		> $(DEB_ROOT)/DEBIAN/control
	$(Q)dpkg-deb --root-owner-group -Zxz --build $(DEB_ROOT) $@ >/dev/null

clean:
	rm -rf $(OUTPUT)

-include $(shell find $(OUTPUT) -name '*.d' 2>/dev/null)
