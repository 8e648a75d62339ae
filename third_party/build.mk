# SPDX-License-Identifier: MIT
# third_party/build.mk - lwIP and BearSSL, fetched pristine and built into
# $(BUILD)/liblwip.a and $(BUILD)/libbearssl.a.  Included by the Makefile
# (one make, not recursive), which defines BUILD, BASEFLAGS, CFLAGS_ISLO
# and Q; third_party/README.md explains the choices.

include third_party/versions.mk

LWIPDIR := deps/lwip-$(LWIPVER)
# BearSSL, built from Debian's source package: Debian's libbearssl.a is
# compiled with -Os, which costs a third of a TLS handshake's CPU here
# (its interpreted handshake code, SHA-2) (docs/DESIGN-NOTES.md).
BEARDIR := deps/bearssl-$(BEARVER)

LWIP_PORT := third_party/lwip/port
LWIP_INC  := -I$(LWIP_PORT) -I$(LWIPDIR)/src/include
BEAR_INC  := -I$(BEARDIR)/inc
CFLAGS_LWIP := $(BASEFLAGS) -w $(LWIP_INC) -MMD -MP

LWIP_CORE := def inet_chksum init ip mem memp netif pbuf raw stats sys tcp \
             tcp_in tcp_out timeouts udp
LWIP_V4   := ip4 ip4_addr ip4_frag icmp
LWIP_V6   := ip6 ip6_addr ip6_frag icmp6 nd6 mld6 inet6 ethip6
LWIP_SRCS := $(LWIP_CORE:%=$(LWIPDIR)/src/core/%.c) \
             $(LWIP_V4:%=$(LWIPDIR)/src/core/ipv4/%.c) \
             $(LWIP_V6:%=$(LWIPDIR)/src/core/ipv6/%.c)
LWIP_OBJS := $(LWIP_SRCS:$(LWIPDIR)/%.c=$(BUILD)/lwip/%.o) $(BUILD)/lwip/port/chksum.o

# The unpacked trees may be shared (a worktree's deps/ may be a link to
# another checkout's), so whether a tree is current is not judged by
# dates, which every fresh checkout renews: its stamp is named by a
# digest of what made it (the fetch arguments, the script, our patches).
# A checkout with the same inputs reuses the tree; a changed version,
# checksum, script or patch fetches and patches it again.
FETCH       := third_party/fetch-debsrc.sh
LWIP_FETCH  := lwip $(LWIP_DEBVER) $(LWIP_ORIG) $(LWIP_SHA256) lwip-$(LWIPVER) deps
BEAR_FETCH  := bearssl $(BEAR_DEBVER) $(BEAR_ORIG) $(BEAR_SHA256) bearssl-$(BEARVER) deps
fetch_key    = $(shell { echo '$(1)'; cat $(FETCH) $(sort $(wildcard third_party/$(2)/patches/*.patch)); } | \
		sha256sum | cut -c1-16)
LWIP_STAMP  := $(LWIPDIR)/.islo-patched-$(call fetch_key,$(LWIP_FETCH),lwip)
BEAR_STAMP  := $(BEARDIR)/.islo-patched-$(call fetch_key,$(BEAR_FETCH),bearssl)
STAMPS      := $(LWIP_STAMP) $(BEAR_STAMP)

$(LWIP_STAMP):
	$(Q)$(FETCH) $(LWIP_FETCH)
	$(Q)touch $@

$(BEAR_STAMP):
	$(Q)$(FETCH) $(BEAR_FETCH)
	$(Q)touch $@

# Every BearSSL source file, with our optimisation and hardening flags
# (the list is only known once the source is there: one recipe). On x86
# BearSSL reads and writes unaligned words on purpose (BR_LE_UNALIGNED,
# as Debian's build does): UBSan's alignment check is off for it alone.
$(BUILD)/libbearssl.a: $(BEAR_STAMP) Makefile third_party/build.mk
	@mkdir -p $(BUILD)/bearssl
	@$(if $(Q),echo "  CC      bearssl-$(BEARVER)/src/*/*.c")
	$(Q)cd $(BEARDIR)/src && find . -name '*.c' | sort | \
		sed -e 's|^\./||' | xargs -P "$$(nproc)" -I{} sh -c \
		'$(CC) $(BASEFLAGS) -fno-sanitize=alignment -w -I. -I../inc -c -o "$(CURDIR)/$(BUILD)/bearssl/$$(echo {} | tr / _).o" {}'
	$(Q)rm -f $@ && ar rcs $@ $(BUILD)/bearssl/*.o

$(LWIP_SRCS): $(LWIP_STAMP)

$(BUILD)/lwip/%.o: $(LWIPDIR)/%.c $(LWIP_STAMP)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      lwip/$*.c")
	$(Q)$(CC) $(CFLAGS_LWIP) -c -o $@ $<

# our port (lwipopts.h, arch/cc.h, the checksum) builds with our warnings
$(BUILD)/lwip/port/%.o: $(LWIP_PORT)/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $(LWIP_PORT)/$*.c")
	$(Q)$(CC) $(CFLAGS_ISLO) -c -o $@ $<

$(BUILD)/liblwip.a: $(LWIP_OBJS)
	$(Q)rm -f $@ && ar rcs $@ $^
