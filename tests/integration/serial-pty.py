#!/usr/bin/python3
"""Host side of the agent's serial channel over a pty (tests/integration/agent-serial.bats).

Starts kata-agent with KATA_AGENT_SERVER_ADDR=serial://<pty slave>, expects the hello line
(KATA-AGENT-READY <ns>) first, then sends a Health.Check ttRPC request and checks the reply,
then hangs up and checks the agent is still alive. Prints TAP."""
import os, pty, select, struct, subprocess, sys, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import tap  # noqa: E402

agent, log = sys.argv[1], sys.argv[2]
master, slave = pty.openpty()
# /dev/pts may be another devpts instance than /dev/ptmx's here: reach the slave through /proc.
path = "/proc/%d/fd/%d" % (os.getpid(), slave)
env = dict(os.environ, KATA_AGENT_SERVER_ADDR="serial://" + path)
proc = subprocess.Popen(["unshare", "-m", "--propagation", "private", agent], env=env,
                        stdout=subprocess.DEVNULL, stderr=open(log, "ab"))

def read_exact(k, timeout=5.0):
    buf = b""
    end = time.time() + timeout
    while len(buf) < k and time.time() < end:
        r, _, _ = select.select([master], [], [], 0.1)
        if r:
            buf += os.read(master, k - len(buf))
    return buf

print("1..4")
line = b""
end = time.time() + 5
while not line.endswith(b"\n") and time.time() < end:
    line += read_exact(1, 0.2)
tap.ok(line.startswith(b"KATA-AGENT-READY ") and line[17:-1].isdigit(), "the agent speaks first: hello line", line)

def frame(stream, svc, method):
    body = b"\x0a" + bytes([len(svc)]) + svc + b"\x12" + bytes([len(method)]) + method
    return struct.pack(">IIBB", len(body), stream, 1, 0) + body

os.write(master, frame(1, b"grpc.Health", b"Check"))
hdr = read_exact(10)
ok = len(hdr) == 10
if ok:
    length, stream, typ, flags = struct.unpack(">IIBB", hdr)
    body = read_exact(length)
    ok = stream == 1 and typ == 2 and body.endswith(b"\x12\x02\x08\x01")
tap.ok(ok, "Health.Check over the serial channel is SERVING", hdr)

os.write(master, frame(3, b"grpc.AgentService", b"SetPolicy"))
hdr = read_exact(10)
ok = len(hdr) == 10
if ok:
    length, stream, typ, flags = struct.unpack(">IIBB", hdr)
    body = read_exact(length)
    ok = stream == 3 and b"SetPolicy" in body
tap.ok(ok, "a second request on the same channel is answered (UNIMPLEMENTED)", hdr)

os.close(master)
os.close(slave)
time.sleep(0.5)
alive = proc.poll() is None
tap.ok(alive, "the agent survives the host hanging up")
proc.terminate()
proc.wait(5)
