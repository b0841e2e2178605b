"""A second, imbalanced classification dataset for the compression targets: the topic of
an English fortune-cookie text (Debian's ``fortunes`` package, fortune-mod's files).

Eight topic files of different sizes (computers, politics, work, science, men-women, law,
food, sports): about 3,900 texts, the largest class about 7x
the smallest. The package is fetched with ``apt-get download`` (a package registry, no
model or dataset hub) and read without installing it; each fortune is one text, its file
is the label. Licence: fortune-mod's BSD licence (``/usr/share/doc/fortunes/copyright``,
which also lists the origins of individual files).

Run: ``python benchmarks/fortune_topics.py OUT.csv``, then e.g.
``greennlp run data.source=OUT.csv models=[minilm] search.enabled=false seeds.count=1
compress.methods=[]`` and ``greennlp compress RUN_ID --plan frontier``.
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import pandas as pd

PACKAGE = "fortunes"
TOPICS = ("computers", "politics", "work", "science", "men-women", "law", "food", "sports")
MEMBER = "./usr/share/games/fortunes/{topic}"


def parse(text: str, max_words: int = 120) -> list[str]:
    """The fortunes of one file (separated by a ``%`` line), whitespace-normalised; very
    long ones (poems, ASCII art) are left out.

    >>> parse("Go west.\\n%\\nA  long\\nday.\\n%\\n")
    ['Go west.', 'A long day.']
    """
    out = []
    for chunk in text.split("\n%\n"):
        words = chunk.replace("\n%", "").split()
        if words and len(words) <= max_words:
            out.append(" ".join(words))
    return out


def read_deb(deb: Path, topics: tuple[str, ...] = TOPICS) -> pd.DataFrame:
    """``text`` and ``label`` of every fortune of ``topics`` in the .deb file."""
    import lzma

    raw = deb.read_bytes()
    if not raw.startswith(b"!<arch>\n"):
        raise ValueError(f"{deb} is not a Debian package")
    pos, data = 8, None
    while pos < len(raw):
        name = raw[pos:pos + 16].decode().strip()
        size = int(raw[pos + 48:pos + 58].decode().strip())
        body = raw[pos + 60:pos + 60 + size]
        if name.startswith("data.tar"):
            data = lzma.decompress(body) if name.endswith(".xz") else body
        pos += 60 + size + (size % 2)
    if data is None:
        raise ValueError(f"{deb} has no data.tar")
    rows = []
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        for topic in topics:
            member = tar.extractfile(MEMBER.format(topic=topic))
            for text in parse(member.read().decode("utf-8", errors="replace")):
                rows.append({"text": text, "label": topic})
    return pd.DataFrame(rows)


def download(folder: Path) -> Path:
    """``apt-get download fortunes`` into ``folder``; the .deb's path."""
    proc = subprocess.run(["apt-get", "download", PACKAGE], cwd=folder, capture_output=True,
                          text=True)
    debs = sorted(folder.glob(f"{PACKAGE}_*.deb"))
    if proc.returncode != 0 or not debs:
        sys.exit(f"apt-get download {PACKAGE} failed: {proc.stderr.strip()[-500:]}")
    return debs[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", help="the CSV to write (text, label)")
    parser.add_argument("--deb", help="an already downloaded fortunes .deb")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        deb = Path(args.deb) if args.deb else download(Path(tmp))
        frame = read_deb(deb)
    frame.to_csv(args.out, index=False)
    counts = frame["label"].value_counts()
    print(f"{len(frame)} texts, {counts.max() / counts.min():.1f}x imbalance: "
          f"{counts.to_dict()}")


if __name__ == "__main__":
    main()
