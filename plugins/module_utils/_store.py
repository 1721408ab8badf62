# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module_util is internal to dockyard.machine; its API may change without notice.
"""The docker-machine store on disk, compatible both ways with the original tool.

Layout (docker-machine reference section 1): ``<root>/certs/{ca,ca-key,cert,key}.pem`` and
``<root>/machines/<name>/config.json`` (ConfigVersion 3, 4-space indent, 0600, folders 0700).
What docker-machine cannot hold lives in a sidecar file next to ``config.json``; the original
ignores it and nothing here requires it to exist.

Paths inside ``config.json`` stay absolute (the original needs them).  A recorded path under
another store folder (the one the record was written in) is healed in memory to the same file
under the store's current location and written back healed on the next save: a store copied to
another computer, or next to the original with ``cp -a``, just works and uses its own files.
"""

from __future__ import annotations

import contextlib
import copy
import errno
import fcntl
import json
import os
import re
import stat
import time
import typing as t
from dataclasses import dataclass, field

from ansible_collections.dockyard.machine.plugins.module_utils._errors import (
    InvalidNameError,
    MachineNotFoundError,
    StoreError,
)
from ansible_collections.dockyard.machine.plugins.module_utils._sidecar import SidecarKey

__all__ = [
    "AUTH_PATH_KEYS",
    "CONFIG_VERSION",
    "DRIVER_PATH_KEYS",
    "DEFAULT_INSTALL_URL",
    "DEFAULT_STORE_PATH",
    "STORE_PATH_ENV",
    "HOST_KEY_PATTERN",
    "SIDECAR_KEYS",
    "SIDECAR_NAME",
    "SECRET_DRIVER_KEYS",
    "secret_keys",
    "MachineRecord",
    "MachineStore",
    "atomic_write",
    "make_dirs",
    "sweep_temp_files",
    "dumps_config",
    "file_lock",
    "natural_key",
    "new_config",
    "read_bounded",
    "resolve_folder",
    "resolve_store_path",
    "validate_name",
]

CONFIG_VERSION = 3
DEFAULT_STORE_PATH = "~/.docker/machine"
STORE_PATH_ENV = "MACHINE_STORAGE_PATH"
CONFIG_NAME = "config.json"
BACKUP_NAME = "config.json.bak"
SIDECAR_NAME = "dockyard-machine.json"
SIDECAR_SCHEMA = 1
# A pinned host key as our own code writes it ("type base64"): one line, nothing ssh could read as an option.
HOST_KEY_PATTERN = re.compile(r"[a-z0-9][a-z0-9@.\-]{0,63} [A-Za-z0-9+/]{16,16384}={0,3}")
# The facts the sidecar holds for every machine (a driver declares its own: Driver.sidecar_keys); SchemaVersion is the store's.
SIDECAR_KEYS = (
    SidecarKey("Status", str, "a short line of text"),
    SidecarKey("LastError", {"Step": str, "Message": str}, "a step and a message"),
    SidecarKey("Engine", {"Install": bool, "Source": str, "Version": str}, "an engine install setting"),
    SidecarKey("HostKeys", [HOST_KEY_PATTERN], "one 'type base64' key"),
    # Settings the task gave that reach ssh: ssh_config becomes ``ssh -F`` (its ProxyCommand runs here).
    SidecarKey("ProxyJump", str, "a jump host", portable=False),
    SidecarKey("SSHConfig", str, "a path", portable=False),
)
LOCK_DIR = ".locks"
DIR_MODE = 0o700
FILE_MODE = 0o600

# docker-machine's own rule (libmachine/host/host.go); fullmatch, so a trailing newline is refused too.
NAME_PATTERN = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9\-.]*")
NAME_RULE = "Allowed hostname chars are: 0-9a-zA-Z . - (and the first one must be a letter or a digit)"
# File systems cap a file name at 255 bytes, and the longest name we derive from a machine name is
# its lock file, "machine-<name>.lock" (13 more); 200 leaves room and is far above any hostname.
MAX_NAME_LENGTH = 200

# Cloud credentials the original saved in plain text.  We never write them and never show them.
# The drivers' own field names (amazonec2, digitalocean, azure, exoscale, openstack/rackspace,
# softlayer, vmwarevsphere, vmwarevcloudair), and a rule for any other driver's: a field whose name
# says secret, token, password or API/access key.
SECRET_DRIVER_KEYS = (
    "AccessKey", "SecretKey", "SessionToken", "AccessToken", "ClientSecret", "APIKey", "APISecretKey", "ApiKey",
    "Password", "ApplicationCredentialSecret",
)
SECRET_KEY_PATTERN = re.compile(r"secret|token|passw(or)?d|api_?key|access_?key", re.IGNORECASE)
REDACTED = "********"

