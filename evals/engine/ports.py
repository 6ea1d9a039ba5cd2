"""Ports for the servers of one pytest session, so that servers starting together never
pick the same one.

Each server gets its own block of ports: its API port is the first free one at the block's
start, and vLLM's internal ports (VLLM_PORT, which vLLM counts up from) start halfway
through it. Picking a free port by binding and releasing it, as vLLM does when VLLM_PORT is
unset, lets two servers starting at once take the same port (vLLM issues report it for
TP=2 servers started together). Blocks are laid out per xdist slot, then per server of
that slot, from a base drawn per session: concurrent sessions on one machine (the suite's
own tests run several) land on different blocks too."""

from __future__ import annotations

import hashlib
import itertools
import socket
import threading

FIRST, LAST = 10000, 32000  # below Linux's ephemeral ports (32768-60999), which outgoing connections take
BLOCK = 40  # ports per server: the API port and its spares, then vLLM's internal ones
SERVERS_PER_SLOT = 8
SLOTS = 16
_SPAN = BLOCK * SERVERS_PER_SLOT * SLOTS

_lock = threading.Lock()
_taken = itertools.count()


def session_base(session: str) -> int:
    """Where a session's blocks start: a stable draw from its id (xdist workers share it)."""
    return FIRST + int(hashlib.sha256(session.encode()).hexdigest()[:8], 16) % (LAST - FIRST - _SPAN)


def block_of(session: str, slot: int, index: int) -> range:
    """The block of a session's `index`-th server on an xdist slot."""
    start = session_base(session) + (slot % SLOTS * SERVERS_PER_SLOT + index % SERVERS_PER_SLOT) * BLOCK
    return range(start, start + BLOCK)


def block(session: str, slot: int | None) -> range:
    """The next unused block of this process's servers (slot None: no xdist, slot 0's)."""
    with _lock:
        index = next(_taken)
    return block_of(session, slot or 0, index)


def server_ports(ports: range) -> tuple[int, int]:
    """(API port, VLLM_PORT) of a block: the first port of its first half that binds, and
    the start of its second half."""
    half = ports.start + len(ports) // 2
    for port in range(ports.start, half):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port, half
    raise OSError(f"no free port in {ports.start}-{half - 1}")
