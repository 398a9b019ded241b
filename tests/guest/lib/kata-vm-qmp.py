#!/usr/bin/python3
"""One QMP command on QEMU's QMP socket (tests/guest/lib/kata-vm.bash).

    kata-vm-qmp.py QMP_SOCKET 'JSON' [TIMEOUT_S]

Reads the greeting, negotiates with qmp_capabilities, sends JSON and prints its reply (the
one line with "return" or "error"; asynchronous events are skipped). Exits 0 on "return",
1 on "error", 2 when QEMU is unreachable or does not answer in time."""
import json, socket, sys, time

path, command = sys.argv[1], sys.argv[2]
timeout = float(sys.argv[3]) if len(sys.argv) > 3 else 30.0
deadline = time.time() + timeout


def fail(msg):
    sys.stderr.write("kata-vm-qmp: %s\n" % msg)
    sys.exit(2)


try:
    json.loads(command)
except ValueError as e:
    fail("not JSON: %s" % e)

s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(max(0.1, deadline - time.time()))
try:
    s.connect(path)
except OSError as e:
    fail("connect %s: %s" % (path, e))
f = s.makefile("rwb")


def reply():
    """The next line that is not an event."""
    while True:
        try:
            line = f.readline()
        except OSError as e:
            fail("no reply: %s" % e)
        if not line:
            fail("QEMU closed the QMP connection")
        msg = json.loads(line)
        if "event" not in msg:
            return line.decode().strip(), msg


greeting = reply()[1]
if "QMP" not in greeting:
    fail("unexpected greeting %r" % greeting)
f.write(b'{"execute":"qmp_capabilities"}\n')
f.flush()
if "return" not in reply()[1]:
    fail("qmp_capabilities refused")
f.write(command.encode() + b"\n")
f.flush()
text, msg = reply()
print(text)
sys.exit(0 if "return" in msg else 1)
