/* Conventions shared by the agent and the host tool for the virtio-serial channel, which
 * (unlike vsock) has no connection handshake: the guest drops what the host wrote before the
 * port was opened, so the guest speaks first. After the host reads this line the port is a
 * plain ttRPC byte stream. The agent writes it each time it sees a host (re)connect. */
#pragma once

#define KATA_SERIAL_PORT_NAME "agent.channel.0"
/* Followed by the guest CLOCK_BOOTTIME in nanoseconds and '\n': "KATA-AGENT-READY 123456\n". */
#define KATA_SERIAL_HELLO "KATA-AGENT-READY "
#define KATA_AGENT_VSOCK_PORT 1024
#define KATA_AGENT_DEFAULT_ADDR "vsock://-1:1024"
/* Where the guest image keeps the default container rootfs (busybox). */
#define KATA_GUEST_DEFAULT_ROOTFS "/opt/kata/rootfs"
/* Agent path inside the guest (as Kata's osbuilder installs it). */
#define KATA_GUEST_AGENT_PATH "/usr/bin/kata-agent"
/* The debug console: the vsock port Kata's runtime passes (agent.debug_console_vport=1026, the
 * port `kata-runtime exec` dials), and the virtio-serial port that carries it instead where the
 * VM has no vsock. Raw bytes both ways, no hello line: the shell's prompt comes first. */
#define KATA_DEBUG_CONSOLE_VSOCK_PORT 1026
#define KATA_DEBUG_CONSOLE_PORT_NAME "agent.debug_console.0"
