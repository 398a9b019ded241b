#!/usr/bin/python3
"""kata-init's side of the init/agent handshake (common/initsync.h), for
tests/integration/agent-init-sync.bats: starts kata-agent with its end of a socket pair,
waits for the ready line, checks that Health is answered while AgentService calls wait, then
closes its end and checks that the waiting call completes. Prints TAP.

usage: init-sync-peer.py AGENT AGENTCTL WORKDIR"""
import os, socket, subprocess, sys, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import tap  # noqa: E402

agent, agentctl, work = sys.argv[1:4]
sock = os.path.join(work, "agent.sock")
log = open(os.path.join(work, "agent.log"), "ab")


def actl(*args):
    return subprocess.Popen([agentctl, "-a", "unix://" + sock, "-T", "20"] + list(args),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


print("1..6")
ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
env = dict(os.environ, KATA_AGENT_SERVER_ADDR="unix://" + sock,
           KATA_INIT_SYNC_FD=str(theirs.fileno()))
proc = subprocess.Popen(["unshare", "-m", "--propagation", "private", agent], env=env,
                        pass_fds=[theirs.fileno()], stdout=subprocess.DEVNULL, stderr=log)
theirs.close()

ours.settimeout(20)
try:
    line = ours.recv(64)
except socket.timeout:
    line = b""
tap.ok(line == b"READY\n", "the agent says READY on its end of the pair", line)
tap.ok(os.path.exists(sock), "it is listening by then")

check = actl("check")
out, _ = check.communicate(timeout=20)
tap.ok(check.returncode == 0 and out.strip() == "SERVING",
    "Health.Check is answered while init is still setting up", out)

held = actl("guest-details")
time.sleep(0.5)
tap.ok(held.poll() is None, "an AgentService call waits for init")

t0 = time.time()
ours.close()
try:
    out, _ = held.communicate(timeout=10)
except subprocess.TimeoutExpired:
    held.kill()
    out, _ = held.communicate()
tap.ok(held.returncode == 0 and "version" in out,
    "init closing its end lets it through (%.0f ms)" % ((time.time() - t0) * 1000), out)

again = actl("guest-details")
out, _ = again.communicate(timeout=20)
tap.ok(again.returncode == 0, "later calls are served directly", out)

proc.terminate()
proc.wait(timeout=20)
