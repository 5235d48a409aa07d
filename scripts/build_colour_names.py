#!/usr/bin/env python3
"""Build mm_robot/resources/colour_names.json from the colour-name tables matplotlib ships.

    python scripts/build_colour_names.py [--out FILE]

The XKCD colour survey's names (public domain, CC0; those that are plain lower-case words) and
the CSS4 names, each with its sRGB hex code. The package reads the JSON, so the nodes need not
import matplotlib to understand a colour word; a test keeps the file equal to this output.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from mm_robot.core.lexicon import COLOUR_NAMES_PATH, colour_names_from_matplotlib  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=COLOUR_NAMES_PATH)
    args = parser.parse_args(argv)
    args.out.write_text(json.dumps(colour_names_from_matplotlib(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
