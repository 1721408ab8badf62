# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``create`` builds the params docker_machine would receive: the module's own argument spec accepts them unchanged."""

from __future__ import annotations

import io
import time
import typing as t
from pathlib import Path

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.dockyard.machine.plugins.module_utils._common import STORE_ARGS
from ansible_collections.dockyard.machine.plugins.module_utils._drivers import DRIVERS, add_driver_options, cloud_options
from ansible_collections.dockyard.machine.plugins.module_utils._errors import DriverError
from ansible_collections.dockyard.machine.plugins.module_utils._machine import MachineManager
from ansible_collections.dockyard.machine.plugins.module_utils._spec import SPEC_ARGS, MachineSpec
from ansible_collections.dockyard.machine.plugins.module_utils._store import MachineStore
from ansible_collections.dockyard.machine.plugins.plugin_utils import _cli, _cli_create
from ansible_collections.dockyard.machine.plugins.plugin_utils._cli_flags import HELP_FLAG, parse_flags
from ansible_collections.dockyard.machine.plugins.plugin_utils._cli_messages import CLIError
from ansible_collections.dockyard.machine.tests.support.tls_engine import free_loopback_port

# Flags a create of each driver needs, plus a few that are not defaults.
ARGS = {
    "generic": ["--generic-ip-address", "192.0.2.7", "--generic-ssh-user", "admin", "--generic-ssh-port", "2222"],
    "none": ["--url", "tcp://192.0.2.8:2376"],
    "amazonec2": ["--amazonec2-region", "eu-west-1", "--amazonec2-tags", "team,web,env,prod", "--amazonec2-open-port", "8080", "--amazonec2-elastic-ip"],
    "digitalocean": ["--digitalocean-region", "fra1", "--digitalocean-backups"],
}


def _module_spec() -> dict[str, t.Any]:
    return add_driver_options(
        dict(
            STORE_ARGS,
            name=dict(type="str", required=True),
            state=dict(type="str", choices=["present", "absent", "started", "stopped", "restarted"], default="present"),
            cleanup=dict(type="bool", default=False),
            force=dict(type="bool", default=False),
            **SPEC_ARGS,
        )
    )


def _params(driver: str, args: t.Sequence[str]) -> dict[str, t.Any]:
    flags = _cli_create.CREATE_FLAGS + _cli_create.driver_flags(driver) + (HELP_FLAG,)
    opts, rest = parse_flags(flags, ["-d", driver, *args, "m1"], {})
    return _cli_create._create_params(rest[0], driver, opts)


@pytest.mark.parametrize("driver", [d for d in ARGS if d in DRIVERS])
def test_the_params_of_a_create_are_the_ones_the_module_would_have(driver: str) -> None:
    params = _params(driver, ARGS[driver])
    result = ArgumentSpecValidator(_module_spec()).validate(dict(params))
    assert not result.error_messages
    validated = result.validated_parameters
    assert validated[driver] == params[driver], "every driver option filled as the module fills it"
    assert MachineSpec.from_params(validated) == MachineSpec.from_params(params)
    for option in DRIVERS[driver].TASK_OPTIONS:
        assert params.get(option.name) == validated.get(option.name)


def test_a_flag_value_the_driver_s_codec_cannot_read_names_the_flag() -> None:
    with pytest.raises(CLIError) as info:
        _params("amazonec2", ["--amazonec2-tags", "team,web,odd"])
    assert info.value.message == "Error setting machine configuration from flags provided: --amazonec2-tags takes key,value pairs (an even count)"


def test_tags_and_defaults_from_the_declarations() -> None:
    params = _params("amazonec2", ARGS["amazonec2"])
    options = params["amazonec2"]
    assert options["tags"] == {"team": "web", "env": "prod"} and options["open_ports"] == ["8080"] and options["elastic_ip"] is True
    assert options["instance_type"] == "t3.micro" and options["security_group_cidrs"] == ["0.0.0.0/0"]
    assert params["region"] == "eu-west-1"


# --- create's help without a driver (the original's default driver is built into it) ------------


def _cli_run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    environ = {"HOME": "/nonexistent-home", "MACHINE_STORAGE_PATH": "/nonexistent-store"}
    environ.update(env or {})
    code = _cli.main(["dockyard-machine", *args], environ=environ, stdout=out, stderr=err, stdin=io.StringIO())
    return code, out.getvalue(), err.getvalue()


def _help_flags(text: str) -> list[str]:
    """The flag names of a help text's option lines, in their order."""
    return [line.split()[0].rstrip(",") for line in text.split("Options:\n", 1)[1].splitlines() if line.strip().startswith("-")]


