#!/usr/bin/python3
"""Types into `kata-host console NAME` and watches its output: sends SEND (a line), reads until
the regular expression EXPECT matches or TIMEOUT seconds pass, then leaves and prints
everything the console wrote. From a pipe (default), leaving is closing stdin (kata-host goes
once the guest is quiet); with --tty, kata-host runs on a pseudo-terminal and leaving is
Ctrl-], its escape. Exit 0 when EXPECT matched, 1 when not, 2 when kata-host failed or hung.
Usage: console.py KATA_HOST [--tty] NAME SEND EXPECT TIMEOUT"""
import os, pty, re, select, subprocess, sys, time

args = [a for a in sys.argv[1:] if a != "--tty"]
tty = len(args) < len(sys.argv) - 1
kh, name, send, expect, timeout = args[:5]
if tty:
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(kh, [kh, "console", name])
    wfd = rfd = fd
    os.write(wfd, send.encode() + b"\r")
else:
    proc = subprocess.Popen([kh, "console", name], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    wfd, rfd = proc.stdin.fileno(), proc.stdout.fileno()
    os.write(wfd, send.encode() + b"\n")

out = b""
def read_some(until):
    global out
    while time.time() < until:
        r, _, _ = select.select([rfd], [], [], 0.1)
        if r:
            try:
                chunk = os.read(rfd, 4096)
            except OSError:
                return False
            if not chunk:
                return False
            out += chunk
            if re.search(expect.encode(), out):
                return True
    return False

matched = read_some(time.time() + float(timeout))
if tty:
    os.write(wfd, b"\x1d")
    end = time.time() + 15
    status = None
    while time.time() < end and status is None:
        read_some(time.time() + 0.1)
        p, st = os.waitpid(pid, os.WNOHANG)
        if p == pid:
            status = os.waitstatus_to_exitcode(st)
    rc = status if status is not None else -1
    if status is None:
        os.kill(pid, 9)
else:
    try:
        rest, _ = proc.communicate(timeout=15)
        out += rest
        rc = proc.returncode
    except subprocess.TimeoutExpired:
        proc.kill()
        rc = -1
sys.stdout.write(out.decode(errors="replace").replace("\r", ""))
if rc != 0:
    sys.exit(2)
sys.exit(0 if matched else 1)
