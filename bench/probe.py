# SPDX-License-Identifier: GPL-3.0-or-later
"""Probe of `make bench`, run inside the lab's VMs (Python 3 standard library only).

  probe.py echo-server --bind ADDRESS --port PORT   TCP echo server (asyncio: no process per connection)
  probe.py rtt --host HOST --port PORT --count N     round trips of one byte over one TCP connection
  probe.py connrate --host HOST --port PORT --seconds S
                                                    new TCP connections per second, each echoing one byte

rtt and connrate print one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import time


async def echo(reader, writer):
    """Send back everything one client sends, until it closes."""
    while True:
        data = await reader.read(65536)
        if not data:
            break
        writer.write(data)
        await writer.drain()
    writer.close()


async def serve(bind, port):
    """Run the echo server forever."""
    server = await asyncio.start_server(echo, bind, port, reuse_address=True, backlog=1024)
    async with server:
        await server.serve_forever()


def exchange_byte(sock):
    """Send one byte and wait for it to come back."""
    sock.sendall(b"x")
    if sock.recv(1) != b"x":
        raise RuntimeError("the echo server closed the connection")


def round_trips(host, port, count):
    """Return statistics, in ms, of COUNT one-byte round trips over one connection."""
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        exchange_byte(sock)
        timings = []
        for _round in range(count):
            start = time.perf_counter()
            exchange_byte(sock)
            timings.append((time.perf_counter() - start) * 1000)
    timings.sort()
    return {"count": count, "median_ms": statistics.median(timings), "min_ms": timings[0],
            "p90_ms": timings[int(len(timings) * 0.9) - 1]}


def connection_rate(host, port, seconds):
    """Return how many connections (connect, echo one byte, close) completed per second."""
    done = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        with socket.create_connection((host, port), timeout=10) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            exchange_byte(sock)
        done += 1
    elapsed = time.perf_counter() - start
    return {"connections": done, "seconds": elapsed, "per_second": done / elapsed}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    server = commands.add_parser("echo-server")
    server.add_argument("--bind", default="127.0.0.1")
    server.add_argument("--port", type=int, required=True)
    rtt = commands.add_parser("rtt")
    rtt.add_argument("--host", required=True)
    rtt.add_argument("--port", type=int, required=True)
    rtt.add_argument("--count", type=int, default=200)
    rate = commands.add_parser("connrate")
    rate.add_argument("--host", required=True)
    rate.add_argument("--port", type=int, required=True)
    rate.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    if args.command == "echo-server":
        asyncio.run(serve(args.bind, args.port))
    elif args.command == "rtt":
        print(json.dumps(round_trips(args.host, args.port, args.count)))
    else:
        print(json.dumps(connection_rate(args.host, args.port, args.seconds)))


if __name__ == "__main__":
    main()
