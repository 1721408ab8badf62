# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module_util is internal to dockyard.machine; its API may change without notice.
"""Move machines between computers: export them from a store into one file, import that file elsewhere.

A bundle is a gzip'd tar (docker-machine reference section 8, item 2: "export / import machines").
Members, in this order:

- ``dockyard-bundle.json``: the manifest (format and version, machine names, the source store root,
  the creation time in UTC, and every other member's path, mode, size and SHA-256);
- ``certs/ca.pem``, ``certs/cert.pem``, ``certs/key.pem`` (and ``certs/ca-key.pem`` only on request);
- ``machines/<name>/<file>`` for every regular file of each machine folder, ``config.json`` written
  healed (its paths valid for the source store) and without cloud credentials.

With a passphrase the whole archive is encrypted: ``MAGIC`` + 16-byte salt + 12-byte nonce +
AES-256-GCM ciphertext (the key comes from scrypt; the header is authenticated too).

Import refuses, before writing anything, any member that could land outside the store or that the
manifest does not list, and any machine that would replace a different machine of the same name.
The paths inside each ``config.json`` are moved from the source root to the destination root, and
each machine appears in one ``rename``: a failed import never leaves half a machine.
"""

from __future__ import annotations

import copy
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import tarfile
import tempfile
import typing as t
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone

from ansible_collections.dockyard.machine.plugins.module_utils._drivers import sidecar_keys
from ansible_collections.dockyard.machine.plugins.module_utils._errors import InvalidNameError, StoreError
from ansible_collections.dockyard.machine.plugins.module_utils._sidecar import kept_value
from ansible_collections.dockyard.machine.plugins.module_utils._store import (
    AUTH_PATH_KEYS,
    DRIVER_PATH_KEYS,
    BACKUP_NAME,
    CONFIG_NAME,
    DEFAULT_INSTALL_URL,
    SIDECAR_NAME,
    MachineRecord,
    MachineStore,
    atomic_write,
    dumps_config,
    migrate,
    natural_key,
    validate_name,
)

try:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    HAS_CRYPTOGRAPHY = True
except ImportError:  # pragma: no cover
    HAS_CRYPTOGRAPHY = False

__all__ = [
    "FORMAT_VERSION",
    "MAGIC",
    "MANIFEST_NAME",
    "Bundle",
    "ExportReport",
    "ImportReport",
    "export_bundle",
    "export_to_file",
    "import_bundle",
    "import_from_file",
    "inert_sidecar",
    "is_encrypted",
    "read_bundle",
]

FORMAT_NAME = "dockyard.machine bundle"
FORMAT_VERSION = 1
MANIFEST_NAME = "dockyard-bundle.json"
MAGIC = b"DYMBUNDLE1"
SALT_BYTES = 16
NONCE_BYTES = 12
TAG_BYTES = 16
# scrypt cost for format 1 (32 MiB of memory, about 0.1 s); a new cost needs a new MAGIC.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
GZIP_MAGIC = b"\x1f\x8b"

# Decompression bombs: a bundle of a few hundred machines is a few MiB.
MAX_BUNDLE_BYTES = 64 * 1024 * 1024  # the file on disk, and the tar once decompressed
MAX_MEMBERS = 4096

CERT_FILES = ("ca.pem", "cert.pem", "key.pem")
CA_KEY_FILE = "ca-key.pem"
ALL_CERT_FILES = CERT_FILES + (CA_KEY_FILE,)
# Files anyone may read (the rest, keys and records, stay 0600 whatever the source said).
PUBLIC_SUFFIXES = (".pub",)
PUBLIC_PEMS = ("ca.pem", "cert.pem", "server.pem")
BUNDLE_FILE_MODE = 0o600


# --- The archive ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Member:
    data: bytes
    mode: int


@dataclass
class Bundle:
    """A decoded bundle: its manifest and its members (path -> data and mode), manifest excluded."""

    manifest: dict[str, t.Any]
    members: dict[str, Member]
    encrypted: bool = False

    @property
    def machines(self) -> list[str]:
        return list(self.manifest["Machines"])

    @property
    def source_root(self) -> str:
        return str(self.manifest["SourceStore"])

    def content_key(self) -> tuple[t.Any, ...]:
        """What two exports of the same machines share: everything but the creation time."""
        manifest = {k: v for k, v in self.manifest.items() if k != "Created"}
        return (json.dumps(manifest, sort_keys=True), sorted((p, m.data, m.mode) for p, m in self.members.items()))


