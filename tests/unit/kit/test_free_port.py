"""free_port never hands out a port twice in one process: the kernel gives a just-released
port again often (155 repeats in 2,000 plain binds to port 0 here), and two services of one
test stack given the same port meant one could not start and the other answered for it."""

from __future__ import annotations

import socket

from crmkit.embedded import free_port


def test_no_port_is_handed_out_twice() -> None:
    ports = [free_port() for _ in range(2000)]
    assert len(set(ports)) == len(ports)


def test_a_port_handed_out_is_free() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", free_port()))