# Every absolute path a v3 record holds that points into the store (reference section 1.5).
# SSHKey (generic) and SSHPrivateKeyPath (amazonec2) point at the user's own key outside the store.
DRIVER_PATH_KEYS = ("StorePath", "SSHKeyPath")
AUTH_PATH_KEYS = (
    "CertDir",
    "CaCertPath",
    "CaPrivateKeyPath",
    "ServerCertPath",
    "ServerKeyPath",
    "ClientKeyPath",
    "ClientCertPath",
    "StorePath",
)


def resolve_folder(option: str | None, env_name: str, default: str, environ: t.Mapping[str, str] | None = None) -> str:
    """The option's folder, else the environment variable's, else ``default``; ``~`` expanded, absolute."""
    env = os.environ if environ is None else environ
    chosen = option or env.get(env_name) or default
    return os.path.abspath(os.path.expanduser(chosen))


def resolve_store_path(option: str | None = None, environ: t.Mapping[str, str] | None = None) -> str:
    """Option ``store_path``, else ``$MACHINE_STORAGE_PATH``, else ``~/.docker/machine``; absolute."""
    return resolve_folder(option, STORE_PATH_ENV, DEFAULT_STORE_PATH, environ)


def validate_name(name: t.Any) -> str:
    """Return ``name`` if docker-machine would accept it, else raise before any file is touched."""
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise InvalidNameError(
            "Invalid machine name %r: %s. Set option 'name' to a valid name." % (name, NAME_RULE),
            option="name",
        )
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidNameError(
            "Invalid machine name %r...: it has %d characters, at most %d are allowed. Set option 'name' to a shorter name."
            % (name[:20], len(name), MAX_NAME_LENGTH),
            option="name",
        )
    return name


def secret_keys(section: t.Mapping[str, t.Any]) -> list[str]:
    """The keys of a record's Driver section that hold credentials (string values only: never a flag or a number)."""
    return [key for key, value in section.items() if isinstance(value, str) and (key in SECRET_DRIVER_KEYS or SECRET_KEY_PATTERN.search(key))]


def _without_secrets(raw: bytes) -> bytes:
    doc = json.loads(raw.decode("utf-8"))
    driver = doc.get("Driver") if isinstance(doc, dict) else None
    if isinstance(driver, dict):
        for key in secret_keys(driver):
            driver[key] = ""
    return dumps_config(doc)


