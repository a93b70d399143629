#!/usr/bin/env python3
"""uml-no-xstate.py KERNEL ARGS...: exec a User-Mode Linux kernel with ptrace(PTRACE_GETREGSET,
pid, NT_X86_XSTATE) failing (EIO), so that UML saves guest FPU state with PTRACE_GETFPREGS.

Why: Debian 12's UML (6.1) probes XSTATE with a fixed-size buffer. Reading with it works, but
writing it back fails with EFAULT on hosts whose XSAVE area is larger (AVX-512, AMX: the kernel
wants exactly its own size), and the guest's init dies at once ("ptrace set fp regs failed").
With the probe refused, UML falls back to the legacy FXSAVE area (x87 + SSE).

What that leaves: only x87/SSE state is carried across the guest's ptrace stops. At a page
fault UML runs its stub's SIGSEGV handler in the guest's host process, the host kernel resets
the whole FPU state for that handler, and UML puts back only the FXSAVE part: every page fault
zeroes the upper halves of the YMM/ZMM registers and the AVX-512 mask registers, even in a
single-threaded program (measured: a value kept in ymm8 across a first touch of a page is lost
256 times out of 256; across a system call it survives), and threads of one guest process
share them. A static busybox then crashes unless glibc is told not to use AVX-512
(run-in-vm.sh sets GLIBC_TUNABLES in the guest), and node 20 aborts or miscomputes (simdutf's
base64, "Invalid bytecode"). So this is only the fallback: run-in-vm.sh prefers the kernel of
build-uml-kernel.sh, which writes the state with the host's own XSAVE size and needs no shim.

The filter is seccomp (installed with no_new_privs, inherited by UML's helpers). The guest's own
system calls are emulated by UML (PTRACE_SYSEMU stops them before seccomp runs), so only the
UML kernel's ptrace calls see it.
"""
import ctypes
import os
import struct
import sys

PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
AUDIT_ARCH_X86_64 = 0xC000003E
NR_PTRACE = 101
PTRACE_GETREGSET = 0x4204
NT_X86_XSTATE = 0x202
RET_ALLOW = 0x7FFF0000
RET_ERRNO_EIO = 0x00050000 | 5
LD_W_ABS, JEQ_K, RET_K = 0x20, 0x15, 0x06


def insn(code, k, jt=0, jf=0):
    return struct.pack("HBBI", code, jt, jf, k)


# seccomp_data: nr at 0, arch at 4, args[i] at 16 + 8*i (low 32 bits first on x86-64).
program = b"".join([
    insn(LD_W_ABS, 4), insn(JEQ_K, AUDIT_ARCH_X86_64, 0, 7),
    insn(LD_W_ABS, 0), insn(JEQ_K, NR_PTRACE, 0, 5),
    insn(LD_W_ABS, 16), insn(JEQ_K, PTRACE_GETREGSET, 0, 3),
    insn(LD_W_ABS, 32), insn(JEQ_K, NT_X86_XSTATE, 0, 1),
    insn(RET_K, RET_ERRNO_EIO),
    insn(RET_K, RET_ALLOW),
])


class SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: uml-no-xstate.py KERNEL ARGS...")
    libc = ctypes.CDLL(None, use_errno=True)
    buf = ctypes.create_string_buffer(program)
    prog = SockFprog(len(program) // 8, ctypes.addressof(buf))
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        sys.exit("uml-no-xstate: prctl(PR_SET_NO_NEW_PRIVS): %s" % os.strerror(ctypes.get_errno()))
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) != 0:
        sys.exit("uml-no-xstate: prctl(PR_SET_SECCOMP): %s" % os.strerror(ctypes.get_errno()))
    os.execvp(sys.argv[1], sys.argv[1:])


main()
