"""What AWX / Tower does around a job, for end-to-end tests: credential injection, inventory updates and the
ansible-runner private data dir of a job template launch.

- Credential types (awx/credential_types/*.yml) are checked against the rules AWX applies when one is saved
  (field ids and types, ``required`` naming fields, injector templates naming only fields or the files the type
  writes, no reserved environment variables), then injected the way AWX injects them: each ``file`` template
  rendered into a file of its own with a random name, ``env`` and ``extra_vars`` rendered with
  ``tower.filename`` / ``awx.filename`` naming those files.
- An inventory update runs ``ansible-inventory --list --export`` on the source file, through ansible-runner,
  from the project folder (AWX's working folder for a source from a project); its output is what AWX stores.
- A job's private data dir holds ``env/envvars``, ``env/extravars`` (survey answers and credential variables),
  ``inventory/hosts`` (the stored inventory as the executable script AWX writes) and ``project/``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import sys
import tempfile
import typing as t
from dataclasses import dataclass, field
from pathlib import Path

import ansible_runner
import yaml
from jinja2 import meta as jinja_meta
from jinja2.sandbox import ImmutableSandboxedEnvironment

REPO = Path(__file__).resolve().parents[2]
CREDENTIAL_TYPES = REPO / "awx" / "credential_types"
FIELD_TYPES = ("string", "boolean")
FIELD_KEYS = {"id", "label", "type", "secret", "multiline", "format", "choices", "help_text", "default", "ask_at_runtime"}
# Environment variables AWX refuses in a credential type's env injector (ANSIBLE_* and those it sets itself).
RESERVED_ENV = re.compile(r"^(ANSIBLE_.*|PATH|HOME|JOB_ID|INVENTORY_ID|PROJECT_REVISION|MAX_EVENT_RES|AWX_HOST|TOWER_HOST|PYTHONPATH|CALLBACK_.*)$")
IDENTIFIER = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


class CredentialTypeError(ValueError):
    """A credential type AWX would refuse."""


@dataclass
class Injection:
    """What a credential puts into a job: environment variables, extra variables, files."""

    env: dict[str, str] = field(default_factory=dict)
    extra_vars: dict[str, t.Any] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)


def load_credential_type(name: str) -> dict[str, t.Any]:
    return yaml.safe_load((CREDENTIAL_TYPES / name).read_text())


def _template_names(source: str) -> set[str]:
    env = ImmutableSandboxedEnvironment()
    return jinja_meta.find_undeclared_variables(env.parse(source))


def check_credential_type(definition: dict[str, t.Any]) -> None:
    """Raise CredentialTypeError where AWX would refuse ``definition``."""
    for key in ("name", "kind", "inputs", "injectors"):
        if key not in definition:
            raise CredentialTypeError("no %s" % key)
    if definition["kind"] not in ("cloud", "net"):
        raise CredentialTypeError("kind must be cloud or net (custom types), not %r" % definition["kind"])
    fields = definition["inputs"].get("fields", [])
    ids = [f.get("id") for f in fields]
    for item in fields:
        unknown = set(item) - FIELD_KEYS
        if unknown:
            raise CredentialTypeError("field %s: unknown keys %s" % (item.get("id"), sorted(unknown)))
        if not IDENTIFIER.match(str(item.get("id", ""))) or not item.get("label"):
            raise CredentialTypeError("field %r needs an identifier id and a label" % item)
        if item.get("type", "string") not in FIELD_TYPES:
            raise CredentialTypeError("field %s: type %s" % (item["id"], item.get("type")))
        if item.get("type") == "boolean" and (item.get("secret") or item.get("multiline")):
            raise CredentialTypeError("field %s: a boolean is neither secret nor multiline" % item["id"])
    if len(set(ids)) != len(ids):
        raise CredentialTypeError("duplicate field ids")
    missing = set(definition["inputs"].get("required", [])) - set(ids)
    if missing:
        raise CredentialTypeError("required names no field: %s" % sorted(missing))
    injectors = definition["injectors"]
    unknown = set(injectors) - {"file", "env", "extra_vars"}
    if unknown:
        raise CredentialTypeError("unknown injectors %s" % sorted(unknown))
    file_names = set()
    for key in injectors.get("file", {}):
        if key != "template" and not re.match(r"^template\.[a-zA-Z_][a-zA-Z0-9_]*$", key):
            raise CredentialTypeError("file injector %s: template or template.NAME" % key)
        file_names.add(key)
    for name in injectors.get("env", {}):
        if not IDENTIFIER.match(name) or RESERVED_ENV.match(name):
            raise CredentialTypeError("env injector %s is not allowed" % name)
    for name in injectors.get("extra_vars", {}):
        if not IDENTIFIER.match(name):
            raise CredentialTypeError("extra_vars injector %s is not an identifier" % name)
    allowed = set(ids) | {"tower", "awx"}
    for kind in ("file", "env", "extra_vars"):
        for key, source in injectors.get(kind, {}).items():
            undeclared = _template_names(str(source)) - allowed
            if undeclared:
                raise CredentialTypeError("%s injector %s names undefined %s" % (kind, key, sorted(undeclared)))
            for ref in re.findall(r"(?:tower|awx)\.filename(?:\.([a-zA-Z_][a-zA-Z0-9_]*))?", str(source)):
                wanted = "template.%s" % ref if ref else "template"
                if wanted not in file_names:
                    raise CredentialTypeError("%s injector %s names file %s that no file injector writes" % (kind, key, wanted))


SURVEY_TYPES = ("text", "textarea", "password", "integer", "float", "multiplechoice", "multiselect")


def check_survey(survey: dict[str, t.Any]) -> list[str]:
    """Raise ValueError where AWX would refuse ``survey`` as a job template's survey_spec; its variables."""
    if not isinstance(survey.get("name"), str) or not isinstance(survey.get("description"), str) or not isinstance(survey.get("spec"), list):
        raise ValueError("a survey has a name, a description and a spec list")
    variables = []
    for question in survey["spec"]:
        where = question.get("variable")
        for key in ("question_name", "variable", "type", "required"):
            if key not in question:
                raise ValueError("question %s: no %s" % (where, key))
        if not IDENTIFIER.match(question["variable"]) or question["type"] not in SURVEY_TYPES or not isinstance(question["required"], bool):
            raise ValueError("question %s: variable, type or required" % where)
        if question["type"] in ("multiplechoice", "multiselect"):
            choices = question.get("choices")
            if not isinstance(choices, list) or not choices:
                raise ValueError("question %s: choices" % where)
            if "default" in question and question["default"] not in choices:
                raise ValueError("question %s: default %r is no choice" % (where, question["default"]))
        for bound in ("min", "max"):
            if bound in question and not isinstance(question[bound], int):
                raise ValueError("question %s: %s" % (where, bound))
        if question["type"] == "integer" and "default" in question and not question.get("min", 0) <= question["default"] <= question.get("max", 10 ** 9):
            raise ValueError("question %s: default out of bounds" % where)
        variables.append(question["variable"])
    if len(set(variables)) != len(variables):
        raise ValueError("a variable is asked twice")
    return variables


