# SPDX-License-Identifier: MIT
"""A real QEMU guest behind `islo-net qemu`.

Debian's qemu-system-x86 boots a Debian kernel with an initramfs built here
(tests/e2e/guest/: a static busybox, an /init and the virtio-net modules).
The guest's only NIC is `-netdev stream` to islo-net's unix socket; it asks
for a DHCP lease (udhcpc, a few seconds) and, without one, configures the
islo-net addresses itself; then it fetches from the world's loopback HTTP
server through an allowed rule and from a host the profile does not allow,
prints a GUEST-... marker line for each on its serial console, and powers
off.

The kernel, in this order: $ISLO_GUEST_KERNEL (with $ISLO_GUEST_MODULES, the
matching lib/modules/VERSION); one fetched earlier into build/qemu-guest/;
a /boot/vmlinuz-* whose /lib/modules/VERSION is there (linux-image-amd64);
else tests/e2e/guest/fetch-kernel.sh downloads Debian's cloud kernel
package into build/qemu-guest/ (apt-get download, nothing installed;
$ISLO_GUEST_BUILD names another directory).  The
test is skipped only when there is no qemu-system-x86_64 or no kernel.
The guest runs under TCG (software emulation); ISLO_GUEST_ACCEL=kvm (or
"kvm,tcg") uses KVM where it works.
"""
import glob
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from conftest import ISLO, ROOT, audit_events

HERE = os.path.dirname(os.path.abspath(__file__))
GUEST = os.path.join(HERE, "guest")
sys.path.insert(0, GUEST)
import mkinitramfs  # noqa: E402

BUILD = os.environ.get("ISLO_GUEST_BUILD") or os.path.join(ROOT, "build", "qemu-guest")
BOOT_TIMEOUT = 120          # seconds from QEMU's start to the guest's poweroff (TCG)

PROFILE = """\
name: vm-guest-profile
default_action: deny
rules:
  - name: guest-api
    host_pattern: api.example.com
    ports: [{http}]
    allow_private: true
"""


def kernel_version(vmlinuz):
    # vmlinuz-6.1.0-56-cloud-amd64 -> 6.1.0-56-cloud-amd64
    return os.path.basename(vmlinuz).split("-", 1)[1]


