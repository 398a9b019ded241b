#!/usr/bin/python3
"""Types into `kata-host console NAME` from a pipe and watches its output: sends SEND (a line),
reads until the regular expression EXPECT matches or TIMEOUT seconds pass, then closes stdin
(kata-host leaves once the guest is quiet) and prints everything the console wrote.
Exit 0 when EXPECT matched, 1 when not, 2 when kata-host itself failed or hung.
Usage: console.py KATA_HOST NAME SEND EXPECT TIMEOUT"""
import os, re, select, subprocess, sys, time

kh, name, send, expect, timeout = sys.argv[1:6]
proc = subprocess.Popen([kh, "console", name], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
proc.stdin.write(send.encode() + b"\n")
proc.stdin.flush()
out = b""
matched = False
end = time.time() + float(timeout)
while time.time() < end and not matched:
    r, _, _ = select.select([proc.stdout], [], [], 0.1)
    if r:
        chunk = os.read(proc.stdout.fileno(), 4096)
        if not chunk:
            break
        out += chunk
        matched = re.search(expect.encode(), out) is not None

try:
    rest, _ = proc.communicate(timeout=15)
    out += rest
except subprocess.TimeoutExpired:
    proc.kill()
    sys.stdout.write(out.decode(errors="replace").replace("\r", ""))
    sys.exit(2)
sys.stdout.write(out.decode(errors="replace").replace("\r", ""))
if proc.returncode != 0:
    sys.exit(2)
sys.exit(0 if matched else 1)