def _safe_mode(filename: str, mode: int) -> int:
    """0644 at most for certificates and public keys, 0600 for everything else (keys, records)."""
    if filename in PUBLIC_PEMS or filename.endswith(PUBLIC_SUFFIXES):
        return mode & 0o644 | 0o600
    return BUNDLE_FILE_MODE


def _utc_stamp(now: datetime | None) -> str:
    moment = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _pack(manifest: dict[str, t.Any], members: t.Sequence[tuple[str, Member]], mtime: int) -> bytes:
    """A deterministic gzip'd tar: fixed owner, fixed times, the order given."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        entries = [(MANIFEST_NAME, Member(json.dumps(manifest, indent=2).encode("utf-8") + b"\n", 0o644))]
        for path, member in [*entries, *members]:
            info = tarfile.TarInfo(path)
            info.size = len(member.data)
            info.mode = member.mode
            info.mtime = mtime
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(member.data))
    return gzip.compress(raw.getvalue(), compresslevel=9, mtime=0)


def _outside_paths(store: MachineStore, record: MachineRecord) -> list[str]:
    """Store paths of the record that name files outside the store: the bundle cannot carry them."""
    found = []
    for section_name, section, keys in (("Driver", record.driver, DRIVER_PATH_KEYS), ("AuthOptions", record.auth_options, AUTH_PATH_KEYS)):
        for key in keys:
            value = section.get(key)
            if isinstance(value, str) and value and value != store.root and not value.startswith(store.root + "/"):
                found.append("%s.%s=%s" % (section_name, key, value))
    return found


def _machine_members(store: MachineStore, name: str, warnings: list[str]) -> list[tuple[str, Member]]:
    record = store.load(name)  # healed: every path valid for this store
    outside = _outside_paths(store, record)
    if outside:
        warnings.append(
            "Machine %s: its record names files outside the store, which the bundle does not carry: %s." % (name, ", ".join(outside))
        )
    members = {CONFIG_NAME: Member(dumps_config(record.document()), BUNDLE_FILE_MODE)}
    folder = store.machine_dir(name)
    for filename in sorted(os.listdir(folder)):
        # config.json is written from the healed record; the .bak keeps the original's paths and
        # credentials; dot files are temp files of an interrupted write.
        if filename in (CONFIG_NAME, BACKUP_NAME) or filename.startswith("."):
            continue
        path = os.path.join(folder, filename)
        info = os.lstat(path)
        if not os.path.isfile(path) or os.path.islink(path):
            continue
        members[filename] = Member(store.read_bytes(path), _safe_mode(filename, info.st_mode))
    return [("machines/%s/%s" % (name, f), members[f]) for f in sorted(members)]


def _cert_members(store: MachineStore, include_ca_key: bool) -> list[tuple[str, Member]]:
    wanted = ALL_CERT_FILES if include_ca_key else CERT_FILES
    out = []
    for filename in sorted(wanted):
        path = store.cert_path(filename)
        if not os.path.isfile(path):
            raise StoreError(
                "Cannot export: %s is missing, and machines cannot be reached without the store's certificates." % path,
                path=path,
            )
        out.append(("certs/%s" % filename, Member(store.read_bytes(path), _safe_mode(filename, os.stat(path).st_mode))))
    return out


def _build(store: MachineStore, names: t.Sequence[str] | None, include_ca_key: bool, now: datetime | None) -> tuple[bytes, Bundle, list[str]]:
    warnings: list[str] = []
    if names:
        chosen = sorted({validate_name(n) for n in names}, key=natural_key)
    else:
        chosen = []
        for name in store.names():
            try:
                chosen.append(validate_name(name))
            except InvalidNameError:
                warnings.append("The folder machines/%s is not a machine docker-machine could name; it was left out." % name)
    if not chosen:
        raise StoreError("The store %s has no machines to export." % store.root, path=store.root)
    members = _cert_members(store, include_ca_key)
    for name in chosen:
        members.extend(_machine_members(store, name, warnings))
    created = now or datetime.now(timezone.utc)
    manifest = {
        "Format": FORMAT_NAME,
        "FormatVersion": FORMAT_VERSION,
        "Created": _utc_stamp(created),
        "SourceStore": store.root,
        "Machines": chosen,
        "IncludesCaKey": include_ca_key,
        "Files": [
            {"Path": path, "Mode": "%04o" % m.mode, "Size": len(m.data), "SHA256": hashlib.sha256(m.data).hexdigest()}
            for path, m in members
        ],
    }
    archive = _pack(manifest, members, int(created.timestamp()))
    return archive, Bundle(manifest=manifest, members=dict(members)), warnings


def export_bundle(
    store: MachineStore,
    names: t.Sequence[str] | None = None,
    *,
    include_ca_key: bool = False,
    passphrase: str | None = None,
    now: datetime | None = None,
) -> bytes:
    """The bundle of ``names`` (every machine when empty) as bytes, encrypted when ``passphrase`` is set."""
    _check_passphrase(passphrase)
    archive, dummy, dummy_warnings = _build(store, names, include_ca_key, now)
    return _encrypt(archive, passphrase) if passphrase is not None else archive


# --- Encryption -----------------------------------------------------------------------------------------


def is_encrypted(data: bytes) -> bool:
    return data.startswith(MAGIC)


def _check_passphrase(passphrase: str | None) -> None:
    """None means no encryption; an empty string is a mistake (an unset variable), never a secret."""
    if passphrase is None:
        return
    if not isinstance(passphrase, str) or not passphrase:
        raise StoreError("The passphrase is empty. Set option 'passphrase' to a real secret, or leave it unset.", option="passphrase")
    if not HAS_CRYPTOGRAPHY:  # pragma: no cover
        raise StoreError("Encrypted bundles need the Python library cryptography on the controller.", option="passphrase")


def _key(passphrase: str, salt: bytes) -> bytes:
    _check_passphrase(passphrase)
    return Scrypt(salt=salt, length=32, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P).derive(passphrase.encode("utf-8"))


def _encrypt(archive: bytes, passphrase: str) -> bytes:
    salt, nonce = os.urandom(SALT_BYTES), os.urandom(NONCE_BYTES)
    header = MAGIC + salt + nonce
    return header + AESGCM(_key(passphrase, salt)).encrypt(nonce, archive, header)


def _decrypt(data: bytes, passphrase: str | None) -> bytes:
    if passphrase is None:
        raise StoreError("The bundle is encrypted. Set option 'passphrase' to the passphrase it was exported with.", option="passphrase")
    head = len(MAGIC) + SALT_BYTES + NONCE_BYTES
    if len(data) < head + TAG_BYTES:
        raise StoreError("The encrypted bundle is truncated.")
    salt, nonce = data[len(MAGIC) : len(MAGIC) + SALT_BYTES], data[len(MAGIC) + SALT_BYTES : head]
    try:
        return AESGCM(_key(passphrase, salt)).decrypt(nonce, data[head:], data[:head])
    except InvalidTag:
        raise StoreError(
            "Cannot decrypt the bundle: the passphrase is wrong or the file is damaged. Check option 'passphrase'.",
            option="passphrase",
        ) from None


# --- Reading (never trusts the archive) -----------------------------------------------------------------


def _refuse(msg: str, **details: t.Any) -> t.NoReturn:
    raise StoreError("Refusing the bundle: %s Nothing was imported." % msg, **details)


def _gunzip(data: bytes) -> bytes:
    if not data.startswith(GZIP_MAGIC):
        _refuse("it is neither a dockyard.machine bundle nor an encrypted one.")
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        raw = inflater.decompress(data, MAX_BUNDLE_BYTES + 1)
    except zlib.error as exc:
        _refuse("it is not valid gzip data (%s)." % exc)
    if len(raw) > MAX_BUNDLE_BYTES or inflater.unconsumed_tail:
        _refuse("it unpacks to more than %d MiB." % (MAX_BUNDLE_BYTES // 2**20))
    if not inflater.eof:
        _refuse("it is truncated.")
    return raw


def _check_name(path: str) -> tuple[str, ...]:
    """The member's path split in parts, or a refusal when it could land outside its place."""
    if not path or path.startswith("/") or "\\" in path or "\x00" in path:
        _refuse("member %r has an absolute or unsafe path." % path, member=path)
    parts = tuple(path.split("/"))
    if any(part in ("", ".", "..") for part in parts):
        _refuse("member %r has an unsafe path (empty, '.' or '..' parts)." % path, member=path)
    if parts == (MANIFEST_NAME,):
        return parts
    if len(parts) == 2 and parts[0] == "certs" and parts[1] in ALL_CERT_FILES:
        return parts
    if len(parts) == 3 and parts[0] == "machines" and not parts[2].startswith("."):
        try:
            validate_name(parts[1])
        except InvalidNameError:
            raise InvalidNameError(
                "Refusing the bundle: member %r is for the machine %r, which is not a valid machine name. Nothing was imported."
                % (path, parts[1]),
                member=path,
            ) from None
        return parts
    _refuse("member %r is not a store certificate or a file of a machine folder." % path, member=path)


