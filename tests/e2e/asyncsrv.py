#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
# A Python asyncio server on a unix socket (daemons.t): each line "incr" answers the next
# value of a counter kept in the process, so a restored server shows it kept its state.
# asyncio waits in epoll, wakes itself through a socketpair, and has a call_later timer.
import asyncio
import signal
import sys

count = 0
ticks = 0


async def serve(reader, writer):
    global count
    while True:
        line = await reader.readline()
        if not line:
            break
        if line.strip() == b"incr":
            count += 1
            writer.write(b"%d %d\n" % (count, ticks))
            await writer.drain()
    writer.close()


def tick(loop):
    global ticks
    ticks += 1
    loop.call_later(0.05, tick, loop)


async def main(path):
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    loop.add_signal_handler(signal.SIGTERM, stop.set_result, None)
    tick(loop)
    server = await asyncio.start_unix_server(serve, path=path)
    async with server:
        await stop


asyncio.run(main(sys.argv[1]))
