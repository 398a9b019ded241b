#!/usr/bin/python3
"""Plain ttRPC on a unix socket for an agent behind a virtio-serial port (tests/guest/lib/kata-vm.bash).

    kata-vm-relay.py LISTEN_SOCKET CHARDEV_SOCKET

QEMU's chardev socket (server=on) carries the port `agent.channel.0`. The agent greets every
host connect with `KATA-AGENT-READY <ns>\\n` and then speaks ttRPC. For each client accepted on
LISTEN_SOCKET, one at a time: connect to the chardev, drop everything up to and including the
greeting (bytes of an earlier connection the guest had still queued, then the line itself),
then copy bytes both ways until either side closes. Each client therefore gets a fresh
connection as the agent sees it, and clients (agentctl, Go ttrpc) need to know nothing about
the channel. Runs until killed.

The guest learns of a host disconnect from the port's state; a reconnect that follows a close
too closely can land before the agent looked, so it never sees the close, keeps its old
connection and does not greet. The relay therefore stays away for a moment after each close,
and when no greeting comes it closes again, waits longer and retries."""
import os, select, socket, sys, time

GREETING = b"KATA-AGENT-READY "
# Time away from the chardev after a close, so the agent sees the host go; grows per retry.
REST_S = 0.15
GREETING_TIMEOUT_S = 2.0
GREETING_TRIES = 6
listen_path, chardev_path = sys.argv[1], sys.argv[2]


def log(msg):
    sys.stderr.write("kata-vm-relay: %s\n" % msg)
    sys.stderr.flush()


def client_gone(client):
    """True when the client hung up before we read anything from it (we only peek)."""
    r, _, _ = select.select([client], [], [], 0)
    if not r:
        return False
    try:
        return client.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def connect_chardev(client):
    """Connects to QEMU's chardev; QEMU may not have created it yet."""
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(chardev_path)
            return s
        except OSError:
            s.close()
        if client_gone(client):
            return None
        time.sleep(0.05)


class NoGreeting(Exception):
    pass


def await_greeting(guest, client):
    """Reads the guest side up to the end of the greeting line. Returns the bytes after it
    (normally none), or None when either side went away first; NoGreeting after the timeout."""
    buf = b""
    deadline = time.monotonic() + GREETING_TIMEOUT_S
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise NoGreeting()
        r, _, _ = select.select([guest, client], [], [], min(left, 1.0))
        if client in r and client_gone(client):
            return None
        if guest in r:
            data = guest.recv(65536)
            if not data:
                return None
            buf += data
            at = buf.find(GREETING)
            if at >= 0:
                nl = buf.find(b"\n", at)
                if nl >= 0:
                    return buf[nl + 1:]
            elif len(buf) > 4096:
                buf = buf[-64:]


def pump(a, b, pending):
    if pending:
        b.sendall(pending)
    while True:
        r, _, _ = select.select([a, b], [], [])
        for src in r:
            dst = b if src is a else a
            try:
                data = src.recv(65536)
            except OSError:
                data = b""
            if not data:
                return
            try:
                dst.sendall(data)
            except OSError:
                return


def main():
    try:
        os.unlink(listen_path)
    except FileNotFoundError:
        pass
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(listen_path)
    srv.listen(16)
    log("listening on %s for %s" % (listen_path, chardev_path))
    closed_at = 0.0
    while True:
        client, _ = srv.accept()
        for attempt in range(GREETING_TRIES):
            time.sleep(max(0.0, closed_at + REST_S * (attempt + 1) - time.monotonic()))
            guest = connect_chardev(client)
            if guest is None:
                break
            try:
                rest = await_greeting(guest, client)
                if rest is not None:
                    pump(client, guest, rest)
                break
            except NoGreeting:
                log("no greeting after %.1f s (attempt %d): reconnecting" %
                    (GREETING_TIMEOUT_S, attempt + 1))
            finally:
                guest.close()
                closed_at = time.monotonic()
        client.close()


main()
