# SPDX-License-Identifier: MIT
# third_party/versions.mk - what the build fetches, pinned: the one place
# the versions and checksums are written (third_party/README.md says why
# these, and how they are fetched).
#
# Each library is the upstream tarball ("orig") of a Debian source
# package, fetched with apt-get source (third_party/fetch-debsrc.sh),
# checked against the sha256 below, unpacked pristine under deps/ and
# patched only with our patches (third_party/<name>/patches/).  Debian's
# own packaging (the .dsc and debian.tar.xz apt fetches alongside) is not
# used.

# lwIP 2.1.3, Debian source package lwip 2.1.3+dfsg1-2
LWIPVER     := 2.1.3
LWIP_DEBVER := $(LWIPVER)+dfsg1-2
LWIP_ORIG   := lwip_$(LWIPVER)+dfsg1.orig.tar.xz
LWIP_SHA256 := 0a8276d09fc4e97bbba2f953d74af2388fc2195ea156be9d7589e297a68fde24

# BearSSL 0.6, Debian source package bearssl 0.6+dfsg.1-3
BEARVER     := 0.6
BEAR_DEBVER := $(BEARVER)+dfsg.1-3
BEAR_ORIG   := bearssl_$(BEARVER)+dfsg.1.orig.tar.xz
BEAR_SHA256 := 102a625bd8f6155260867a50c508df8d8c3f796985dd744df1a68e5cd1a79004
