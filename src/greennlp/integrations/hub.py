"""``greennlp export``: a run's model as a folder ready to publish, and on the Hugging Face
Hub (``--push-to-hub REPO``).

The folder (:func:`greennlp.compress.export.export_model`) gets a model card of its own,
README.md (:mod:`greennlp.report.export_card`): the exported model's scores and cost, its
base model, license and ``co2_eq_emissions``. Publishing is
``huggingface_hub.create_repo`` and ``huggingface_hub.upload_folder`` of that folder;
a dry run lists what would be uploaded and sends nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from greennlp.errors import UserError
from greennlp.record import RunRecord

CARD_NAME = "README.md"
MAX_TEXTS = 1000  # test texts the batch dependence of a quantized model is measured on


@dataclass
class Exported:
    """An export: its folder, the model's name, what batching does to it, and where it
    was (or would be) published."""

    folder: Path
    model: str
    batching: dict[str, Any] | None = None
    files: list[tuple[str, int]] = field(default_factory=list)  # (path, bytes) uploaded
    url: str | None = None


def export(record: RunRecord, name: str | None, fmt: str, out: Path | None = None,
           repo: str | None = None) -> Exported:
    """Export model ``name`` of ``record`` (default: the selected one) as ``fmt``, with its
    card (README.md); ``repo`` is the Hub repository its usage example names."""
    from greennlp.compress.export import (batch_dependence, export_folder, export_model,
                                          pick_model)
    from greennlp.files import write_text
    from greennlp.models import load_model
    from greennlp.report.export_card import export_card

    model = pick_model(record, name)
    target = export_folder(record, model.name, fmt, out)
    made = _to_make(target)
    try:
        folder = export_model(record, model.name, fmt, out)
        batching = (None if fmt == "adapter"  # not a model alone: loaded over its base
                    else batch_dependence(load_model(folder), _test_texts(record)))
        write_text(folder / CARD_NAME, export_card(record, model, fmt, batching, repo))
    except BaseException:  # a full disk, a kill: no half export is left to publish
        _undo(target, made)
        raise
    return Exported(folder, model.name, batching)


def _to_make(folder: Path) -> list[Path] | None:
    """The folders an export to ``folder`` creates (deepest first): ``folder`` and the
    parents that do not exist yet; ``[]`` for an empty folder that exists; None for a
    folder with files in it (the export refuses it, and nothing there is touched)."""
    if folder.is_dir():
        return None if any(folder.iterdir()) else []
    made = [folder]
    for parent in folder.absolute().parents:
        if parent.exists():
            break
        made.append(parent)
    return made


def _undo(folder: Path, made: list[Path] | None) -> None:
    """Leave the disk as it was before a failed export to ``folder``."""
    import shutil

    if made is None:
        return
    if made == [] and folder.is_dir():  # it existed, empty: empty again
        for item in folder.iterdir():
            if item.is_dir() and not item.is_symlink():
                shutil.rmtree(item, ignore_errors=True)
            else:
                item.unlink(missing_ok=True)
        return
    shutil.rmtree(folder, ignore_errors=True)
    for parent in made[1:]:
        try:
            parent.rmdir()  # only when empty: something else may have been put there
        except OSError:
            break


def _test_texts(record: RunRecord) -> list[str]:
    path = Path(record.run_dir) / "data" / "test.parquet"
    if not path.exists():
        return []
    import pandas as pd

    return pd.read_parquet(path, columns=["text"])["text"].astype(str).tolist()[:MAX_TEXTS]


def publish(record: RunRecord, name: str | None, fmt: str, out: Path | None, repo: str | None,
            private: bool = False, dry_run: bool = False) -> list[str]:
    """``greennlp export`` to a folder (and with ``repo`` to the Hub): does it, and returns
    the lines that say what was done."""
    from greennlp.report.views import fmt as number

    if (private or dry_run) and not repo:
        raise UserError("--private and --dry-run go with --push-to-hub REPO; name the Hub "
                        "repository or leave them out.")
    if repo is not None:
        check_repo(repo)  # before any work
    done = export(record, name, fmt, out, repo)
    lines = [f"{fmt} export of {done.model} (with README.md) -> {done.folder}"]
    if done.batching:
        b = done.batching
        lines.append(f"batch 1 against batch {b['batch']}: {b['labels_differ']} of {b['texts']} "
                     f"test labels differ ({'dynamic' if b['dynamic'] else 'static'} activation "
                     f"scales; stated in README.md)")
    if repo is None:
        return lines
    push(done, repo, private, dry_run)
    if not dry_run:
        return lines + [f"uploaded {len(done.files)} files -> {done.url}"]
    return lines + [f"dry run: would upload {len(done.files)} files to "
                    f"{repo}{' (private)' if private else ''}:"] + \
        [f"  {path}  {number(size / 1e6)} MB" for path, size in done.files]


def check_repo(repo: str) -> None:
    """Refuse (one sentence) a ``repo`` that is not a Hub repository id."""
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    try:
        validate_repo_id(repo)
    except HFValidationError:
        raise UserError(f"--push-to-hub {repo!r} is not a Hub repository id; write it as "
                        f"OWNER/NAME (letters, digits, '-', '_' and '.').") from None


def upload_plan(folder: Path) -> list[tuple[str, int]]:
    """Every file of ``folder`` that an upload sends: (path inside the folder, bytes)."""
    folder = Path(folder)
    return sorted((p.relative_to(folder).as_posix(), p.stat().st_size)
                  for p in folder.rglob("*") if p.is_file())


def push(exported: Exported, repo: str, private: bool = False, dry_run: bool = False,
         message: str | None = None) -> Exported:
    """Publish an export to Hub repository ``repo`` (created if missing; ``private``), or
    with ``dry_run`` only list what would be uploaded.

    Raises
    ------
    UserError
        When ``repo`` is not a repository id, or the Hub refuses or cannot be reached.
    """
    import huggingface_hub as hub

    check_repo(repo)
    exported.files = upload_plan(exported.folder)
    if dry_run:
        return exported
    try:
        url = hub.create_repo(repo, private=private, exist_ok=True, repo_type="model")
        hub.upload_folder(repo_id=repo, folder_path=str(exported.folder), repo_type="model",
                          commit_message=message or f"greennlp export of {exported.model}")
    except Exception as exc:  # offline, refused, not logged in: the network library's own
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
        raise UserError(f"Could not upload {exported.folder} to the Hub repository {repo} "
                        f"({first}); log in with `hf auth login` (or set HF_TOKEN), check "
                        f"the network, and run the export again.") from None
    exported.url = str(url)
    return exported
