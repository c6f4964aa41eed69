"""Which filesystem a SQLite file would live on, so that a network one is refused.

SQLite's locking relies on the operating system's file locks, which network
filesystems implement unreliably or not at all, and WAL mode needs memory shared
between the processes of one machine: on NFS or SMB two processes can both believe they
hold the write lock, and the file is corrupted without an error
(https://www.sqlite.org/useovernet.html). The bot refuses such a path at start-up and
points to PostgreSQL, the database for storage that is shared over a network.

Linux tells the filesystem of every mount in ``/proc/self/mountinfo``; elsewhere (macOS,
Windows) nothing is checked.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

MOUNTINFO = Path("/proc/self/mountinfo")

# Filesystem types (as the kernel names them) whose locking SQLite cannot trust.
NETWORK_FILESYSTEMS = frozenset({
    "nfs", "nfs4", "cifs", "smb3", "smbfs", "ncpfs", "afs", "ceph", "glusterfs",
    "fuse.glusterfs", "fuse.sshfs", "lustre", "gpfs",
})  # fmt: skip

_OCTAL = re.compile(r"\\([0-7]{3})")  # mountinfo escapes space, tab, newline, backslash


def filesystem_of(path: Path, mountinfo: str | None = None) -> str | None:
    """The type of the filesystem holding ``path`` (an existing folder or file), from the
    mount with the longest mount point above it; None where that cannot be read."""
    if mountinfo is None:
        try:
            mountinfo = MOUNTINFO.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None
    target = os.path.realpath(path)
    best, found = -1, None
    for line in mountinfo.splitlines():
        fields, _, rest = line.partition(" - ")
        parts, kind = fields.split(), rest.split()
        if len(parts) < 5 or not kind:
            continue
        point = _OCTAL.sub(lambda m: chr(int(m.group(1), 8)), parts[4])
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= best:  # a later mount on the same point hides earlier
            best, found = len(point), kind[0]
    return found


def network_filesystem(path: Path, mountinfo: str | None = None) -> str | None:
    """The network filesystem type ``path`` is on, or None for a local one."""
    kind = filesystem_of(path, mountinfo)
    return kind if kind in NETWORK_FILESYSTEMS else None
