"""``python -m runcomfy.testing [--port 8787] [--token T] [--processing-time S] [--catalog DIR]``: run the
emulator until Ctrl-C."""

from __future__ import annotations

import argparse
import contextlib
import threading

from ._emulator import Emulator


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m runcomfy.testing", description="A local RunComfy Model API.")
    parser.add_argument("--port", type=int, default=8787, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--token", default="test-token", help="the API token clients must send")
    parser.add_argument("--processing-time", type=float, default=0.0, help="seconds each job runs")
    parser.add_argument("--queue-time", type=float, default=0.0, help="seconds each job waits in the queue")
    parser.add_argument("--time-scale", type=float, default=1.0, help="emulator time runs this many times faster")
    parser.add_argument(
        "--catalog", metavar="DIR", help="serve the catalog endpoints from this schemas directory (default: the models)"
    )
    args = parser.parse_args(argv)
    emulator = Emulator(
        port=args.port,
        token=args.token,
        processing_time=args.processing_time,
        queue_time=args.queue_time,
        time_scale=args.time_scale,
        catalog=args.catalog,
    )
    with emulator:
        print(f"RunComfy emulator on {emulator.base_url}  (token: {emulator.token}); Ctrl-C to stop", flush=True)
        print(f"  export RUNCOMFY_API_TOKEN={emulator.token}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
