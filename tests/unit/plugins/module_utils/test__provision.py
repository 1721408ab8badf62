"""Provisioning over SSH, driven by command transcripts (the host side is a fake at the SSH seam)."""

from __future__ import annotations

import pytest

from ansible_collections.dockyard.machine.plugins.module_utils._daemon_config import DaemonConfig
from ansible_collections.dockyard.machine.plugins.module_utils._errors import ProvisionError, SSHError
from ansible_collections.dockyard.machine.plugins.module_utils._provision import (
    EngineInstall,
    Provisioner,
    ProvisionRequest,
    install_script,
    parse_os_release,
)
from ansible_collections.dockyard.machine.plugins.module_utils._ssh import SSHSession, SSHTarget
from ansible_collections.dockyard.machine.tests.unit.plugins.module_utils.fakes import Step, TranscriptRunner

BOOKWORM = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n'
SECRET_KEY = b"-----BEGIN RSA PRIVATE KEY-----\nsecret-material\n-----END RSA PRIVATE KEY-----\n"
REQUEST = ProvisionRequest(
    ca_pem=b"CA", server_cert_pem=b"CERT", server_key_pem=SECRET_KEY, daemon=DaemonConfig(provider="generic"),
    install=EngineInstall(source="distro"),
)
TARGET = SSHTarget(host="127.0.0.1", alias="dockyard-machine-t", user="admin")


def _fresh_host() -> list[Step]:
    return [
        Step(r"^cat /etc/os-release$", stdout=BOOKWORM),
        Step(r"cloud-init status --wait"),
        Step(r"command -v dockerd", rc=1),
        Step(r"apt_retry install -y docker\.io \$\(apt-cache show docker-cli"),
        Step(r"\[ -x /usr/bin/dockerd \]", stdout="link\n"),
        Step(r"ln -sf /usr/sbin/dockerd /usr/bin/dockerd"),
        Step(r"cat /etc/docker/daemon\.json", stdout=""),
        Step(r"mv -f \"\$tmp\" /etc/docker/ca\.pem", stdout="written\n"),
        Step(r"/etc/docker/server\.pem", stdout="written\n"),
        Step(r"chmod 600 .*/etc/docker/server-key\.pem", stdout="written\n"),
        Step(r"/etc/systemd/system/docker\.service\.d/10-machine\.conf", stdout="written\n"),
        Step(r"/etc/docker/daemon\.json", stdout="written\n"),
        Step(r"systemctl is-active --quiet docker\.service", rc=3),
        Step(r"systemctl daemon-reload; .*systemctl restart docker\.service"),
    ]


def test_fresh_debian_host_gets_engine_certs_config_and_a_restart():
    runner = TranscriptRunner(_fresh_host())
    with SSHSession(TARGET, runner=runner) as session:
        report = Provisioner(session).provision(REQUEST)
    assert runner.finished()
    assert report.os.family == "debian"
    assert report.changed_steps == ["install engine", "dockerd path", "server certificates", "daemon configuration", "restart engine"]
    # Every command ran through sudo for a non-root user.
    assert all(argv[-1].startswith("sudo -n sh -c ") for argv, dummy in runner.calls)


def test_no_secret_on_any_command_line():
    runner = TranscriptRunner(_fresh_host())
    with SSHSession(TARGET, runner=runner) as session:
        Provisioner(session).provision(REQUEST)
    assert not any(b"secret-material" in " ".join(argv).encode() for argv, dummy in runner.calls)
    assert any(stdin == SECRET_KEY for dummy, stdin in runner.calls)


def test_second_run_changes_nothing():
    runner = TranscriptRunner(
        [
            Step(r"^cat /etc/os-release$", stdout=BOOKWORM),
            Step(r"cloud-init"),
            Step(r"command -v dockerd"),
            Step(r"\[ -x /usr/bin/dockerd \]", stdout="present\n"),
            Step(r"cat /etc/docker/daemon\.json", stdout='{\n  "live-restore": true\n}\n'),
            *[Step(r"echo unchanged", stdout="unchanged\n") for dummy in range(5)],
            Step(r"systemctl is-active --quiet docker\.service"),
        ]
    )
    with SSHSession(TARGET, runner=runner) as session:
        report = Provisioner(session).provision(REQUEST)
    assert runner.finished()
    assert report.changed_steps == [] and not report.changed


def test_check_mode_only_reads():
    runner = TranscriptRunner(
        [
            Step(r"^cat /etc/os-release$", stdout=BOOKWORM),
            Step(r"cloud-init"),
            Step(r"command -v dockerd", rc=1),
            Step(r"cat /etc/docker/daemon\.json", stdout=""),
            *[Step(r"^if \[ -f .*sha256sum") for dummy in range(5)],
            Step(r"systemctl is-active", rc=3),
        ]
    )
    with SSHSession(TARGET, runner=runner) as session:
        report = Provisioner(session, check_mode=True).provision(REQUEST)
    assert runner.finished()
    assert report.changed_steps == ["install engine", "server certificates", "daemon configuration", "restart engine"]
    assert not any(word in script for script in runner.scripts() for word in ("apt_retry", "mv -f", "systemctl restart", "ln -sf"))