@pytest.mark.parametrize("word", ["--help", "-h"])
def test_create_help_without_a_driver_prints_create_s_help(word: str) -> None:
    code, out, err = _cli_run("create", word)
    assert (code, err) == (0, "")
    assert out.startswith("Usage: dockyard-machine create [OPTIONS] [arg...]\n\nCreate a machine\n\nDescription:\n")
    flags = _help_flags(out)
    # create's own flags, sorted by name as the original sorts them once it knows the driver (--help is not listed).
    assert flags == sorted(flags)
    assert set(flags) == {"--" + f.names[0] for f in _cli_create.CREATE_FLAGS}


def test_create_help_follows_the_driver_of_the_environment_and_of_d() -> None:
    code, out, _err = _cli_run("create", "--help", env={"MACHINE_DRIVER": "generic"})
    assert code == 0 and "--generic-ip-address" in _help_flags(out)
    code, out, _err = _cli_run("create", "-d", "none", "-h")
    flags = _help_flags(out)
    assert code == 0 and "--url" in flags and flags == sorted(flags)


def test_create_without_a_name_or_a_driver_prints_the_help_and_the_original_s_error() -> None:
    code, out, err = _cli_run("create")
    assert (code, err) == (1, "Error: No machine name specified\n")
    assert out.startswith("Usage: dockyard-machine create [OPTIONS] [arg...]") and "--driver, -d" in out


@pytest.mark.parametrize(
    ("args", "driver"), [(["create", "web1"], "virtualbox"), (["create", "-d", "foo", "--help"], "foo"), (["create", "--driver=foo", "web1"], "foo")]
)
def test_a_driver_that_is_not_offered_is_refused_by_name(args: list[str], driver: str) -> None:
    code, out, err = _cli_run(*args)
    assert code == 1 and out == ""
    assert err.startswith('Driver "%s" is not offered by dockyard-machine (amazonec2, digitalocean, generic, none); use -d generic' % driver)


# --- create -d none: the original records the engine at once -------------------------------------


@pytest.mark.parametrize("given", ["127.0.0.1:%d", "tcp://127.0.0.1:%d"])
def test_create_none_records_an_engine_that_is_not_up_yet_at_once(tmp_path: Path, given: str) -> None:
    port = free_loopback_port()  # nothing listens there
    store = tmp_path / "store"
    env = {"MACHINE_STORAGE_PATH": str(store)}
    started = time.monotonic()
    code, out, err = _cli_run("create", "-d", "none", "--url", given % port, "later1", env=env)
    assert (code, err) == (0, "") and time.monotonic() - started < 10
    assert out.splitlines()[2:] == [
        "Running pre-create checks...",
        "Creating machine...",
        "To see how to connect your Docker Client to the Docker Engine running on this virtual machine, run: dockyard-machine env later1",
    ]
    url = "tcp://127.0.0.1:%d" % port
    record = MachineStore(str(store)).load("later1")
    assert (record.driver["URL"], record.driver["IPAddress"], record.sidecar["Status"]) == (url, "127.0.0.1:%d" % port, "recorded")
    assert _cli_run("url", "later1", env=env) == (0, url + "\n", "")
    code, out, _err = _cli_run("ls", "--format", "{{.Name}} {{.DriverName}} {{.State}} {{.URL}}", env=env)
    assert (code, out) == (0, "later1 none Running %s\n" % url)
    code, out, err = _cli_run("env", "later1", env=env)
    assert code == 1 and out == "" and "127.0.0.1:%d" % port in err


def test_only_a_machine_without_a_host_of_ours_can_be_only_recorded(tmp_path: Path) -> None:
    manager = MachineManager(MachineStore(str(tmp_path / "store")))
    spec = MachineSpec(name="g1", driver="generic", driver_options={"ip_address": "127.0.0.1"})
    with pytest.raises(DriverError, match="cannot be only recorded"):
        manager.present(spec, reach_engine=False)
    assert not (tmp_path / "store" / "machines" / "g1").exists()


# --- GitLab Runner's docker+machine calls (helpers/docker/machine_command.go): `--opt=value` words -----------

# A runner configuration's MachineOptions as the runner passes them: "--" + each entry, then the name.
RUNNER_OPTIONS = [
    "--amazonec2-region=eu-central-1",
    "--amazonec2-vpc-id=vpc-1",
    "--amazonec2-subnet-id=subnet-1",
    "--amazonec2-zone=b",
    "--amazonec2-use-private-address=true",
    "--amazonec2-tags=runner-manager-name,r1,gitlab,true",
    "--amazonec2-security-group=ci-runners",
    "--amazonec2-security-group-readonly=true",
    "--amazonec2-instance-type=m5.large",
    "--amazonec2-request-spot-instance=true",
    "--amazonec2-spot-price=",
    "--amazonec2-block-duration-minutes=60",
    "--amazonec2-retries=10",
    "--amazonec2-metadata-token=required",
    "--amazonec2-metadata-token-response-hop-limit=2",
    "--amazonec2-insecure-transport=false",
]