def natural_key(name: str) -> list[t.Any]:
    """Sort key that orders ``m2`` before ``m10``, case-insensitively, as ``docker-machine ls`` does."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name.lower())]


def dumps_config(doc: t.Mapping[str, t.Any]) -> bytes:
    """Serialise like Go's ``json.MarshalIndent(v, "", "    ")``: 4 spaces, HTML-escaped, no final newline."""
    text = json.dumps(doc, indent=4, ensure_ascii=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return text.encode("utf-8")


def make_dirs(path: str, mode: int = DIR_MODE) -> None:
    """Create ``path`` and each missing parent with ``mode`` (0700), whatever the umask; existing folders are left as they are.

    The one place the collection makes folders: ``os.makedirs`` gives the parents it creates 0777 minus the umask
    (0777 under umask 000), and only the last folder the mode it is asked for.
    """
    missing = []
    while path and not os.path.isdir(path):
        missing.append(path)
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    for folder in reversed(missing):
        try:
            os.mkdir(folder, mode)
        except FileExistsError:
            if not os.path.isdir(folder):
                raise
            continue  # another process made it (and sets its mode)
        os.chmod(folder, mode)  # mkdir's mode is masked by the umask


# The original's --engine-install-url default: the install script it runs when the engine is missing.
DEFAULT_INSTALL_URL = "https://get.docker.com"

# Every file of a store (record, sidecar, certificate, key) is a few KiB; more is not a store file.
MAX_FILE_BYTES = 1 << 20


def read_bounded(path: str, limit: int = MAX_FILE_BYTES) -> bytes:
    """A store file's bytes, read without blocking and without reading more than ``limit``.

    A store may be shared or copied from elsewhere: a FIFO or device in place of ``config.json``
    would hang a plain ``read()``, and a huge file would be read whole. Both are refused with a
    StoreError naming the file; a missing file raises FileNotFoundError as ``open`` does.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise StoreError("%s is not a regular file; a store file must be one. Replace it, or remove the machine." % path, path=path)
        if info.st_size > limit:
            raise StoreError("%s is larger than %d bytes, which no store file is; refused." % (path, limit), path=path)
        chunks = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, limit + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise StoreError("%s is larger than %d bytes, which no store file is; refused." % (path, limit), path=path)
        return b"".join(chunks)
    finally:
        os.close(fd)


# Temporary files of atomic writes: ``.dockyard-tmp.<file name>.<random>`` next to the file, locked (flock) by their writer
# until renamed into place. One left by a killed writer is unlocked, and the next write in that folder removes it.
TEMP_PREFIX = ".dockyard-tmp."
TEMP_NAME_ROOM = 100  # of the target's name in the temporary file's name: a file system allows 255 bytes in all
# What tempfile.mkstemp(prefix=".<file name>.", suffix=".tmp") made for earlier versions' atomic writes.
LEGACY_TEMP_PATTERN = re.compile(r"\.(.+)\.[a-z0-9_]{8}\.tmp")
LEGACY_TEMP_AGE = 3600.0
_UNSUPPORTED_LOCK_ERRORS = (errno.ENOLCK, errno.EOPNOTSUPP, errno.EINVAL)


def _same_file(path: str, info: os.stat_result) -> bool:
    """True when ``path`` still names the file ``info`` describes (and not another one, or none)."""
    try:
        current = os.lstat(path)
    except OSError:
        return False
    return (current.st_dev, current.st_ino) == (info.st_dev, info.st_ino)


def sweep_temp_files(directory: str) -> list[str]:
    """Remove the temporary files that killed writers left in ``directory``; returns their paths.

    Only files of ours: named with TEMP_PREFIX, regular, owned by this user, and not locked by a writer (a writer holds
    its lock from before it writes until after the rename; a killed one holds none). Earlier versions named theirs
    ``.<file name>.<8 characters>.tmp`` and locked nothing: such a file is removed when the file it was for is in the
    folder and it is older than LEGACY_TEMP_AGE (no write takes that long). Anything else is left alone.
    """
    try:
        entries = os.listdir(directory)
    except OSError:
        return []
    removed = []
    for name in entries:
        legacy = LEGACY_TEMP_PATTERN.fullmatch(name)
        if not name.startswith(TEMP_PREFIX) and not (legacy and legacy.group(1) in entries):
            continue
        path = os.path.join(directory, name)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            continue
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid():
                continue
            if not name.startswith(TEMP_PREFIX) and time.time() - info.st_mtime < LEGACY_TEMP_AGE:
                continue
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # OSError: its writer is at work (or no locks here)
            if _same_file(path, info):
                os.unlink(path)
                removed.append(path)
        except OSError:
            continue
        finally:
            os.close(fd)  # releases the lock
    return removed


def _locked_temp_file(directory: str, name: str) -> tuple[int, str]:
    """A new temporary file for ``name`` in ``directory``, open and locked against sweep_temp_files."""
    import tempfile  # here, not with the module: commands that only read records start without it

    for _attempt in range(10):
        fd, tmp = tempfile.mkstemp(prefix="%s%s." % (TEMP_PREFIX, name[:TEMP_NAME_ROOM]), dir=directory)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in _UNSUPPORTED_LOCK_ERRORS:
                return fd, tmp  # no locks on this file system: no sweep can take it either
            os.close(fd)  # a sweep holds it and removes it
            continue
        if _same_file(tmp, os.fstat(fd)):
            return fd, tmp
        os.close(fd)  # a sweep removed it between its creation and our lock
    raise OSError(errno.EAGAIN, "Cannot create a temporary file next to %s" % os.path.join(directory, name))


def atomic_write(path: str, data: bytes, mode: int = FILE_MODE) -> bool:
    """Write ``data`` to ``path`` through a temp file and ``os.replace``; never a moment without the file.

    Returns False (and writes nothing) when the file already holds exactly ``data`` with ``mode``. Temporary files that
    killed writers left in the folder are removed first (sweep_temp_files).
    """
    try:
        if read_bounded(path, max(len(data), 1)) == data and (os.stat(path).st_mode & 0o777) == mode:
            return False
    except (OSError, StoreError):
        pass  # missing, or not a file we would have written: replaced below
    directory = os.path.dirname(path)
    make_dirs(directory)
    sweep_temp_files(directory)
    fd, tmp = _locked_temp_file(directory, os.path.basename(path))
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
        os.fchmod(fd, mode)
        os.replace(tmp, path)  # still locked: no sweep takes the file before it has its name
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    finally:
        os.close(fd)
    return True


@contextlib.contextmanager
def file_lock(path: str, timeout: float = 120.0) -> t.Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created 0600) across processes; bounded wait."""
    make_dirs(os.path.dirname(path))
    fd = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() >= deadline:
                    raise StoreError(
                        "Timed out after %.0f s waiting for the store lock %s; another process holds it." % (timeout, path),
                        path=path,
                    ) from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


# --- Migrations: plain functions, one step each (libmachine/host/migrate.go) -------------------------


def _migrate_0_to_1(doc: dict[str, t.Any]) -> dict[str, t.Any]:
    """v0 kept the auth paths and swarm flags at the top level; v1 moved them into HostOptions."""
    host_options = doc.get("HostOptions") or {}
    host_options.setdefault("Driver", "")
    host_options.setdefault("Memory", 0)
    host_options.setdefault("Disk", 0)
    host_options.setdefault("EngineOptions", {"InstallURL": DEFAULT_INSTALL_URL})
    host_options.setdefault(
        "SwarmOptions",
        {
            "Address": "",
            "Discovery": doc.get("SwarmDiscovery", ""),
            "Host": doc.get("SwarmHost", ""),
            "Master": bool(doc.get("SwarmMaster", False)),
        },
    )
    host_options.setdefault(
        "AuthOptions",
        {
            "StorePath": doc.get("StorePath", ""),
            "CaCertPath": doc.get("CaCertPath", ""),
            "CaCertRemotePath": "",
            "ServerCertPath": doc.get("ServerCertPath", ""),
            "ServerKeyPath": doc.get("ServerKeyPath", ""),
            "ClientKeyPath": doc.get("ClientKeyPath", ""),
            "ServerCertRemotePath": "",
            "ServerKeyRemotePath": "",
            "PrivateKeyPath": doc.get("PrivateKeyPath", ""),
            "ClientCertPath": doc.get("ClientCertPath", ""),
        },
    )
    out = {
        "ConfigVersion": 1,
        "Driver": doc.get("Driver") or {},
        "DriverName": doc.get("DriverName", ""),
        "HostOptions": host_options,
        "StorePath": doc.get("StorePath", ""),
        "Name": doc.get("Name", ""),
    }
    return out


def _migrate_1_to_2(doc: dict[str, t.Any]) -> dict[str, t.Any]:
    """v2 renamed AuthOptions.PrivateKeyPath to CaPrivateKeyPath and added CertDir."""
    host_options = doc.get("HostOptions") or {}
    auth = host_options.get("AuthOptions") or {}
    machine_dir = doc.get("StorePath") or auth.get("StorePath", "")
    root = os.path.dirname(os.path.dirname(machine_dir)) if machine_dir else ""
    host_options["AuthOptions"] = {
        "CertDir": os.path.join(root, "certs") if root else "",
        "CaCertPath": auth.get("CaCertPath", ""),
        "CaPrivateKeyPath": auth.get("CaPrivateKeyPath", auth.get("PrivateKeyPath", "")),
        "CaCertRemotePath": auth.get("CaCertRemotePath", ""),
        "ServerCertPath": auth.get("ServerCertPath", ""),
        "ServerKeyPath": auth.get("ServerKeyPath", ""),
        "ClientKeyPath": auth.get("ClientKeyPath", ""),
        "ServerCertRemotePath": auth.get("ServerCertRemotePath", ""),
        "ServerKeyRemotePath": auth.get("ServerKeyRemotePath", ""),
        "ClientCertPath": auth.get("ClientCertPath", ""),
        "ServerCertSANs": auth.get("ServerCertSANs", []),
        # The original put the store root here (its #4547); the machine folder is what it meant.
        "StorePath": machine_dir,
    }
    return {
        "ConfigVersion": 2,
        "Driver": doc.get("Driver") or {},
        "DriverName": doc.get("DriverName", ""),
        "HostOptions": host_options,
        "Name": doc.get("Name", ""),
    }


def _migrate_2_to_3(doc: dict[str, t.Any]) -> dict[str, t.Any]:
    """v3 added Driver.StorePath: the store root, two folders above the machine folder."""
    auth = (doc.get("HostOptions") or {}).get("AuthOptions") or {}
    driver = doc.get("Driver") or {}
    if not driver.get("StorePath") and auth.get("StorePath"):
        driver["StorePath"] = os.path.dirname(os.path.dirname(auth["StorePath"]))
    doc["Driver"] = driver
    doc["ConfigVersion"] = 3
    return doc


_MIGRATIONS: dict[int, t.Callable[[dict[str, t.Any]], dict[str, t.Any]]] = {
    0: _migrate_0_to_1,
    1: _migrate_1_to_2,
    2: _migrate_2_to_3,
}


def migrate(doc: dict[str, t.Any]) -> tuple[dict[str, t.Any], int | None]:
    """Bring a record to ConfigVersion 3; returns the record and the version it came from (None if v3)."""
    version = doc.get("ConfigVersion", 0)
    if not isinstance(version, int) or version < 0:
        raise StoreError("ConfigVersion %r is not a version docker-machine ever wrote." % (version,))
    if version > CONFIG_VERSION:
        raise StoreError("config version is from the future -- this store was written by a newer tool than dockyard.machine understands")
    if version == CONFIG_VERSION:
        return doc, None
    migrated = copy.deepcopy(doc)
    for step in range(version, CONFIG_VERSION):
        migrated = _MIGRATIONS[step](migrated)
    return migrated, version


# --- New records: exactly what the original writes (reference section 1.3) -------------------------------


def engine_options_document(
    *,
    arbitrary_flags: t.Sequence[str] = (),
    env: t.Sequence[str] = (),
    insecure_registries: t.Sequence[str] = (),
    labels: t.Sequence[str] = (),
    storage_driver: str = "",
    registry_mirrors: t.Sequence[str] = (),
    install_url: str = DEFAULT_INSTALL_URL,
) -> dict[str, t.Any]:
    return {
        "ArbitraryFlags": list(arbitrary_flags),
        "Dns": None,
        "GraphDir": "",
        "Env": list(env),
        "Ipv6": False,
        "InsecureRegistry": list(insecure_registries),
        "Labels": list(labels),
        "LogLevel": "",
        "StorageDriver": storage_driver,
        "SelinuxEnabled": False,
        "TlsVerify": True,
        "RegistryMirror": list(registry_mirrors),
        "InstallURL": install_url,
    }


def swarm_options_document() -> dict[str, t.Any]:
    """Legacy standalone Swarm, always off; the keys stay because the original reads them."""
    return {
        "IsSwarm": False,
        "Address": "",
        "Discovery": "",
        "Agent": False,
        "Master": False,
        "Host": "tcp://0.0.0.0:3376",
        "Image": "swarm:latest",
        "Strategy": "spread",
        "Heartbeat": 0,
        "Overcommit": 0,
        "ArbitraryFlags": [],
        "ArbitraryJoinFlags": [],
        "Env": None,
        "IsExperimental": False,
    }


def auth_options_document(root: str, name: str, server_cert_sans: t.Sequence[str] = ()) -> dict[str, t.Any]:
    certs = os.path.join(root, "certs")
    machine_dir = os.path.join(root, "machines", name)
    return {
        "CertDir": certs,
        "CaCertPath": os.path.join(certs, "ca.pem"),
        "CaPrivateKeyPath": os.path.join(certs, "ca-key.pem"),
        "CaCertRemotePath": "",
        "ServerCertPath": os.path.join(machine_dir, "server.pem"),
        "ServerKeyPath": os.path.join(machine_dir, "server-key.pem"),
        "ClientKeyPath": os.path.join(certs, "key.pem"),
        "ServerCertRemotePath": "",
        "ServerKeyRemotePath": "",
        "ClientCertPath": os.path.join(certs, "cert.pem"),
        "ServerCertSANs": list(server_cert_sans),
        "StorePath": machine_dir,
    }


def new_config(
    name: str,
    root: str,
    driver_name: str,
    driver: t.Mapping[str, t.Any],
    *,
    engine_options: t.Mapping[str, t.Any] | None = None,
    server_cert_sans: t.Sequence[str] = (),
) -> dict[str, t.Any]:
    """A ConfigVersion 3 document with the original's keys in the original's order.

    ``driver`` is the driver section, already in its driver's field order (drivers build it).
    """
    validate_name(name)
    return {
        "ConfigVersion": CONFIG_VERSION,
        "Driver": dict(driver),
        "DriverName": driver_name,
        "HostOptions": {
            "Driver": "",
            "Memory": 0,
            "Disk": 0,
            "EngineOptions": dict(engine_options) if engine_options is not None else engine_options_document(),
            "SwarmOptions": swarm_options_document(),
            "AuthOptions": auth_options_document(root, name, server_cert_sans),
        },
        "Name": name,
    }


# --- Records ------------------------------------------------------------------------------------------


@dataclass
class MachineRecord:
    """One machine: its ``config.json`` document (healed, migrated) and its sidecar facts."""

    name: str
    config: dict[str, t.Any]
    sidecar: dict[str, t.Any] = field(default_factory=dict)
    healed: tuple[str, ...] = ()
    migrated_from: int | None = None

    @property
    def driver_name(self) -> str:
        return str(self.config.get("DriverName") or "")

    @property
    def driver(self) -> dict[str, t.Any]:
        return self.config.setdefault("Driver", {})

    @property
    def host_options(self) -> dict[str, t.Any]:
        return self.config.setdefault("HostOptions", {})

    @property
    def auth_options(self) -> dict[str, t.Any]:
        return self.host_options.setdefault("AuthOptions", {})

    @property
    def engine_options(self) -> dict[str, t.Any]:
        return self.host_options.setdefault("EngineOptions", {})

    @property
    def ip_address(self) -> str:
        return str(self.driver.get("IPAddress") or "")

    @property
    def ssh_user(self) -> str:
        return str(self.driver.get("SSHUser") or "root")

    @property
    def ssh_port(self) -> int:
        return int(self.driver.get("SSHPort") or 22)

    @property
    def ssh_key_path(self) -> str:
        return str(self.driver.get("SSHKeyPath") or "")

    @property
    def needs_write(self) -> bool:
        """True when the file on disk differs from what we would write (healed paths, migration, secrets)."""
        return bool(self.healed) or self.migrated_from is not None or any(self.driver.get(k) for k in secret_keys(self.driver))

    def document(self) -> dict[str, t.Any]:
        """The ``config.json`` we write: never with cloud credentials."""
        doc = copy.deepcopy(self.config)
        doc["Name"] = self.name
        driver = doc.get("Driver", {})
        for key in secret_keys(driver):
            driver[key] = ""
        return doc

    def redacted(self) -> dict[str, t.Any]:
        """The record as ``inspect`` shows it, with every secret value replaced."""
        doc = copy.deepcopy(self.config)
        doc["Name"] = self.name
        driver = doc.get("Driver", {})
        for key in secret_keys(driver):
            if driver[key]:
                driver[key] = REDACTED
        return doc


class MachineStore:
    """A docker-machine store folder.  Only ``_machine`` (the orchestrator) calls the writing methods."""

    def __init__(self, root: str) -> None:
        self.root = os.path.abspath(os.path.expanduser(root))

    # -- places --
    @property
    def certs_dir(self) -> str:
        return os.path.join(self.root, "certs")

    @property
    def machines_dir(self) -> str:
        return os.path.join(self.root, "machines")

    def machine_dir(self, name: str) -> str:
        return os.path.join(self.machines_dir, validate_name(name))

    def config_path(self, name: str) -> str:
        return os.path.join(self.machine_dir(name), CONFIG_NAME)

    def sidecar_path(self, name: str) -> str:
        return os.path.join(self.machine_dir(name), SIDECAR_NAME)

    def cert_path(self, filename: str) -> str:
        return os.path.join(self.certs_dir, filename)

    # -- listing --
    def names(self) -> list[str]:
        """Every folder under ``machines/`` not starting with a dot, naturally sorted (the original's rule)."""
        try:
            entries = os.listdir(self.machines_dir)
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise StoreError("Cannot list %s: %s. Check option 'store_path'." % (self.machines_dir, exc.strerror), path=self.machines_dir) from exc
        names = [e for e in entries if not e.startswith(".") and os.path.isdir(os.path.join(self.machines_dir, e))]
        return sorted(names, key=natural_key)

    def exists(self, name: str) -> bool:
        return os.path.isdir(self.machine_dir(name))

    # -- reading --
    def load(self, name: str) -> MachineRecord:
        path = self.config_path(name)
        try:
            raw = read_bounded(path)
        except FileNotFoundError:
            if not self.exists(name):
                raise MachineNotFoundError(
                    'Docker machine "%s" does not exist in the store %s. Check options \'name\' and \'store_path\'.' % (name, self.root),
                    machine=name,
                    path=self.machine_dir(name),
                ) from None
            raise StoreError("%s is missing: the machine folder holds no record (a create that never finished?)." % path, machine=name, path=path) from None
        except OSError as exc:
            raise StoreError("Cannot read %s: %s" % (path, exc.strerror), machine=name, path=path) from exc
        try:
            doc = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise StoreError("%s is not valid JSON (%s); the file may be half-written." % (path, exc), machine=name, path=path) from exc
        if not isinstance(doc, dict):
            raise StoreError("%s does not hold a JSON object." % path, machine=name, path=path)
        try:
            doc, migrated_from = migrate(doc)
        except StoreError as exc:
            raise StoreError("%s: %s" % (path, exc.msg), machine=name, path=path) from exc
        if not isinstance(doc.get("Driver"), dict) or not isinstance(doc.get("HostOptions", {}), dict):
            raise StoreError("%s has no usable Driver section." % path, machine=name, path=path)
        record = MachineRecord(name=name, config=doc, migrated_from=migrated_from)
        record.healed = self._heal(record)
        record.sidecar = self.read_sidecar(name)
        return record

    def _old_roots(self, record: MachineRecord) -> list[str]:
        """The store folders the record's paths were written under, other than this store (by real path)."""
        roots: list[str] = []
        real_root = os.path.realpath(self.root)
        driver_root = record.driver.get("StorePath")
        cert_dir = record.auth_options.get("CertDir")
        machine_dir = record.auth_options.get("StorePath")
        for candidate in (driver_root, os.path.dirname(cert_dir) if cert_dir else "", os.path.dirname(os.path.dirname(machine_dir)) if machine_dir else ""):
            if not isinstance(candidate, str) or not candidate:
                continue
            candidate = candidate.rstrip("/")
            if candidate != self.root and os.path.realpath(candidate) != real_root and candidate not in roots:
                roots.append(candidate)
        return roots

    def _heal(self, record: MachineRecord) -> tuple[str, ...]:
        """Point every path under another store's folder at the same file under this store; list the fixes.

        A record inside this store uses this store's files only: after ``cp -a`` the original store
        still exists, and its files must not be read (or written) for the copy. A file missing here is
        this store's to make (``docker_machine_certs`` reports it missing and a re-issue writes it here).
        """
        roots = self._old_roots(record)
        if not roots:
            return ()
        healed = []
        for section_name, section, keys in (
            ("Driver", record.driver, DRIVER_PATH_KEYS),
            ("HostOptions.AuthOptions", record.auth_options, AUTH_PATH_KEYS),
        ):
            for key in keys:
                value = section.get(key)
                if not isinstance(value, str) or not value:
                    continue
                for old in roots:
                    if value == old or value.startswith(old + "/"):
                        section[key] = self.root + value[len(old):]
                        healed.append("%s.%s" % (section_name, key))
                        break
        return tuple(healed)

    def load_all(self) -> tuple[list[MachineRecord], list[StoreError]]:
        """Every record that loads, and one error per machine folder that does not (never all-or-nothing)."""
        records: list[MachineRecord] = []
        errors: list[StoreError] = []
        for name in self.names():
            try:
                validate_name(name)
                records.append(self.load(name))
            except StoreError as exc:
                if exc.machine is None:
                    exc.machine = name
                errors.append(exc)
        return records, errors

    def read_sidecar(self, name: str) -> dict[str, t.Any]:
        path = self.sidecar_path(name)
        try:
            doc = json.loads(read_bounded(path).decode("utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, StoreError, UnicodeDecodeError, ValueError):
            # The sidecar is ours and optional: a damaged one must never make the machine unloadable.
            return {}
        return doc if isinstance(doc, dict) else {}

    def read_bytes(self, path: str) -> bytes:
        try:
            return read_bounded(path)
        except OSError as exc:
            raise StoreError("Cannot read %s: %s" % (path, exc.strerror), path=path) from exc

    # -- writing (the orchestrator's) --
    def ensure_layout(self) -> None:
        for directory in (self.root, self.certs_dir, self.machines_dir):
            make_dirs(directory)

    def check_inside(self, path: str, action: str = "write") -> str:
        """The one check every write and delete of this store passes; returns ``path``.

        The real path of ``path``'s folder (and of ``path`` itself when it exists) must lie inside the
        real store root, and a machine folder on the way must be a real folder, not a symbolic link:
        a link would make the store write or delete files elsewhere, or in another machine's folder.
        """
        real_root = os.path.realpath(self.root)
        absolute = os.path.abspath(path)
        culprit = ""
        relative = os.path.relpath(absolute, self.root).split(os.sep)
        if len(relative) >= 2 and relative[0] == "machines":
            machine_dir = os.path.join(self.machines_dir, relative[1])
            if os.path.islink(machine_dir):
                culprit = machine_dir
        if not culprit:
            for candidate in (os.path.dirname(absolute), absolute):
                real = os.path.realpath(candidate)
                if real != real_root and not real.startswith(real_root + os.sep):
                    culprit = candidate
                    break
        if culprit and os.path.islink(culprit):
            raise StoreError(
                "Refusing to %s %s: %s is a symbolic link (to %s), and a machine folder of the store %s must be a real "
                "folder. Replace it with a real folder, or set option 'store_path' to the store it belongs to."
                % (action, path, culprit, os.path.realpath(culprit), self.root),
                path=path,
            )
        if culprit:
            raise StoreError(
                "Refusing to %s %s: it lies outside the store %s (it resolves to %s). The machine's record names a file that "
                "is not this store's: run docker_machine with state=present for it, which points the record back into the store, "
                "or set option 'store_path' to the store it belongs to." % (action, path, self.root, os.path.realpath(path)),
                path=path,
            )
        return path

    def save(self, record: MachineRecord) -> bool:
        """Write ``config.json`` (and the sidecar when it has content) atomically; True if anything changed."""
        validate_name(record.name)
        machine_dir = self.machine_dir(record.name)
        path = self.check_inside(os.path.join(machine_dir, CONFIG_NAME))
        backup = self.check_inside(os.path.join(machine_dir, BACKUP_NAME))
        sidecar_path = self.check_inside(os.path.join(machine_dir, SIDECAR_NAME))
        make_dirs(self.machines_dir)
        make_dirs(machine_dir)
        if record.migrated_from is not None and os.path.exists(path) and not os.path.exists(backup):
            # The record as it was before the migration, minus the credentials config.json no longer
            # holds either; written like every store file (0600 from its first byte, then renamed).
            atomic_write(backup, _without_secrets(self.read_bytes(path)))
        changed = atomic_write(path, dumps_config(record.document()))
        if record.sidecar:
            doc = dict(record.sidecar)
            doc["SchemaVersion"] = SIDECAR_SCHEMA
            changed = atomic_write(sidecar_path, dumps_config(doc)) or changed
        record.healed = ()
        record.migrated_from = None
        return changed

    def write_file(self, path: str, data: bytes, mode: int = FILE_MODE) -> bool:
        """Write a store file (certificate, key) atomically, only inside this store."""
        return atomic_write(self.check_inside(path), data, mode)

    def remove_file(self, path: str) -> bool:
        """Delete a file of this store (a finished bootstrap's pending pair), only inside this store."""
        try:
            os.unlink(self.check_inside(path, "delete"))
        except FileNotFoundError:
            return False
        return True

    def move_file(self, source: str, target: str) -> None:
        """Rename a file of this store to another name in it (a folder made for it when missing)."""
        self.check_inside(source, "move")
        make_dirs(os.path.dirname(self.check_inside(target)))
        os.rename(source, target)

    def remove(self, name: str) -> bool:
        machine_dir = self.check_inside(self.machine_dir(name), "delete")
        if not os.path.isdir(machine_dir):
            return False
        import shutil

        shutil.rmtree(machine_dir)
        return True

    def remove_folder(self, path: str) -> bool:
        """Delete a folder of this store (a staging or scratch folder), only inside this store."""
        folder = self.check_inside(path, "delete")
        if not os.path.isdir(folder):
            return False
        import shutil

        shutil.rmtree(folder)
        return True

    # -- locks --
    def lock(self, name: str, timeout: float = 120.0) -> t.ContextManager[None]:
        """Serialise writers of one machine's record across processes."""
        return file_lock(os.path.join(self.root, LOCK_DIR, "machine-%s.lock" % validate_name(name)), timeout)

    def certs_lock(self, timeout: float = 120.0) -> t.ContextManager[None]:
        """Serialise the CA and client bootstrap: ten creates on an empty store make one CA."""
        return file_lock(os.path.join(self.root, LOCK_DIR, "certs.lock"), timeout)