def test_unknown_os_is_a_clear_error():
    runner = TranscriptRunner([Step(r"os-release", stdout='ID=plan9\nPRETTY_NAME="Plan 9"\n')])
    with SSHSession(TARGET, runner=runner) as session, pytest.raises(ProvisionError) as info:
        Provisioner(session).provision(REQUEST)
    assert "OS type not recognized: Plan 9" in info.value.msg and info.value.step == "detect operating system"


def test_engine_missing_with_install_disabled():
    runner = TranscriptRunner([Step(r"os-release", stdout=BOOKWORM), Step(r"cloud-init"), Step(r"command -v dockerd", rc=1)])
    request = ProvisionRequest(
        ca_pem=b"", server_cert_pem=b"", server_key_pem=b"", daemon=DaemonConfig(provider="generic"), install=EngineInstall(enabled=False)
    )
    with SSHSession(TARGET, runner=runner) as session, pytest.raises(ProvisionError, match="engine.install"):
        Provisioner(session).provision(request)


def test_a_failed_step_carries_step_command_rc_and_output():
    steps = _fresh_host()[:3] + [Step(r"apt_retry", rc=100, stdout="", stderr="E: Unable to locate package docker.io")]
    with SSHSession(TARGET, runner=TranscriptRunner(steps)) as session, pytest.raises(SSHError) as info:
        Provisioner(session).provision(REQUEST)
    error = info.value
    assert error.step == "install engine (distro)"
    assert error.details["rc"] == 100 and "Unable to locate package" in error.details["stderr"]
    assert "apt_retry install -y docker.io" in error.details["cmd"]
    assert "exit code 100" in error.msg


def test_a_running_engine_is_reloaded_before_the_restart():
    """live-restore is switched on by a reload first, so the restart keeps running containers."""
    steps = _fresh_host()
    steps[-2] = Step(r"systemctl is-active --quiet docker\.service", rc=0)
    steps.insert(-1, Step(r"^systemctl reload docker\.service"))
    runner = TranscriptRunner(steps)
    with SSHSession(TARGET, runner=runner) as session:
        Provisioner(session).provision(REQUEST)
    assert runner.finished()


def test_an_engine_that_does_not_start_reports_its_journal():
    steps = _fresh_host()[:-1] + [
        Step(r"systemctl restart docker\.service", rc=1, stderr="Job for docker.service failed"),
        Step(r"journalctl -u docker\.service", stdout="unable to configure the Docker daemon with file /etc/docker/daemon.json"),
    ]
    with SSHSession(TARGET, runner=TranscriptRunner(steps)) as session, pytest.raises(ProvisionError) as info:
        Provisioner(session).provision(REQUEST)
    assert info.value.step == "restart engine"
    assert "unable to configure the Docker daemon" in info.value.msg


def test_host_key_mismatch_names_the_fix():
    runner = TranscriptRunner([Step(r"^true$", rc=255, stderr="Host key verification failed.")])
    pinned = SSHTarget(host="127.0.0.1", alias="dockyard-machine-t", pinned_host_keys=("ssh-ed25519 AAAA",))
    with SSHSession(pinned, runner=runner) as session, pytest.raises(SSHError) as info:
        session.wait_until_reachable(5)
    assert "ssh_host_key_reset" in info.value.msg
    argv = runner.calls[0][0]
    assert "StrictHostKeyChecking=yes" in argv and "HostKeyAlias=dockyard-machine-t" in argv


@pytest.mark.parametrize(
    "source,needle",
    [("distro", "apt_retry install -y 'docker.io=26.1*'"), ("docker", "docker-ce=5:26.1*"), ("script", "VERSION=26.1 sh -s")],
)
def test_install_scripts_pin_the_version(source, needle):
    script = install_script(parse_os_release(BOOKWORM), EngineInstall(source=source, version="26.1"))
    assert needle in script


def test_os_release_family_detection():
    assert parse_os_release('ID=ubuntu\nVERSION_ID="24.04"\n').family == "debian"
    assert parse_os_release('ID="rocky"\nID_LIKE="rhel centos fedora"\n').family == "rhel"
    assert parse_os_release("ID=amzn\n").family == "rhel"
    assert parse_os_release("ID=alpine\n").family == ""


ROCKY = 'ID="rocky"\nID_LIKE="rhel centos fedora"\nVERSION_ID="9.4"\n'


