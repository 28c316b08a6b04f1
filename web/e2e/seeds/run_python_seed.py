"""Runs seed 000's Python client (seed000_connect_execution_stream.py) against a server.

Usage: run_python_seed.py <host:port> <job_id> [timeout_seconds]

The fixture is executed as printed, with only "localhost:8000" replaced by <host:port>.
Its last line, asyncio.run(connect_execution_stream("exec-123")), is the seed's example call
for a placeholder id: while the fixture is loaded, asyncio.run is stood in for by a stub that
records that call and discards the coroutine unstarted. Then connect_execution_stream(<job_id>)
runs under asyncio.wait_for. Its print(f"Received: {data}") lines are captured (print is
looked up in the fixture's globals first) and parsed back with ast.literal_eval; once a
"completion" or "error" message has arrived the client is cancelled, since its while-True
loop never ends by itself.

stdout: one JSON line per received message, in order.
stderr: diagnostics. Exit status 0 when a terminal message arrived, 1 otherwise.
"""

import ast
import asyncio
import json
import sys
from pathlib import Path

FIXTURE = Path(__file__).with_name("seed000_connect_execution_stream.py")
SEED_HOST = "localhost:8000"
PREFIX = "Received: "
TERMINAL = ("completion", "error")


def load_fixture(addr, capture_print):
    source = FIXTURE.read_text()
    if source.count(SEED_HOST) != 1:
        raise SystemExit(f"expected {SEED_HOST!r} once in {FIXTURE.name}")
    source = source.replace(SEED_HOST, addr)

    placeholder_calls = []

    def stub_run(coro, *args, **kwargs):
        placeholder_calls.append(getattr(getattr(coro, "cr_code", None), "co_name", repr(coro)))
        coro.close()

    namespace = {"__name__": "seed000_connect_execution_stream", "print": capture_print}
    real_run = asyncio.run
    asyncio.run = stub_run
    try:
        exec(compile(source, str(FIXTURE), "exec"), namespace)
    finally:
        asyncio.run = real_run
    if placeholder_calls != ["connect_execution_stream"]:
        raise SystemExit(f"unexpected module-level calls while loading the fixture: {placeholder_calls}")
    return namespace["connect_execution_stream"]


async def main(addr, job_id, timeout):
    messages = []
    terminal = asyncio.Event()

    def capture_print(*args, **kwargs):
        text = " ".join(str(a) for a in args)
        if not text.startswith(PREFIX):
            print(f"unexpected print from the seed client: {text!r}", file=sys.stderr)
            return
        message = ast.literal_eval(text[len(PREFIX):])
        messages.append(message)
        if isinstance(message, dict) and message.get("type") in TERMINAL:
            terminal.set()

    connect_execution_stream = load_fixture(addr, capture_print)
    stream = asyncio.ensure_future(connect_execution_stream(job_id))
    waiter = asyncio.ensure_future(terminal.wait())
    try:
        await asyncio.wait_for(
            asyncio.wait({stream, waiter}, return_when=asyncio.FIRST_COMPLETED), timeout
        )
    except asyncio.TimeoutError:
        print(f"no terminal message within {timeout} s", file=sys.stderr)
    finally:
        for task in (stream, waiter):
            task.cancel()
        results = await asyncio.gather(stream, waiter, return_exceptions=True)

    stream_result = results[0]
    if not isinstance(stream_result, asyncio.CancelledError):
        # The seed's loop only ends by cancellation; anything else is a failure to report.
        print(f"the seed client ended by itself: {stream_result!r}", file=sys.stderr)

    for message in messages:
        sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()
    return 0 if terminal.is_set() else 1


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        raise SystemExit(__doc__)
    sys.exit(asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3]) if len(sys.argv) == 4 else 20.0)))