def inject(definition: dict[str, t.Any], inputs: dict[str, t.Any], directory: Path) -> Injection:
    """Render ``definition``'s injectors with ``inputs`` as AWX does; files go to ``directory``."""
    check_credential_type(definition)
    fields = {f["id"]: f for f in definition["inputs"].get("fields", [])}
    for name in definition["inputs"].get("required", []):
        if inputs.get(name) in (None, ""):
            raise CredentialTypeError("input %s is required" % name)
    values = {name: inputs.get(name, "" if f.get("type", "string") == "string" else False) for name, f in fields.items()}
    env = ImmutableSandboxedEnvironment(keep_trailing_newline=True)
    injection = Injection()
    filenames: dict[str, str] = {}
    directory.mkdir(parents=True, exist_ok=True)
    for key, source in definition["injectors"].get("file", {}).items():
        handle, path = tempfile.mkstemp(dir=directory)
        with os.fdopen(handle, "w") as out:
            out.write(env.from_string(source).render(**values))
        os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
        filenames[key] = path
        injection.files[key] = Path(path)
    single = filenames.get("template")
    named = {key.split(".", 1)[1]: path for key, path in filenames.items() if key != "template"}
    namespace = dict(values, tower={"filename": single or named}, awx={"filename": single or named})
    for name, source in definition["injectors"].get("env", {}).items():
        injection.env[name] = env.from_string(source).render(**namespace)
    for name, source in definition["injectors"].get("extra_vars", {}).items():
        injection.extra_vars[name] = env.from_string(source).render(**namespace)
    return injection


