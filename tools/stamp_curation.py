"""Record in a curation file the SHA-256 of the paper file(s) it was written for.

    python tools/stamp_curation.py my/papers/curation/novak2024.yaml my/papers/novak2024.pdf [more files]

A curation file whose `paper_sha256` does not match the paper of the same name is refused at the
next run (a failures.csv row and a line of the run summary), so decisions written for one file
never reach another that happens to share its name. Give every version of the paper the decisions
hold for (e.g. its PDF and its text); the line `paper_sha256: ...` is replaced or added at the top,
and the rest of the file (comments included) is kept as it is.
"""

from __future__ import annotations

import hashlib
import re
import sys
from pathlib import Path

LINE = re.compile(r"^paper_sha256:.*(\n(?:  - .*|- .*)(?=\n|$))*\n?", re.MULTILINE)


def sha256_of(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def stamp(curation: str | Path, papers: list[str | Path]) -> str:
    """The curation file's new text with `paper_sha256` set to the papers' hashes (written in place)."""
    path = Path(curation)
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    hashes = [sha256_of(p) for p in papers]
    line = f"paper_sha256: {hashes[0]}\n" if len(hashes) == 1 else f"paper_sha256: [{', '.join(hashes)}]\n"
    text = LINE.sub("", text)
    lead = re.match(r"(?:#.*\n)*", text).end()  # after the file's opening comment lines
    text = text[:lead] + line + text[lead:]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return text


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    curation, papers = argv[0], argv[1:]
    missing = [p for p in papers if not Path(p).is_file()]
    if missing:
        print(f"not a file: {', '.join(missing)}", file=sys.stderr)
        return 2
    stamp(curation, papers)
    print(f"{curation}: paper_sha256 set for {', '.join(Path(p).name for p in papers)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
