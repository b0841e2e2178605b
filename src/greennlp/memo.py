"""What was computed once in this process, kept by a digest of its inputs: the caches that
spare repeated work on the same texts (a tokenizer learned again, a split tokenized again,
a deterministic fit made again, a model scoring the same texts again)."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import Any


def texts_digest(texts: Sequence[str]) -> str:
    """A SHA-256 digest of ``texts``, in order (lengths included, so no two lists collide
    by where one text ends and the next begins).

    >>> texts_digest(["a", "bc"]) == texts_digest(["ab", "c"])
    False
    """
    h = hashlib.sha256()
    for text in texts:
        data = str(text).encode()
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()


class Recent:
    """A map that keeps its ``size`` most recently used entries (what was computed once in
    this process, by a digest of its inputs).

    >>> memo = Recent(2)
    >>> [memo.get_or_make(k, lambda: k.upper()) for k in ("a", "b", "a", "c")]
    ['A', 'B', 'A', 'C']
    >>> "b" in memo, "a" in memo
    (False, True)
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, Any] = OrderedDict()

    def __contains__(self, key: Hashable) -> bool:
        return key in self._items

    def get_or_make(self, key: Hashable, make: Callable[[], Any]) -> Any:
        """The entry of ``key``; ``make()`` stores and returns it when there is none."""
        if key not in self._items:
            self._items[key] = make()
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        self._items.move_to_end(key)
        return self._items[key]

    def clear(self) -> None:
        """Forget every entry."""
        self._items.clear()
