"""Optional dependencies: a missing extra is one sentence that names it."""

import builtins
import sys

import pytest

from greennlp.measure import energy


def test_a_gpu_without_nvidia_ml_py_is_said_with_the_extra_to_install(monkeypatch):
    class Present:
        def __init__(self, *args):
            pass

        def exists(self):
            return True

    monkeypatch.setattr(energy, "Path", Present)  # pretend an NVIDIA driver is there
    monkeypatch.setitem(sys.modules, "pynvml", None)  # and nvidia-ml-py is not installed
    backends, unmeasured = energy.choose_backends()
    assert [b.component for b in backends] == ["cpu", "memory"]  # CPU and memory still measured
    assert "greennlp[gpu]" in unmeasured["gpu"] and "\n" not in unmeasured["gpu"]


def test_hub_datasets_without_the_library_name_the_extra(monkeypatch):
    from greennlp.config import DataConfig
    from greennlp.data.sources import load_raw
    from greennlp.errors import UserError

    real_import = builtins.__import__

    def no_datasets(name, *args, **kwargs):
        if name == "datasets":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_datasets)
    with pytest.raises(UserError, match=r"greennlp\[hf\]"):
        load_raw(DataConfig(source="hf:imdb"))