def test_a_gitlab_runner_create_line_gives_the_module_s_params() -> None:
    flags = _cli_create.CREATE_FLAGS + _cli_create.driver_flags("amazonec2") + (HELP_FLAG,)
    opts, rest = parse_flags(flags, ["--driver", "amazonec2", *RUNNER_OPTIONS, "runner-abc-1"], {})
    assert rest == ["runner-abc-1"]
    params = _cli_create._create_params(rest[0], "amazonec2", opts)
    result = ArgumentSpecValidator(_module_spec()).validate(dict(params))
    assert not result.error_messages
    options = params["amazonec2"]
    assert (options["metadata_tokens"], options["metadata_hop_limit"]) == ("required", 2)
    assert (options["security_groups"], options["security_group_readonly"], options["insecure_transport"]) == (["ci-runners"], True, False)
    assert (options["retries"], options["block_duration_minutes"], options["spot_price"]) == (10, 60, None)
    driver = DRIVERS["amazonec2"](cloud_options(params))
    checked = driver.validate(options)
    section = driver.driver_section("runner-abc-1", "/store", checked)
    # The original's record fields for the options that change nothing here hold what was asked.
    assert (section["RetryCount"], section["BlockDurationMinutes"], section["DisableSSL"], section["SecurityGroupReadOnly"]) == (10, 60, False, True)


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--amazonec2-metadata-token=maybe"], 1, '--amazonec2-metadata-token is one of required, optional, not "maybe"'),
        (["--amazonec2-metadata-token-response-hop-limit=65"], 3, "flag --amazonec2-metadata-token-response-hop-limit is from 1 to 64"),
        (
            ["--amazonec2-security-group-readonly"],
            3,
            "flag --amazonec2-security-group-readonly keeps existing groups as they are: name them with flag --amazonec2-security-group",
        ),
        (["--amazonec2-insecure-transport", "--amazonec2-endpoint=https://ec2.example"], 3, "set flag --amazonec2-endpoint to its http:// URL"),
        (["--amazonec2-block-duration-minutes=45"], 3, "flag --amazonec2-block-duration-minutes is 60, 120, 180, 240, 300 or 360 (or 0), not 45"),
        (["--amazonec2-retries=-2"], 3, "flag --amazonec2-retries is -1 (none) or more, not -2"),
    ],
)
def test_the_runner_s_amazonec2_flags_refuse_what_they_cannot_mean(tmp_path: Path, args: list[str], code: int, message: str) -> None:
    env = {"MACHINE_STORAGE_PATH": str(tmp_path / "store"), "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    result = _cli_run("--bugsnag-api-token=no-report", "create", "--driver", "amazonec2", "--amazonec2-region=eu-central-1", *args, "r1", env=env)
    assert result[0] == code and message in result[2], result
    assert not (tmp_path / "store" / "machines").exists() or not any((tmp_path / "store" / "machines").iterdir())


def test_the_runner_s_global_crash_report_flag_is_accepted(tmp_path: Path) -> None:
    env = {"MACHINE_STORAGE_PATH": str(tmp_path / "store")}
    assert _cli_run("--bugsnag-api-token=no-report", "ls", "-q", env=env) == (0, "", "")
    assert _cli_run("--bugsnag-api-token", "no-report", "ls", "-q", env=env) == (0, "", "")


@pytest.mark.parametrize(
    ("driver", "flag", "env"),
    [("amazonec2", "amazonec2-secret-key", "AWS_SECRET_ACCESS_KEY"), ("digitalocean", "digitalocean-access-token", "DIGITALOCEAN_ACCESS_TOKEN")],
)
def test_a_secret_flag_says_others_can_read_it_and_names_its_environment_variable(driver: str, flag: str, env: str) -> None:
    """15.12: the help says so; given on the command line, a warning names the variable; from the environment, none."""
    _code, out, _err = _cli_run("create", "-d", driver, "--help")
    line = next(line for line in out.splitlines() if line.strip().startswith("--%s " % flag))
    assert line.endswith("(on a command line other users can read it, in ps and /proc/PID/cmdline: set the environment variable instead) [$%s]" % env)
    warning = "Warning: --%s on the command line can be read by other users of this computer (ps, /proc/PID/cmdline); set %s in the environment instead.\n" % (
        flag,
        env,
    )
    for given in (["--" + flag, "s3cret"], ["-%s=s3cret" % flag]):
        code, out, err = _cli_run("create", "-d", driver, *given)
        assert code == 1 and err == warning + "Error: No machine name specified\n"
    code, out, err = _cli_run("create", "-d", driver, env={env: "s3cret"})
    assert code == 1 and err == "Error: No machine name specified\n"
