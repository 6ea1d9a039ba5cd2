"""Server ports (evals/engine/ports.py): every server of a session has its own block, per xdist
slot; a port another process holds is skipped."""

import socket

from evals.engine import ports


def test_servers_of_a_session_never_share_a_block():
    blocks = [ports.block_of("session-a", slot, index) for slot in range(ports.SLOTS) for index in range(ports.SERVERS_PER_SLOT)]
    taken = [p for b in blocks for p in b]
    assert len(taken) == len(set(taken)) and all(ports.FIRST <= p < ports.LAST for p in taken)


def test_a_session_draws_its_base_and_workers_agree_on_it():
    assert ports.session_base("abc") == ports.session_base("abc")
    assert len({ports.session_base(f"session-{i}") for i in range(20)}) > 10  # concurrent sessions spread out


def test_successive_servers_of_a_process_take_successive_blocks():
    first, second = ports.block("s", 1), ports.block("s", 1)
    assert first != second and not set(first) & set(second)


def test_the_api_port_skips_a_held_port_and_vllm_ports_start_halfway():
    block = ports.block_of("held", 3, 5)
    with socket.socket() as held:
        held.bind(("127.0.0.1", block.start))
        api, vllm_port = ports.server_ports(block)
    assert api == block.start + 1 and vllm_port == block.start + ports.BLOCK // 2
