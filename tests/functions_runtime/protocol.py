"""The host's protocol messages as Python classes: protocol/*.proto compiled with protoc from
grpcio-tools (its bundled copy, with Google's well-known types), then loaded under the names the
generated code imports each other by."""

from __future__ import annotations

import importlib.util
import sys
from importlib import resources
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

from grpc_tools import protoc

PROTOCOL = Path(__file__).with_name("protocol")
# Loaded in this order: FunctionRpc_pb2 imports NullableTypes_pb2.
SOURCES = ("NullableTypes.proto", "FunctionRpc.proto")


def compile_protocol(out_dir: Path) -> Any:
    """Every message class of the protocol, as the proxy worker hands its `protos` module to
    the runtime: one namespace holding FunctionRpc's and NullableTypes' classes."""
    well_known = resources.files("grpc_tools") / "_proto"
    status = protoc.main(
        ["protoc", f"-I{PROTOCOL}", f"-I{well_known}", f"--python_out={out_dir}", *SOURCES]
    )
    if status != 0:
        raise RuntimeError(f"protoc failed ({status}) on {PROTOCOL}")
    classes: dict[str, Any] = {}
    for source in SOURCES:
        module = _load(out_dir / source.replace(".proto", "_pb2.py"))
        classes.update(
            (name, value) for name, value in vars(module).items() if not name.startswith("_")
        )
    return SimpleNamespace(**classes)


def _load(path: Path) -> ModuleType:
    name = path.stem
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # the next generated module imports it by this name
    spec.loader.exec_module(module)
    return module