# Extended headers (PAX ``x``/``g``, GNU long names ``L``/``K``) describe the member that follows; ours
# put at most one before a member. Python's tarfile reads a chain of them recursively, so a few hundred
# in a row end in RecursionError instead of a refusal: the chain is measured first, without tarfile.
EXTENDED_HEADER_TYPES = (b"x", b"g", b"L", b"K")
MAX_EXTENDED_HEADERS = 4
BLOCK = 512


def _check_header_chains(raw: bytes) -> None:
    """Refuse an archive with more than MAX_EXTENDED_HEADERS extended headers in a row (walks headers only)."""
    offset, chain = 0, 0
    while offset + BLOCK <= len(raw):
        header = raw[offset : offset + BLOCK]
        if header == bytes(BLOCK):
            return  # end of archive
        field = header[124:136]
        try:
            size = int(field.rstrip(b"\0 ").decode("ascii") or "0", 8)
        except (UnicodeDecodeError, ValueError):
            return  # not a header this walk can read: tarfile refuses it with its own error
        if header[156:157] in EXTENDED_HEADER_TYPES:
            chain += 1
            if chain > MAX_EXTENDED_HEADERS:
                _refuse("it has more than %d extended headers in a row (at byte %d); a member needs at most one." % (MAX_EXTENDED_HEADERS, offset))
        else:
            chain = 0
        offset += BLOCK + -(-size // BLOCK) * BLOCK


def _check_manifest(doc: t.Any) -> dict[str, t.Any]:
    if not isinstance(doc, dict) or doc.get("Format") != FORMAT_NAME:
        _refuse("its manifest %s is not a dockyard.machine bundle manifest." % MANIFEST_NAME)
    version = doc.get("FormatVersion")
    if not isinstance(version, int) or version < 1:
        _refuse("its manifest has no valid FormatVersion.")
    if version > FORMAT_VERSION:
        _refuse("it has format version %d; this dockyard.machine reads up to %d. Upgrade the collection." % (version, FORMAT_VERSION))
    root = doc.get("SourceStore")
    if not isinstance(root, str) or not os.path.isabs(root):
        _refuse("its manifest has no absolute SourceStore.")
    machines = doc.get("Machines")
    if not isinstance(machines, list) or not machines or len(set(map(str, machines))) != len(machines):
        _refuse("its manifest lists no machines, or a machine twice.")
    for name in machines:
        try:
            validate_name(name)
        except InvalidNameError:
            raise InvalidNameError(
                "Refusing the bundle: its manifest lists %r, which is not a valid machine name. Nothing was imported." % (name,),
            ) from None
    files = doc.get("Files")
    if not isinstance(files, list) or not all(isinstance(f, dict) and isinstance(f.get("Path"), str) for f in files):
        _refuse("its manifest has no valid Files list.")
    return doc


def read_bundle(data: bytes, passphrase: str | None = None) -> Bundle:
    """Decrypt (if needed), unpack and check a bundle; raises StoreError on anything unsafe."""
    _check_passphrase(passphrase)
    if len(data) > MAX_BUNDLE_BYTES:
        _refuse("it is larger than %d MiB." % (MAX_BUNDLE_BYTES // 2**20))
    encrypted = is_encrypted(data)
    raw = _gunzip(_decrypt(data, passphrase) if encrypted else data)
    _check_header_chains(raw)
    manifest: dict[str, t.Any] | None = None
    members: dict[str, Member] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as tar:
            count = 0
            while True:
                info = tar.next()
                if info is None:
                    break
                count += 1
                if count > MAX_MEMBERS:
                    _refuse("it has more than %d members." % MAX_MEMBERS)
                parts = _check_name(info.name)
                if not info.isreg():
                    kind = "a symlink" if info.issym() else "a hard link" if info.islnk() else "a directory" if info.isdir() else "a device or special file"
                    _refuse("member %r is %s; bundles hold regular files only." % (info.name, kind), member=info.name)
                if info.name in members or (parts == (MANIFEST_NAME,) and manifest is not None):
                    _refuse("member %r appears twice." % info.name, member=info.name)
                handle = tar.extractfile(info)
                content = handle.read(MAX_BUNDLE_BYTES + 1) if handle is not None else b""
                if parts == (MANIFEST_NAME,):
                    if count != 1:
                        _refuse("its manifest is not the first member.")
                    try:
                        manifest = _check_manifest(json.loads(content.decode("utf-8")))
                    except (UnicodeDecodeError, ValueError):
                        _refuse("its manifest is not valid JSON.")
                    continue
                if manifest is None:
                    _refuse("it does not start with the manifest %s." % MANIFEST_NAME)
                members[info.name] = Member(content, _safe_mode(parts[-1], info.mode))
    except tarfile.TarError as exc:
        _refuse("it is not a valid tar archive (%s)." % exc)
    if manifest is None:
        _refuse("it has no manifest %s." % MANIFEST_NAME)
    listed = {f["Path"]: f for f in manifest["Files"]}
    machines = set(manifest["Machines"])
    for path, member in members.items():
        parts = path.split("/")
        if parts[0] == "machines" and parts[1] not in machines:
            _refuse("member %r is for the machine %r, which the manifest does not list." % (path, parts[1]), member=path)
        if path not in listed:
            _refuse("member %r is not listed in the manifest." % path, member=path)
        if listed[path].get("SHA256") != hashlib.sha256(member.data).hexdigest():
            _refuse("member %r does not match its SHA-256 in the manifest (a damaged or edited bundle)." % path, member=path)
    missing = sorted(set(listed) - set(members))
    if missing:
        _refuse("the manifest lists %s, which the archive does not hold." % ", ".join(missing))
    for name in manifest["Machines"]:
        if "machines/%s/%s" % (name, CONFIG_NAME) not in members:
            _refuse("machine %r has no %s." % (name, CONFIG_NAME), machine=name)
    for filename in CERT_FILES:
        if "certs/%s" % filename not in members:
            _refuse("it has no certs/%s." % filename)
    return Bundle(manifest=manifest, members=members, encrypted=encrypted)


# --- The sidecar: untrusted data --------------------------------------------------------------------------

SHOWN_KEY_PATTERN = re.compile(r"[A-Za-z0-9_.\-]{1,64}")


def _shown(key: str) -> str:
    return key if SHOWN_KEY_PATTERN.fullmatch(key) else repr(key[:64])


def inert_sidecar(doc: t.Mapping[str, t.Any], driver_name: str) -> tuple[dict[str, t.Any], list[str]]:
    """The part of a sidecar that cannot run anything on this controller, and what was left out (sorted).

    Kept: the facts the store declares for every machine and those the machine's driver declares, each with its declared
    shape. Dropped: SSHConfig (it becomes ``ssh -F``, whose ProxyCommand runs on this controller), ProxyJump, and any key
    this version does not know, because a later version may turn it into an ssh option.
    """
    declared = {key.name: key for key in sidecar_keys(driver_name) if key.portable}
    kept: dict[str, t.Any] = {}
    dropped: list[str] = []
    for key in sorted(doc, key=str):
        if key == "SchemaVersion":
            continue  # written again by the store
        declaration = declared.get(key) if isinstance(key, str) else None
        if declaration is None:
            dropped.append(_shown(str(key)))
            continue
        value, why = kept_value(declaration, doc[key])
        if value is not None:
            kept[key] = copy.deepcopy(value)
        if why:
            dropped.append("%s (%s)" % (key, why))
    return kept, dropped


# --- Import -----------------------------------------------------------------------------------------------


@dataclass
class ImportReport:
    imported: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    changed: bool = False
    warnings: list[str] = field(default_factory=list)
    ca_installed: bool = False
    repointed: list[str] = field(default_factory=list)  # machines that keep the bundle's CA in their own folder
    machines: list[str] = field(default_factory=list)  # the bundle's machines that were asked for, in its order
    source_store: str = ""
    encrypted: bool = False
    path: str = ""


@dataclass
class _Plan:
    record: MachineRecord
    files: dict[str, Member]  # every machine-folder file but config.json and the sidecar


def _rebase(value: t.Any, old_roots: t.Sequence[str], new_root: str) -> t.Any:
    if not isinstance(value, str):
        return value
    for old in old_roots:
        if value == old or value.startswith(old + "/"):
            return new_root + value[len(old) :]
    return value


def _ca_state(store: MachineStore, bundle: Bundle) -> str:
    """``none`` (install the bundle's), ``same`` or ``different`` (keep ours, repoint the machines)."""
    present = [f for f in ALL_CERT_FILES if os.path.lexists(store.cert_path(f))]
    if not present:
        return "none"
    ca_path = store.cert_path("ca.pem")
    if os.path.isfile(ca_path) and store.read_bytes(ca_path).strip() == bundle.members["certs/ca.pem"].data.strip():
        return "same"
    return "different"


def _plan_machine(store: MachineStore, bundle: Bundle, name: str, ca_state: str, warnings: list[str]) -> _Plan:
    prefix = "machines/%s/" % name
    try:
        doc = json.loads(bundle.members[prefix + CONFIG_NAME].data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        _refuse("%s%s is not valid JSON." % (prefix, CONFIG_NAME), machine=name)
    if not isinstance(doc, dict):
        _refuse("%s%s does not hold a JSON object." % (prefix, CONFIG_NAME), machine=name)
    doc, dummy = migrate(doc)
    if not isinstance(doc.get("Driver"), dict) or not isinstance(doc.get("HostOptions", {}), dict):
        _refuse("%s%s has no usable Driver section." % (prefix, CONFIG_NAME), machine=name)
    record = MachineRecord(name=name, config=copy.deepcopy(doc))
    old_roots = [bundle.source_root.rstrip("/")]
    driver_root = record.driver.get("StorePath")
    if isinstance(driver_root, str) and os.path.isabs(driver_root) and driver_root.rstrip("/") not in old_roots:
        old_roots.append(driver_root.rstrip("/"))
    for section, keys in ((record.driver, DRIVER_PATH_KEYS), (record.auth_options, AUTH_PATH_KEYS)):
        for key in keys:
            if key in section:
                section[key] = _rebase(section[key], old_roots, store.root)
    _drop_engine_programs(record, warnings)
    files = {path[len(prefix) :]: m for path, m in bundle.members.items() if path.startswith(prefix)}
    files.pop(CONFIG_NAME)
    sidecar = files.pop(SIDECAR_NAME, None)
    if sidecar is not None:
        try:
            parsed = json.loads(sidecar.data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            parsed = None
        if isinstance(parsed, dict):
            record.sidecar, dropped = inert_sidecar(parsed, record.driver_name)
            if dropped:
                warnings.append(
                    "Machine %s: its sidecar %s carries settings that could run commands on this controller, or facts not "
                    "of the shape its owner writes, which were not imported: %s. Set options 'ssh_config' and 'proxy_jump' of "
                    "dockyard.machine.docker_machine if this machine needs them." % (name, SIDECAR_NAME, ", ".join(dropped))
                )
        else:
            warnings.append("Machine %s: its sidecar %s is damaged and was left out." % (name, SIDECAR_NAME))
    if ca_state == "different":
        _repoint(store, bundle, record, files, warnings)
    return _Plan(record=record, files=files)


def _drop_engine_programs(record: MachineRecord, warnings: list[str]) -> None:
    """Leave out the engine settings that run programs as root on the host: dockerd flags (``--add-runtime``,
    ``--userland-proxy-path``, plugins), its environment (``LD_PRELOAD``) and the install script's URL.

    They would reach the host at the next re-issue or rotation. Labels, registries, mirrors and the
    storage driver are data and stay. Only names are shown: an environment value may hold a password.
    """
    engine = record.config.get("HostOptions", {}).get("EngineOptions")
    if not isinstance(engine, dict):
        return
    dropped = []
    flags, env = engine.get("ArbitraryFlags") or [], engine.get("Env") or []
    if flags:
        dropped.append("dockerd flags %s" % ", ".join(_shown(str(f).lstrip("-").split("=", 1)[0]) for f in flags))
        engine["ArbitraryFlags"] = []
    if env:
        dropped.append("engine environment %s" % ", ".join(_shown(str(e).split("=", 1)[0]) for e in env))
        engine["Env"] = []
    if engine.get("InstallURL") not in (None, "", DEFAULT_INSTALL_URL):
        dropped.append("InstallURL")
        engine["InstallURL"] = DEFAULT_INSTALL_URL
    if dropped:
        warnings.append(
            "Machine %s: engine settings that run programs as root on its host were not imported: %s. Set them with the "
            "docker_machine options engine.options and engine.env if this machine needs them." % (record.name, "; ".join(dropped))
        )


# AuthOptions key -> the store certificate it names by default (reference section 1.3).
_STORE_CERT_KEYS = (("CaCertPath", "ca.pem"), ("ClientCertPath", "cert.pem"), ("ClientKeyPath", "key.pem"), ("CaPrivateKeyPath", CA_KEY_FILE))


def _repoint(store: MachineStore, bundle: Bundle, record: MachineRecord, files: dict[str, Member], warnings: list[str]) -> None:
    """The destination keeps its own CA; this machine keeps the bundle's, in its own folder.

    Only the AuthOptions paths that name the store's ``certs/`` files move: DOCKER_CERT_PATH and the
    original binary then find the certificates that signed (and talk to) this machine's engine.  A
    record that already points at its folder (the engine's own client files of a ``none`` machine)
    is left alone.  The CA key path never stays on the destination's key: it would sign server
    certificates this machine's clients reject.
    """
    name = record.name
    folder = os.path.join(store.machines_dir, name)
    auth = record.auth_options
    moved = []
    for key, filename in _STORE_CERT_KEYS:
        if auth.get(key) == store.cert_path(filename):
            auth[key] = os.path.join(folder, filename)
            moved.append(key)
            member = bundle.members.get("certs/%s" % filename)
            if filename == CA_KEY_FILE:
                if member is not None:
                    files[filename] = member
            else:
                files.setdefault(filename, member)
    if not moved:
        return
    without_key = "CaPrivateKeyPath" in moved and CA_KEY_FILE not in files
    warnings.append(
        "Machine %s: the store %s has a different CA, which was kept; the machine uses the CA and client certificate "
        "of its bundle from its own folder %s%s."
        % (name, store.root, folder, " (the bundle has no CA key, so its server certificate cannot be re-issued here)" if without_key else "")
    )


def _same_machine(store: MachineStore, plan: _Plan) -> bool:
    """True when the destination's machine already holds exactly what the import would write."""
    name = plan.record.name
    try:
        existing = store.load(name)
    except StoreError:
        return False
    if existing.document() != plan.record.document():
        return False
    # Only the inert part counts: settings the user gave this store (ssh_config, proxy_jump) are not a difference.
    if plan.record.sidecar and inert_sidecar(existing.sidecar, existing.driver_name)[0] != plan.record.sidecar:
        return False
    folder = store.machine_dir(name)
    for filename, member in plan.files.items():
        path = os.path.join(folder, filename)
        if not os.path.isfile(path) or store.read_bytes(path) != member.data:
            return False
    return True


def _plan_all(store: MachineStore, bundle: Bundle, names: t.Sequence[str], ca_state: str) -> tuple[dict[str, _Plan], list[str], list[str]]:
    warnings: list[str] = []
    plans: dict[str, _Plan] = {}
    unchanged: list[str] = []
    for name in names:
        plan = _plan_machine(store, bundle, name, ca_state, warnings)
        if store.exists(name):
            if not _same_machine(store, plan):
                raise StoreError(
                    'Machine "%s" already exists in the store %s and differs from the one in the bundle. Remove it first '
                    "(dockyard.machine.docker_machine state=absent, or docker-machine rm %s) to replace it. Nothing was imported."
                    % (name, store.root, name),
                    machine=name,
                    path=store.machine_dir(name),
                )
            unchanged.append(name)
        else:
            plans[name] = plan
    return plans, unchanged, warnings


def _install_certs(store: MachineStore, bundle: Bundle) -> None:
    # Keys before their certificates: a reader that finds a certificate always finds its key.
    for filename in (CA_KEY_FILE, "ca.pem", "key.pem", "cert.pem"):
        member = bundle.members.get("certs/%s" % filename)
        if member is not None:
            store.write_file(store.cert_path(filename), member.data, member.mode)


def _install_machine(store: MachineStore, plan: _Plan) -> None:
    """Build the machine folder under a hidden staging folder of ``machines/``, then rename it into place."""
    name = plan.record.name
    staging_root = tempfile.mkdtemp(prefix=".import-%s-" % name, dir=store.machines_dir)
    try:
        staging = MachineStore(staging_root)
        staging.save(plan.record)
        folder = staging.machine_dir(name)
        for filename in sorted(plan.files):
            member = plan.files[filename]
            staging.write_file(os.path.join(folder, filename), member.data, member.mode)
        with store.lock(name):
            if store.exists(name):
                raise StoreError(
                    'Machine "%s" appeared in the store %s while importing; run the import again.' % (name, store.root),
                    machine=name,
                )
            os.rename(folder, store.machine_dir(name))
    except OSError as exc:
        raise StoreError("Cannot import machine %s into %s: %s" % (name, store.root, exc), machine=name) from exc
    finally:
        shutil.rmtree(staging_root, ignore_errors=True)


def import_bundle(
    store: MachineStore,
    data: bytes,
    *,
    names: t.Sequence[str] | None = None,
    passphrase: str | None = None,
    check_mode: bool = False,
) -> ImportReport:
    """Import the bundle's machines (only ``names`` when given) into ``store``; idempotent."""
    bundle = read_bundle(data, passphrase)
    wanted = bundle.machines
    if names:
        unknown = sorted(set(names) - set(wanted))
        if unknown:
            raise StoreError(
                "The bundle does not hold %s; it holds %s. Check option 'names'." % (", ".join(unknown), ", ".join(wanted)),
                option="names",
            )
        wanted = [n for n in wanted if n in set(names)]
    report = ImportReport(machines=list(wanted), source_store=bundle.source_root, encrypted=bundle.encrypted)
    if passphrase is not None and not bundle.encrypted:
        report.warnings.append("The bundle is not encrypted; option 'passphrase' was not needed.")
    ca_state = _ca_state(store, bundle)
    plans, report.unchanged, warnings = _plan_all(store, bundle, wanted, ca_state)
    if plans and check_mode:
        report.ca_installed = ca_state == "none"
    elif plans:
        store.ensure_layout()
        with store.certs_lock():
            now_state = _ca_state(store, bundle)
            if (now_state == "different") != (ca_state == "different"):
                # Another process changed the certificates since we planned: plan again against them.
                ca_state = now_state
                plans, report.unchanged, warnings = _plan_all(store, bundle, wanted, ca_state)
            if now_state == "none":
                _install_certs(store, bundle)
                report.ca_installed = True
        for name in wanted:
            if name in plans:
                _install_machine(store, plans[name])
    if report.ca_installed and "certs/%s" % CA_KEY_FILE not in bundle.members:
        warnings.append(
            "The store's certificates came from the bundle without the CA key: server certificates cannot be "
            "re-issued and new machines cannot be created in %s until certs/%s is restored." % (store.root, CA_KEY_FILE)
        )
    report.imported = [n for n in wanted if n in plans]
    report.repointed = [n for n in report.imported if ca_state == "different"]
    report.warnings.extend(warnings)
    report.changed = bool(report.imported) or report.ca_installed
    return report


# --- Files (what the module calls) ------------------------------------------------------------------------


@dataclass
class ExportReport:
    path: str
    machines: list[str]
    changed: bool
    encrypted: bool
    includes_ca_key: bool
    previous_machines: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _read_file(path: str, what: str) -> bytes:
    try:
        size = os.path.getsize(path)
        if size > MAX_BUNDLE_BYTES:
            _refuse("%s is larger than %d MiB." % (path, MAX_BUNDLE_BYTES // 2**20), path=path)
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        raise StoreError("The %s %s does not exist. Check option 'path'." % (what, path), path=path, option="path") from None
    except OSError as exc:
        raise StoreError("Cannot read the %s %s: %s" % (what, path, exc.strerror), path=path, option="path") from exc


def export_to_file(
    store: MachineStore,
    path: str,
    names: t.Sequence[str] | None = None,
    *,
    include_ca_key: bool = False,
    passphrase: str | None = None,
    check_mode: bool = False,
    now: datetime | None = None,
) -> ExportReport:
    """Write the bundle to ``path`` (0600, atomically) unless it already holds the same machines and files."""
    _check_passphrase(passphrase)
    path = os.path.abspath(os.path.expanduser(path))
    archive, fresh, warnings = _build(store, names, include_ca_key, now)
    report = ExportReport(
        path=path, machines=fresh.machines, changed=True, encrypted=passphrase is not None, includes_ca_key=include_ca_key, warnings=warnings
    )
    if passphrase is None:
        report.warnings.append(
            "The bundle %s holds private keys (TLS, SSH%s) unencrypted; set option 'passphrase' to encrypt it."
            % (path, ", and the CA key that can sign certificates for every machine" if include_ca_key else "")
        )
    if os.path.exists(path):
        try:
            existing_data = _read_file(path, "bundle")
            existing = None
            if is_encrypted(existing_data) == (passphrase is not None):
                existing = read_bundle(existing_data, passphrase)
        except StoreError:
            existing = None  # unreadable, another passphrase, or not a bundle: it is replaced
        if existing is not None:
            report.previous_machines = existing.machines
            report.changed = existing.content_key() != fresh.content_key()
        if not report.changed and os.stat(path).st_mode & 0o777 != BUNDLE_FILE_MODE:
            report.changed = True
            if not check_mode:
                os.chmod(path, BUNDLE_FILE_MODE)
            return report
    if report.changed and not check_mode:
        data = _encrypt(archive, passphrase) if passphrase is not None else archive
        try:
            atomic_write(path, data, BUNDLE_FILE_MODE)
        except OSError as exc:
            raise StoreError("Cannot write the bundle %s: %s" % (path, exc.strerror), path=path, option="path") from exc
    return report


def import_from_file(
    store: MachineStore,
    path: str,
    names: t.Sequence[str] | None = None,
    *,
    passphrase: str | None = None,
    check_mode: bool = False,
) -> ImportReport:
    path = os.path.abspath(os.path.expanduser(path))
    report = import_bundle(store, _read_file(path, "bundle"), names=names, passphrase=passphrase, check_mode=check_mode)
    report.path = path
    return report
