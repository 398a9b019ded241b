#!/usr/bin/python3
"""Runs COMMAND (an interactive shell in a container: `kata-host run -it -- sh`, `ctr run -t
IMG ID sh`) on a pseudo-terminal of 20x70, asks for `stty size`, resizes the terminal to
40x120 (the kernel sends SIGWINCH to COMMAND), asks again, and prints everything the shell
wrote. Usage: winch.py COMMAND [ARGS...]"""
import fcntl, os, pty, select, struct, sys, termios, time

def set_size(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

pid, master = pty.fork()
if pid == 0:
    set_size(0, 20, 70)
    os.execvp(sys.argv[1], sys.argv[1:])

set_size(master, 20, 70)
out = b""

def read_until(token, timeout):
    global out
    end = time.time() + timeout
    while time.time() < end and token not in out:
        r, _, _ = select.select([master], [], [], 0.1)
        if r:
            try:
                out += os.read(master, 4096)
            except OSError:
                return

read_until(b"# ", 60)
# The runtime applies the initial size right after the start, which the prompt can precede.
time.sleep(0.5)
os.write(master, b"stty size; echo mark-one\n")
read_until(b"mark-one\r\n", 30)
set_size(master, 40, 120)
time.sleep(1.0)
os.write(master, b"stty size; echo mark-two\n")
read_until(b"mark-two\r\n", 30)
os.write(master, b"exit 0\n")
read_until(b"never", 5)
sys.stdout.write(out.decode(errors="replace").replace("\r", ""))
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
