"""A SQLite file on a network filesystem is refused at start-up, pointing to PostgreSQL;
one that cannot use WAL journaling too."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.app import running_app
from bot.errors import ConfigError, DatabaseUnavailable
from bot.settings import Settings
from bot.storage import filesystems
from bot.storage.db import create_engine
from bot.storage.filesystems import filesystem_of, network_filesystem

MOUNTS = r"""22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
40 27 0:50 / /mnt/shared rw,relatime shared:20 - nfs4 nas:/export rw,vers=4.2
41 40 0:51 / /mnt/shared/local\040disk rw - ext4 /dev/sdb1 rw
42 27 0:52 / /srv/office rw master:7 - cifs //nas/office rw
"""


@pytest.mark.parametrize(
    ("path", "kind", "network"),
    [
        ("/mnt/shared/bot/bot.db", "nfs4", "nfs4"),
        ("/mnt/shared", "nfs4", "nfs4"),
        ("/mnt/shared/local disk/bot.db", "ext4", None),  # a local mount inside the share
        ("/mnt/sharedstuff/bot.db", "ext4", None),  # a longer name is not inside it
        ("/srv/office/bot.db", "cifs", "cifs"),
        ("/home/anna/bot.db", "ext4", None),
    ],
)
def test_the_filesystem_of_a_path_is_that_of_the_closest_mount_above_it(
    path: str, kind: str, network: str | None
) -> None:
    assert filesystem_of(Path(path), MOUNTS) == kind
    assert network_filesystem(Path(path), MOUNTS) == network


def test_this_machines_temporary_folder_is_on_a_local_filesystem(tmp_path: Path) -> None:
    if not filesystems.MOUNTINFO.exists():
        pytest.skip("no /proc/self/mountinfo: the check is Linux-only")
    assert filesystem_of(tmp_path) is not None
    assert network_filesystem(tmp_path) is None


async def test_a_bot_whose_sqlite_file_is_on_nfs_refuses_to_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    share = tmp_path / "share"
    share.mkdir()
    mountinfo = tmp_path / "mountinfo"  # what Linux would say with an NFS share mounted here
    mountinfo.write_text(MOUNTS + f"50 27 0:60 / {share} rw - nfs nas:/bot rw\n")
    monkeypatch.setattr(filesystems, "MOUNTINFO", mountinfo)
    settings = Settings(database_url=f"sqlite+aiosqlite:///{share / 'bot.db'}")

    with pytest.raises(ConfigError) as refused:
        async with running_app(settings):
            pass
    assert "network filesystem (nfs)" in str(refused.value)
    assert "PostgreSQL" in str(refused.value)
    assert not (share / "bot.db").exists()


async def test_a_sqlite_file_that_cannot_use_wal_is_refused(tmp_path: Path) -> None:
    """SQLite keeps the old journal mode, silently, where WAL cannot work: here through
    the dot-file locking that stands in for POSIX locks on filesystems without them."""
    url = f"sqlite+aiosqlite:///file:{tmp_path / 'bot.db'}?vfs=unix-dotfile&uri=true"
    engine = create_engine(url)
    try:
        with pytest.raises(DatabaseUnavailable, match="cannot use WAL journaling"):
            async with engine.connect():
                pass
    finally:
        await engine.dispose()
