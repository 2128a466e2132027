"""``make demo``: run ``google/nano-banana-2/edit`` end to end against the local emulator.

Starts :class:`runcomfy.testing.Emulator` (a real HTTP server on 127.0.0.1), sends the bundled sample
image as a ``data:`` URI through the generated client, follows the job's progress, and downloads the
output image into ``out/``. Also shows that a wrong input fails before any network call.
"""

from __future__ import annotations

import argparse
import base64
import sys
import time
from pathlib import Path

SAMPLE = Path(__file__).with_name("assets") / "sample.png"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=Path("out"), help="where to write the output image (default: out/)")
    args = parser.parse_args(argv)

    import runcomfy.models
    from runcomfy import ValidationError
    from runcomfy.client import Client, JobStatus
    from runcomfy.models.google.nano_banana_2 import edit
    from runcomfy.testing import Emulator

    print(f"runcomfy knows {len(runcomfy.models.MODELS)} models; {edit.MODEL_ID} is {edit.__name__}")
    try:
        edit.Input(prompt="x", image_urls=["not a url"], aspect_ratio="16:10", num_images=9)
    except ValidationError as error:
        print(f"a wrong input fails before any network call:\n  {error}\n".replace("\n  ", "\n    "))

    image = "data:image/png;base64," + base64.b64encode(SAMPLE.read_bytes()).decode("ascii")
    with Emulator(queue_time=1.0, processing_time=2.0) as emulator:
        print(f"emulator of the RunComfy API listening on {emulator.base_url}")
        started = time.monotonic()

        def progress(update: JobStatus) -> None:
            position = f" (queue position {update.queue_position})" if update.queue_position else ""
            print(f"  {update.elapsed:5.2f}s  {update.status}{position}")

        with Client(token=emulator.token, base_url=emulator.base_url) as client:
            result = edit.run(
                prompt="Make it night: a starry sky, warm light in the windows",
                image_urls=[image],
                aspect_ratio="16:9",
                output_format="png",
                client=client,
                on_update=progress,
            )
            paths = result.save(args.out)
        print(f"job {result.request_id} finished in {time.monotonic() - started:.2f}s")
    for path in paths:
        print(f"wrote {path} ({path.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
