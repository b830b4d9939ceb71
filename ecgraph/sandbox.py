"""Cutting a worker process off the network: the second layer behind the SERVICE check.

pyoxigraph follows ``SERVICE`` and ``LOAD`` to any URL and offers no switch to turn that off, so
the node checks every query before it runs (:mod:`ecgraph.query.federate`). One parsing mistake in that
check would make a public endpoint an open proxy into the server's network. So the worker
processes that run public queries, parse uploads and validate them, none of which needs the
network, are cut off from it when they start, by two independent mechanisms of the Linux kernel:

* **a network namespace of their own** (``unshare(CLONE_NEWNET)``, or with a user namespace
  where the process is not privileged): it holds only a loopback interface, and that one is
  down, so no address at all, 127.0.0.1 included, can be reached;
* **a seccomp filter** that makes ``socket()`` fail for the Internet families (IPv4, IPv6) and
  forbids io_uring (which could open sockets without that system call). It needs no privilege
  and holds in containers that forbid namespaces.

Either one alone stops every connection; :func:`isolate` applies both where the kernel allows and
says which it could apply (``/health`` shows it). On a system that offers neither (not Linux, or
a kernel without seccomp), the SERVICE check is the only layer, the node logs it at start, and
the README says so.

Only queries whose every ``SERVICE`` target is an allowed peer run in workers that keep the
network (see :mod:`ecgraph.query.pool`); with no peers configured there are none.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import platform
import struct
import sys

CLONE_NEWNET = 0x40000000
CLONE_NEWUSER = 0x10000000

# seccomp constants (linux/seccomp.h, linux/filter.h, linux/audit.h)
_PR_SET_NO_NEW_PRIVS = 38
_SECCOMP_SET_MODE_FILTER = 1
_SECCOMP_FILTER_FLAG_TSYNC = 1
_SECCOMP_RET_ALLOW = 0x7FFF0000
_SECCOMP_RET_ERRNO = 0x00050000
_BPF_LD_W_ABS = 0x20
_BPF_JEQ_K = 0x15
_BPF_JGE_K = 0x35
_BPF_RET_K = 0x06
_AF_INET = 2
_AF_INET6 = 10
_AF_PACKET = 17

#: per architecture: (AUDIT_ARCH value, seccomp syscall, socket, io_uring_setup, x32 bit or None)
_ARCHES = {
    "x86_64": (0xC000003E, 317, 41, 425, 0x40000000),
    "aarch64": (0xC00000B7, 277, 198, 425, None),
}


def _libc():
    return ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)


def _unshare_network(libc) -> str | None:
    """Enter a new network namespace; return how, or None if the kernel refused."""
    if libc.unshare(CLONE_NEWNET) == 0:
        return "network namespace"
    if ctypes.get_errno() not in (errno.EPERM, errno.EINVAL, errno.ENOSYS):
        return None
    # Unprivileged: a user namespace first (the process must still be single-threaded).
    if libc.unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0:
        return "user and network namespace"
    return None


def _filter(arch: str) -> bytes | None:
    spec = _ARCHES.get(arch)
    if spec is None:
        return None
    audit_arch, _, nr_socket, nr_io_uring, x32_bit = spec
    deny = _SECCOMP_RET_ERRNO | errno.EPERM

    def stmt(code, k):
        return (code, 0, 0, k)

    def jeq(k, jt, jf):
        return (_BPF_JEQ_K, jt, jf, k)

    program = [
        stmt(_BPF_LD_W_ABS, 4),            # 0: A = arch
        jeq(audit_arch, 1, 0),             # 1: native arch? go on : (2)
        stmt(_BPF_RET_K, deny),            # 2: another ABI (i386 on x86_64...): deny everything
        stmt(_BPF_LD_W_ABS, 0),            # 3: A = syscall number
    ]
    if x32_bit is not None:
        program += [(_BPF_JGE_K, 0, 1, x32_bit),  # 4: x32 ABI call? deny : (6)
                    stmt(_BPF_RET_K, deny)]       # 5
    program += [
        jeq(nr_io_uring, 0, 1),            # io_uring_setup: deny
        stmt(_BPF_RET_K, deny),
        jeq(nr_socket, 0, 5),              # socket(): look at the family, else allow
        stmt(_BPF_LD_W_ABS, 16),           # A = args[0], low 32 bits (little endian)
        jeq(_AF_INET, 2, 0),
        jeq(_AF_INET6, 1, 0),
        jeq(_AF_PACKET, 0, 1),
        stmt(_BPF_RET_K, deny),
        stmt(_BPF_RET_K, _SECCOMP_RET_ALLOW),
    ]
    return b"".join(struct.pack("HBBI", *ins) for ins in program)


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def _seccomp(libc) -> bool:
    arch = platform.machine()
    code = _filter(arch)
    if code is None or sys.byteorder != "little":
        return False
    buffer = ctypes.create_string_buffer(code, len(code))
    prog = _SockFprog(len(code) // 8, ctypes.cast(buffer, ctypes.c_void_p))
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        return False
    nr_seccomp = _ARCHES[arch][1]
    # TSYNC: every thread of the process gets the filter, not only the calling one.
    result = libc.syscall(nr_seccomp, _SECCOMP_SET_MODE_FILTER, _SECCOMP_FILTER_FLAG_TSYNC, ctypes.byref(prog))
    return result == 0


def isolate() -> dict[str, object]:
    """Cut this process off the network for good; return what was applied. Call it first thing in
    a fresh worker process, before it starts threads."""
    applied: dict[str, object] = {"namespace": None, "seccomp": False}
    if not sys.platform.startswith("linux"):
        return applied
    try:
        libc = _libc()
    except OSError:
        return applied
    applied["namespace"] = _unshare_network(libc)
    try:
        applied["seccomp"] = _seccomp(libc)
    except (OSError, AttributeError):
        applied["seccomp"] = False
    return applied


def isolated(applied: dict[str, object] | None) -> bool:
    return bool(applied and (applied.get("namespace") or applied.get("seccomp")))


def describe(applied: dict[str, object] | None) -> str:
    if not applied:
        return "none"
    parts = [str(applied["namespace"])] if applied.get("namespace") else []
    if applied.get("seccomp"):
        parts.append("seccomp socket filter")
    return " + ".join(parts) if parts else "none"


if __name__ == "__main__":  # pragma: no cover - a manual check: python -m ecgraph.sandbox
    print(describe(isolate()), "pid", os.getpid())
