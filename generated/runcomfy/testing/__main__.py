"""``python -m runcomfy.testing`` (also ``runcomfy emulator``) ``[--port 8787] [--token T] [--workers N]
[--processing-time S] [--catalog DIR] [--remote-inputs fetch|stand-in|fail]``: run the emulator until Ctrl-C.

It prints the environment both this project's client and RunComfy's own CLI need to use it. Without
Pillow, or with the port taken, it says so in one line and exits with 2.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import threading

from ._emulator import REMOTE_INPUTS, Emulator

EXIT_USAGE = 2


def main(argv: list[str] | None = None) -> int:
    """Run the emulator until Ctrl-C; returns the exit code (0, or 2 when it cannot start)."""
    parser = argparse.ArgumentParser(prog="runcomfy emulator", description="A local RunComfy Model API.")
    parser.add_argument("--port", type=int, default=8787, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--token", default="test-token", help="the API token clients must send")
    parser.add_argument("--processing-time", type=float, default=0.0, help="seconds each job runs")
    parser.add_argument("--queue-time", type=float, default=0.0, help="seconds each job waits in the queue")
    parser.add_argument("--workers", type=int, default=None, help="jobs running at once (default: any number)")
    parser.add_argument("--time-scale", type=float, default=1.0, help="emulator time runs this many times faster")
    parser.add_argument(
        "--catalog", metavar="DIR", help="serve the catalog endpoints from this schemas directory (default: the models)"
    )
    parser.add_argument(
        "--remote-inputs",
        choices=REMOTE_INPUTS,
        default="fetch",
        help="input URLs on other hosts than 127.0.0.1: fetch them (default), use a stand-in, or fail the job",
    )
    args = parser.parse_args(argv)
    try:
        emulator = Emulator(
            port=args.port,
            token=args.token,
            processing_time=args.processing_time,
            queue_time=args.queue_time,
            workers=args.workers,
            time_scale=args.time_scale,
            catalog=args.catalog,
            remote_inputs=args.remote_inputs,
        ).start()
    except (ImportError, ValueError) as exc:  # Pillow missing (the message names the pip line), a bad option
        return _refuse(str(exc))
    except OSError as exc:
        reason = exc.strerror or exc
        return _refuse(f"cannot listen on 127.0.0.1:{args.port}: {reason} (try --port 0 for any free port)")
    try:
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how it stops, even while it announces itself
            _announce(emulator)
            threading.Event().wait()
    finally:
        emulator.stop()
    return 0


def _announce(emulator: Emulator) -> None:
    base, token = emulator.base_url, emulator.token
    lines = [
        f"RunComfy emulator on {base} (token: {token}); Ctrl-C to stop",
        f"  this package (runcomfy):  export RUNCOMFY_BASE_URL={base} RUNCOMFY_API_TOKEN={token}",
        f"  RunComfy's own CLI:       export RUNCOMFY_MODEL_API_BASE={base}/v1 RUNCOMFY_TOKEN={token}",
    ]
    print("\n".join(lines), flush=True)


def _refuse(message: str) -> int:
    print(f"runcomfy emulator: {message}", file=sys.stderr)
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
