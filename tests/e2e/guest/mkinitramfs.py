#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Build the QEMU test guest's initramfs: a static busybox, /init (this
directory's `init`), udhcpc's event script, and the kernel modules the NIC
needs (with their dependencies, read from each module's .modinfo), written
as a gzip'd newc cpio archive by this script (no cpio, no root: device nodes
are just archive entries).

    mkinitramfs.py OUT.cpio.gz MODULES_DIR [BUSYBOX]

MODULES_DIR is a kernel's lib/modules/VERSION.  Also used as a module by
tests/e2e/test_qemu_guest.py.
"""
import gzip
import lzma
import os
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
# What the guest's NIC (virtio-net-pci) needs; the rest follows from depends=.
WANTED = ["virtio_pci", "virtio_net"]
BUSYBOX_PATHS = ["/bin/busybox", "/usr/bin/busybox"]


def is_static_elf(path):
    """True for an ELF executable with no PT_INTERP (no dynamic loader)."""
    with open(path, "rb") as f:
        h = f.read(64)
        if h[:4] != b"\x7fELF" or h[4] != 2:       # 64-bit only
            return False
        phoff, = struct.unpack_from("<Q", h, 32)
        phentsize, phnum = struct.unpack_from("<HH", h, 54)
        for i in range(phnum):
            f.seek(phoff + i * phentsize)
            if struct.unpack("<I", f.read(4))[0] == 3:  # PT_INTERP
                return False
    return True


def find_busybox():
    for p in [os.environ.get("ISLO_GUEST_BUSYBOX")] + BUSYBOX_PATHS:
        if p and os.path.isfile(p) and is_static_elf(p):
            return p
    return None


def norm(name):
    return name.replace("-", "_")


def module_index(moddir):
    """{module name: path} for every module file under MODULES_DIR/kernel."""
    idx = {}
    for root, _, files in os.walk(os.path.join(moddir, "kernel")):
        for f in files:
            for ext in (".ko", ".ko.xz", ".ko.zst", ".ko.gz"):
                if f.endswith(ext):
                    idx[norm(f[:-len(ext)])] = os.path.join(root, f)
    return idx


def builtin(moddir):
    names = set()
    p = os.path.join(moddir, "modules.builtin")
    if os.path.exists(p):
        for line in open(p):
            names.add(norm(os.path.basename(line.strip())[:-3]))
    return names


def module_bytes(path):
    if path.endswith(".xz"):
        return lzma.decompress(open(path, "rb").read())
    if path.endswith(".gz"):
        return gzip.decompress(open(path, "rb").read())
    if path.endswith(".zst"):
        return subprocess.run(["zstd", "-dc", path], check=True,
                              capture_output=True).stdout
    return open(path, "rb").read()


def depends(data):
    i = data.find(b"\0depends=")
    if i < 0:
        return []
    v = data[i + 9:data.index(b"\0", i + 1)].decode()
    return [norm(d) for d in v.split(",") if d]


def resolve_modules(moddir, wanted=WANTED):
    """[(name, bytes)] in load order; built-in modules are left out."""
    idx, bi = module_index(moddir), builtin(moddir)
    order, seen = [], set()

    def visit(name, chain):
        if name in seen:
            return
        seen.add(name)
        if name in bi:
            return
        if name not in idx:
            raise FileNotFoundError("module %s (needed by %s) not in %s"
                                    % (name, " <- ".join(chain) or "the guest", moddir))
        data = module_bytes(idx[name])
        for d in depends(data):
            visit(d, [name] + chain)
        order.append((name, data))

    for w in wanted:
        visit(norm(w), [])
    return order


class Cpio:
    """A newc ("070701") archive writer."""

    def __init__(self):
        self.out = bytearray()
        self.ino = 1

    def _entry(self, name, mode, data=b"", rdev=(0, 0)):
        name_b = name.encode() + b"\0"
        hdr = "070701" + "".join("%08X" % v for v in (
            self.ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1],
            len(name_b), 0))
        self.ino += 1
        self.out += hdr.encode() + name_b
        self.out += b"\0" * (-len(self.out) % 4)
        self.out += data
        self.out += b"\0" * (-len(self.out) % 4)

    def dir(self, name):
        self._entry(name, 0o040755)

    def file(self, name, data, mode=0o644):
        self._entry(name, 0o100000 | mode, data)

    def symlink(self, name, target):
        self._entry(name, 0o120777, target.encode())

    def chardev(self, name, major, minor, mode=0o600):
        self._entry(name, 0o020000 | mode, rdev=(major, minor))

    def finish(self):
        self._entry("TRAILER!!!", 0)
        return bytes(self.out)


def build(out, moddir, busybox=None):
    """Write the initramfs to OUT; returns the modules' load order."""
    busybox = busybox or find_busybox()
    if not busybox:
        raise FileNotFoundError("no static busybox (Debian: busybox-static)")
    mods = resolve_modules(moddir)
    c = Cpio()
    for d in ("bin", "dev", "etc", "proc", "sys", "tmp", "modules"):
        c.dir(d)
    c.chardev("dev/console", 5, 1)
    c.chardev("dev/null", 1, 3, 0o666)
    c.file("bin/busybox", open(busybox, "rb").read(), 0o755)
    c.symlink("bin/sh", "busybox")
    c.file("init", open(os.path.join(HERE, "init"), "rb").read(), 0o755)
    c.file("udhcpc.script", open(os.path.join(HERE, "udhcpc.script"), "rb").read(), 0o755)
    for name, data in mods:
        c.file("modules/%s.ko" % name, data)
    c.file("modules.list", "".join("%s.ko\n" % n for n, _ in mods).encode())
    tmp = out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(gzip.compress(c.finish(), 6))
    os.replace(tmp, out)
    return [n for n, _ in mods]


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    print(" ".join(build(*sys.argv[1:])))