def find_kernel():
    """(vmlinuz, modules dir, where it came from) or (None, None, why not)."""
    k = os.environ.get("ISLO_GUEST_KERNEL")
    if k:
        m = os.environ.get("ISLO_GUEST_MODULES") or ""
        if not os.path.isfile(k) or not os.path.isdir(m):
            return None, None, ("ISLO_GUEST_KERNEL=%s needs ISLO_GUEST_MODULES "
                                "(its lib/modules/VERSION), got %r" % (k, m))
        return k, m, "$ISLO_GUEST_KERNEL"
    cached = os.path.join(BUILD, "kernel")
    for src, root in (("build/qemu-guest (fetched earlier)", cached), ("/boot", "/")):
        for k in sorted(glob.glob(os.path.join(root, "boot", "vmlinuz-*")), reverse=True):
            m = os.path.join(root, "lib", "modules", kernel_version(k))
            if os.access(k, os.R_OK) and os.path.isdir(os.path.join(m, "kernel")):
                return k, m, src
    os.makedirs(BUILD, exist_ok=True)
    r = subprocess.run([os.path.join(GUEST, "fetch-kernel.sh"), cached],
                       capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        return None, None, ("no kernel in /boot and fetching one failed:\n" + r.stderr)
    k = r.stdout.strip().splitlines()[-1]
    pkg = open(os.path.join(cached, "PACKAGE")).read().strip()
    return k, os.path.join(cached, "lib", "modules", kernel_version(k)), \
        "fetched now (%s)" % pkg


class Guest:
    pass


@pytest.fixture(scope="session")
def guest():
    """Kernel, initramfs (built once per session) and QEMU, or a skip."""
    qemu = shutil.which("qemu-system-x86_64")
    if not qemu:
        pytest.skip("qemu-system-x86_64 not found (Debian: qemu-system-x86)")
    kernel, modules, where = find_kernel()
    if not kernel:
        pytest.skip("no kernel for the QEMU guest: " + where)
    os.makedirs(BUILD, exist_ok=True)
    g = Guest()
    g.qemu, g.kernel, g.where = qemu, kernel, where
    g.initrd = os.path.join(BUILD, "initramfs.cpio.gz")
    t = time.monotonic()
    try:
        g.modules = mkinitramfs.build(g.initrd, modules)
    except FileNotFoundError as e:
        pytest.fail("cannot build the guest's initramfs: %s" % e)
    g.build_s = time.monotonic() - t
    # TCG unless asked: the guest boots in about 3 s under it, and a
    # /dev/kvm that opens is no proof that KVM works (nested under another
    # hypervisor it can hang the guest in its first instructions, with no
    # error, which would cost the whole timeout).
    g.accel = os.environ.get("ISLO_GUEST_ACCEL", "tcg").split(",")
    return g


@pytest.fixture(scope="module", autouse=True)
def profile(world):
    world.profile("vm-guest-profile", PROFILE)


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return "(none)"


def markers(console):
    """{"ALLOWED": ("OK", "hello ..."), "NET": ("static", ""), ...} from the
    GUEST-<KEY>[-<RESULT>] lines."""
    out = {}
    for line in console.replace("\r", "").splitlines():
        if not line.startswith("GUEST-"):
            continue
        head, _, rest = line[len("GUEST-"):].partition(" ")
        if head in ("ALLOWED-OK", "ALLOWED-REFUSED", "ALLOWED-ERROR",
                    "DENIED-OK", "DENIED-REFUSED", "DENIED-ERROR"):
            k, _, v = head.partition("-")
            out[k] = (v, rest)
        elif head == "NET":
            out["NET"] = (rest.strip(), "")
        else:
            out.setdefault(head, (rest, ""))
    return out


@pytest.mark.parametrize("netcfg", ["auto", "static"])
def test_qemu_guest_through_islo_net(guest, world, scratch, netcfg):
    """netcfg auto: DHCP, else static addresses (the output says which);
    static: the guest never asks for DHCP (a guest configured by hand)."""
    sock = os.path.join(scratch, "guest.sock")
    audit = os.path.join(scratch, "audit.log")
    serial = os.path.join(scratch, "serial.log")
    islo_err = os.path.join(scratch, "islo-net.err")
    qemu_out = os.path.join(scratch, "qemu.out")
    t0 = time.monotonic()

    with open(islo_err, "w") as ie:
        islo = subprocess.Popen([ISLO, "qemu", "--socket", sock,
                                 "--profiles-dir", world.profiles, "-g", "vm-guest-profile",
                                 "--dns-upstream", "127.0.0.1:%d" % world.dns_port,
                                 "--audit-log", audit],
                                stdout=ie, stderr=ie)
    qemu = None

    def report(what):
        return ("%s\n--- guest serial console ---\n%s\n--- qemu stdout/stderr ---\n%s\n"
                "--- islo-net stderr ---\n%s\n--- audit log ---\n%s\n--- kernel: %s (%s); "
                "accel %s; modules %s" % (
                    what, read(serial), read(qemu_out), read(islo_err), read(audit),
                    guest.kernel, guest.where, ",".join(guest.accel), " ".join(guest.modules)))

    try:
        deadline = time.monotonic() + 10
        while not os.path.exists(sock):
            assert islo.poll() is None, report("islo-net exited (rc %s) before "
                                               "listening" % islo.returncode)
            assert time.monotonic() < deadline, report("islo-net made no socket in 10 s")
            time.sleep(0.05)

        args = [guest.qemu, "-nodefaults", "-no-user-config", "-machine", "pc",
                "-m", "256M", "-smp", "1", "-display", "none", "-no-reboot",
                "-serial", "file:" + serial,
                "-kernel", guest.kernel, "-initrd", guest.initrd,
                "-append", "console=ttyS0 quiet panic=-1 islo.port=%d islo.net=%s" % (
                    world.http_port, netcfg),
                "-netdev", "stream,id=n0,server=off,addr.type=unix,addr.path=" + sock,
                "-device", "virtio-net-pci,netdev=n0,romfile="]
        for a in guest.accel:
            args += ["-accel", a]
        t_qemu = time.monotonic()
        with open(qemu_out, "w") as qo:
            qemu = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=qo, stderr=qo)
        try:
            rc = qemu.wait(timeout=BOOT_TIMEOUT)
        except subprocess.TimeoutExpired:
            qemu.kill()
            qemu.wait()
            pytest.fail(report("the guest did not power off within %d s" % BOOT_TIMEOUT))
        guest_s = time.monotonic() - t_qemu
        assert rc == 0, report("QEMU exited with %d" % rc)
    finally:
        if qemu and qemu.poll() is None:
            qemu.kill()
            qemu.wait()
        islo.send_signal(signal.SIGTERM)
        try:
            islo_rc = islo.wait(timeout=10)
        except subprocess.TimeoutExpired:
            islo.kill()
            islo_rc = islo.wait()

    console = read(serial)
    m = markers(console)
    net = m.get("NET", ("?", ""))[0]
    # The measurements: shown with -s, and in every failure message.
    summary = ("qemu guest (%s): %.1f s from QEMU start to poweroff, %.1f s in all "
               "(initramfs built in %.2f s); accel %s; network by %s; kernel %s (%s)" % (
                   netcfg, guest_s, time.monotonic() - t0, guest.build_s, ",".join(guest.accel),
                   net, os.path.basename(guest.kernel), guest.where))
    print(summary)
    print("\n".join(l for l in console.replace("\r", "").splitlines() if l.startswith("GUEST-")))

    assert islo_rc == 0, report("islo-net exited with %d after SIGTERM" % islo_rc)
    assert "BOOTED" in m, report("the guest's /init never ran")
    assert "INSMOD-FAILED" not in m, report("a module did not load in the guest")
    assert "NO-ETH0" not in m, report("the guest has no eth0")
    assert net in ("dhcp", "static"), report("the guest never configured its network")
    if netcfg == "static":
        assert net == "static", report("the guest asked for DHCP when told not to")
    if net == "dhcp":
        lease = m.get("LEASE", ("", ""))[0]
        assert "ip=10.0.2.100" in lease and "router=10.0.2.2" in lease \
            and "dns=10.0.2.3" in lease, report("unexpected DHCP lease: " + lease)
    assert "DONE" in m, report("the guest's /init did not finish")

    allowed = m.get("ALLOWED")
    assert allowed and allowed[0] == "OK", report("the allowed fetch failed: %r" % (allowed,))
    assert "hello from upstream host=api.example.com:%d path=/guest" % world.http_port \
        in allowed[1], report("the allowed fetch got the wrong body: %r" % (allowed[1],))
    denied = m.get("DENIED")
    assert denied and denied[0] == "REFUSED", \
        report("the disallowed fetch was not refused: %r" % (denied,))

    ev = [e for e in audit_events(read(audit))
          if e.get("event") == "connection" and e.get("proto") == "tcp"]
    assert any(e.get("action") == "allow" and e.get("rule") == "guest-api"
               and e.get("host") == "api.example.com" and e.get("src") == "10.0.2.100"
               and e.get("dst_port") == world.http_port for e in ev), \
        report("no audit 'allow' for api.example.com:%d" % world.http_port)
    assert any(e.get("action") == "deny" and e.get("host") == "other.example.com"
               and e.get("dst_port") == world.http_port for e in ev), \
        report("no audit 'deny' for other.example.com:%d" % world.http_port)