@pytest.mark.parametrize("os_release", [BOOKWORM, ROCKY])
@pytest.mark.parametrize("source", ["docker", "distro", "script"])
@pytest.mark.parametrize("version", ["1.0; touch /x", "26.1 && reboot", "$(id)", "26.1\n", "`id`", "1'2"])
def test_a_version_with_shell_characters_is_refused(os_release, source, version):
    with pytest.raises(ProvisionError) as info:
        install_script(parse_os_release(os_release), EngineInstall(source=source, version=version))
    assert info.value.details["option"] == "engine.version" and "engine.version" in info.value.msg


def test_rhel_docker_install_pins_the_version_as_one_word():
    script = install_script(parse_os_release(ROCKY), EngineInstall(source="docker", version="3:26.1.4-1.el9"))
    assert "dnf install -y docker-ce-3:26.1.4-1.el9 docker-ce-cli-3:26.1.4-1.el9 containerd.io" in script


def test_a_bad_engine_value_is_refused_before_anything_runs_on_the_host():
    runner = TranscriptRunner([])
    request = ProvisionRequest(
        ca_pem=b"CA", server_cert_pem=b"CERT", server_key_pem=SECRET_KEY, daemon=DaemonConfig(provider="generic", labels=("a=b\nExecStartPre=/bin/id",)),
    )
    with SSHSession(TARGET, runner=runner) as session:
        with pytest.raises(ProvisionError) as info:
            Provisioner(session).provision(request)
    assert runner.calls == [] and info.value.details["option"] == "engine.labels"


def _upgrade_steps(before: str, after: str) -> list[Step]:
    return [
        Step(r"^cat /etc/os-release$", stdout=BOOKWORM),
        Step(r"cloud-init status --wait"),
        Step(r"exec \$d --version", stdout=before),
        Step(r"apt_retry install -y 'docker\.io=20\.10\*' \$\(apt-cache show docker-cli"),
        Step(r"exec \$d --version", stdout=after),
        Step(r"\[ -x /usr/bin/dockerd \]", stdout="present\n"),
        Step(r"systemctl daemon-reload; .*systemctl restart docker\.service"),
    ]


def test_upgrade_installs_from_the_recorded_source_within_the_pin_then_restarts():
    """docker-machine upgrade (issue 16 item 9): the same install source and version pin as create, then a restart."""
    runner = TranscriptRunner(_upgrade_steps("Docker version 20.10.5+dfsg1, build 55c4c88\n", "Docker version 20.10.24+dfsg1, build 297e128\n"))
    with SSHSession(TARGET, runner=runner) as session:
        report, before, after = Provisioner(session).upgrade_engine(EngineInstall(source="distro", version="20.10"))
    assert runner.finished()
    assert report.changed_steps == ["upgrade engine", "restart engine"]
    assert (before, after) == ("Docker version 20.10.5+dfsg1, build 55c4c88", "Docker version 20.10.24+dfsg1, build 297e128")
    # An engine already at the newest version is restarted all the same, as the original does; nothing else changes.
    same = "Docker version 20.10.24+dfsg1, build 297e128\n"
    runner = TranscriptRunner(_upgrade_steps(same, same))
    with SSHSession(TARGET, runner=runner) as session:
        report, before, after = Provisioner(session).upgrade_engine(EngineInstall(source="distro", version="20.10"))
    assert runner.finished() and report.changed_steps == ["restart engine"] and before == after


def test_upgrade_refuses_a_host_without_the_engine_or_an_engine_that_is_not_ours_to_install():
    runner = TranscriptRunner([Step(r"^cat /etc/os-release$", stdout=BOOKWORM), Step(r"cloud-init status --wait"), Step(r"exec \$d --version")])
    with SSHSession(TARGET, runner=runner) as session:
        with pytest.raises(ProvisionError, match="Docker is not installed on the host: provision the machine first"):
            Provisioner(session).upgrade_engine(EngineInstall(source="distro"))
    runner = TranscriptRunner([Step(r"^cat /etc/os-release$", stdout=BOOKWORM)])
    with SSHSession(TARGET, runner=runner) as session:
        with pytest.raises(ProvisionError, match="engine.install is false") as caught:
            Provisioner(session).upgrade_engine(EngineInstall(enabled=False))
    assert caught.value.details["option"] == "engine.install" and runner.finished()


def test_rhel_upgrades_ask_dnf_and_yum_to_upgrade():
    rhel = parse_os_release('ID="rocky"\nID_LIKE="rhel centos fedora"\nVERSION_ID="9.4"\n')
    for source in ("docker", "distro"):
        script = install_script(rhel, EngineInstall(source=source, version="26.1.4"), upgrade=True)
        assert "dnf upgrade -y" in script and "yum update -y" in script and "dnf install -y" not in script, script
        assert "dnf install -y" in install_script(rhel, EngineInstall(source=source))