def aws_credential(access_key: str, secret_key: str, security_token: str = "") -> Injection:
    """What AWX's built-in "Amazon Web Services" credential injects: environment variables only."""
    env = {"AWS_ACCESS_KEY_ID": access_key, "AWS_SECRET_ACCESS_KEY": secret_key}
    if security_token:
        env.update(AWS_SECURITY_TOKEN=security_token, AWS_SESSION_TOKEN=security_token)
    return Injection(env=env)


def project_checkout(dest: Path) -> Path:
    """The project as AWX checks it out: this repository's playbooks and awx folders."""
    for folder in ("playbooks", "awx"):
        shutil.copytree(REPO / folder, dest / folder, symlinks=True)
    return dest


def runner_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment AWX gives a job (on top of the EE's): our collections and color off."""
    env = {"ANSIBLE_COLLECTIONS_PATH": os.environ.get("ANSIBLE_COLLECTIONS_PATH", ""), "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_CONFIG": os.environ.get("ANSIBLE_CONFIG", "")}
    env.update(extra or {})
    return env


def inventory_update(source: str, project: Path, work: Path, envvars: dict[str, str]) -> dict[str, t.Any]:
    """An inventory source from a project (``source_path``), updated: the inventory AWX stores."""
    work.mkdir(parents=True, exist_ok=True)
    # As AWX does: the listing goes to a file (the command's output holds the warnings too).
    listing = work / "inventory.json"
    out, err, rc = ansible_runner.run_command(
        executable_cmd="ansible-inventory",
        cmdline_args=["-i", str(project / source), "--list", "--export", "--output", str(listing)],
        private_data_dir=str(work),
        host_cwd=str(project),
        envvars=runner_env(envvars),
        quiet=True,
    )
    if rc != 0:
        raise AssertionError("inventory update failed (rc %s):\n%s\n%s" % (rc, out, err))
    return json.loads(listing.read_text())


def plain(value: t.Any) -> t.Any:
    """An exported inventory's values without the wrappers ansible-inventory's legacy profile writes
    (``{"__ansible_unsafe": VALUE}``, ``{"__ansible_vault": ...}``), for assertions."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return plain(value["__ansible_unsafe"])
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def write_inventory_script(directory: Path, inventory: dict[str, t.Any]) -> Path:
    """The stored inventory as the executable script AWX puts in a job's inventory folder."""
    directory.mkdir(parents=True, exist_ok=True)
    script = directory / "hosts"
    script.write_text("#!%s\nimport json\nprint(json.dumps(%r))\n" % (sys.executable, json.loads(json.dumps(inventory))))
    script.chmod(0o700)
    return script


def job(private_data_dir: Path, project: Path, playbook: str, inventory: dict[str, t.Any], extravars: dict[str, t.Any],
        envvars: dict[str, str], ident: str) -> ansible_runner.Runner:
    """A job template launch: the private data dir written, then ansible-runner run on it."""
    env_dir = private_data_dir / "env"
    env_dir.mkdir(parents=True, exist_ok=True)
    (env_dir / "envvars").write_text(yaml.safe_dump(runner_env(envvars)))
    (env_dir / "extravars").write_text(yaml.safe_dump(extravars))
    (env_dir / "settings").write_text(yaml.safe_dump({"job_timeout": 900, "suppress_ansible_output": True}))
    inventory_dir = private_data_dir / "inventory"
    shutil.rmtree(inventory_dir, ignore_errors=True)
    write_inventory_script(inventory_dir, inventory)
    if not (private_data_dir / "project").exists():
        shutil.copytree(project, private_data_dir / "project", symlinks=True)
    return ansible_runner.run(private_data_dir=str(private_data_dir), playbook=playbook, ident=ident, quiet=True)


def recap(runner: ansible_runner.Runner) -> dict[str, dict[str, int]]:
    """The play recap, per host: ``{host: {ok, changed, failures, ...}}``."""
    stats = runner.stats or {}
    hosts: dict[str, dict[str, int]] = {}
    for counter, per_host in stats.items():
        if isinstance(per_host, dict):
            for host, count in per_host.items():
                hosts.setdefault(host, {})[counter] = count
    return hosts


def events(private_data_dir: Path, ident: str) -> list[dict[str, t.Any]]:
    """The job's events as AWX receives them (artifacts/IDENT/job_events/*.json), in order."""
    folder = private_data_dir / "artifacts" / ident / "job_events"
    loaded = [json.loads(p.read_text()) for p in folder.glob("*.json")]
    return sorted(loaded, key=lambda e: e.get("counter", 0))
