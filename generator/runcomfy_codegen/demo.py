"""``make demo``: show the freshly generated package at work (until the client and emulator exist).

Imports ``google/nano-banana-2/edit``, prints its ``Input`` signature, builds a valid input and the JSON
body it would send, and shows the error a wrong value gets, all without any network.
"""

from __future__ import annotations

import inspect
import sys


def main() -> int:
    import runcomfy.models
    from runcomfy import ValidationError
    from runcomfy.models.google.nano_banana_2 import edit

    print(f"runcomfy knows {len(runcomfy.models.MODELS)} models; {edit.MODEL_ID} is {edit.__name__}")
    print("\nedit.Input(*,")
    for name, parameter in list(inspect.signature(edit.Input.__init__).parameters.items())[1:]:
        default = "" if parameter.default is parameter.empty else f" = {parameter.default!r}"
        print(f"    {name}: {parameter.annotation}{default},")
    print(")")
    value = edit.Input(
        prompt="Make it night, neon reflections on wet streets",
        image_urls=["https://playgrounds-storage-public.runcomfy.net/tools/7324/media-files/input-1-1.png"],
        aspect_ratio="16:9",
        num_images=2,
    )
    print(f"\nrequest body: {value.to_dict()}")
    try:
        edit.Input(prompt="x", image_urls=["not a url"], aspect_ratio="16:10", num_images=9)
    except ValidationError as error:
        print(f"\na wrong input fails before any network call:\n{error}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
