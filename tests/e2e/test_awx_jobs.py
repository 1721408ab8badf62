"""AWX / Tower: the credential types, the inventory sources and job template launches, the way AWX runs them.

Jobs run through ansible-runner private data dirs (env/envvars, env/extravars with survey answers and the
credentials' variables, inventory/ with the inventory AWX stored from its last update, project/), against
machine containers of the test bed; the execution environment of awx/execution-environment.yml is built here
(tests/support/ee.py) and runs the same kind of jobs with nothing but its own contents.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from ansible_collections.dockyard.machine.tests.conftest import FIXTURE_STORE, copy_store
from ansible_collections.dockyard.machine.tests.e2e.conftest import REPO
from ansible_collections.dockyard.machine.tests.support import awx, bed, ee
from ansible_collections.dockyard.machine.tests.support.ec2_emulator import REGION, emulator

BASE_IMAGE = "role-webapp-base:1"
# This file's machines: loopback addresses 127.0.0.120-139, container names dockyard-awx-*.
DEPLOY_IP = "127.0.0.120"
EE_IP = "127.0.0.121"
WEB = {"services": {"web": {
    "image": BASE_IMAGE, "pull_policy": "never", "command": ["/bin/httpd", "-f", "-p", "8080", "-h", "/bin"],
    "healthcheck": {"test": ["CMD", "/bin/wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/busybox"], "interval": "2s", "retries": 15},
}}}


def survey_machines(name: str, ip: str, key: Path) -> str:
    """The provision survey's textarea answer: the machines as YAML text (AWX passes a string)."""
    return yaml.safe_dump([{"name": name, "ip_address": ip, "ssh_user": "root", "ssh_key": str(key)}])


def assert_successful(runner, pdd: Path, ident: str) -> dict[str, dict[str, int]]:
    """Status, rc and the artifacts AWX reads; the recap per host."""
    artifacts = pdd / "artifacts" / ident
    stdout = (artifacts / "stdout").read_text()
    assert runner.status == "successful" and runner.rc == 0, stdout[-6000:]
    assert (artifacts / "status").read_text() == "successful"
    assert (artifacts / "rc").read_text() == "0"
    recap = awx.recap(runner)
    assert recap and all(counts.get("failures", 0) == 0 and counts.get("dark", 0) == 0 for counts in recap.values()), recap
    stats = [e for e in awx.events(pdd, ident) if e.get("event") == "playbook_on_stats"]
    assert len(stats) == 1 and stats[0]["event_data"]["changed"] == runner.stats["changed"]
    assert "PLAY RECAP" in stdout
    return recap


@pytest.fixture(scope="module", autouse=True)
def ee_image(tmp_path_factory):
    """The EE image, built (when its contents changed: a minute or two) while the other tests of this file run."""
    def build() -> str:
        bed.ensure_images("trixie")
        return ee.ensure_ee(work=tmp_path_factory.mktemp("ee"))

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        yield pool.submit(build)


@pytest.fixture(autouse=True)
def _no_ca_bundle_override(monkeypatch):
    # requests lets these override a per-session CA file (psf/requests#3829); an EE has neither set.
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)


def changed(recap: dict[str, dict[str, int]], host: str) -> int:
    return recap[host].get("changed", 0)


def test_credential_types_pass_awx_rules_and_awx_awx_validation(tmp_path):
    definitions = sorted(awx.CREDENTIAL_TYPES.glob("*.yml"))
    assert [p.name for p in definitions] == ["digitalocean_token.yml", "docker_tls_endpoint.yml", "machine_store.yml"]
    for path in definitions:
        awx.check_credential_type(yaml.safe_load(path.read_text()))
    bad = yaml.safe_load((awx.CREDENTIAL_TYPES / "docker_tls_endpoint.yml").read_text())
    bad["injectors"]["env"] = {"ANSIBLE_HOST": "{{ docker_host }}"}
    with pytest.raises(awx.CredentialTypeError, match="ANSIBLE_HOST"):
        awx.check_credential_type(bad)
    bad["injectors"]["env"] = {"DOCKER_HOST": "{{ docker_url }}"}
    with pytest.raises(awx.CredentialTypeError, match="docker_url"):
        awx.check_credential_type(bad)
    # awx.awx.credential_type checks its arguments before it connects: with a controller address where nothing
    # listens, awx/setup.yml's import of each type gets as far as the connection (the injectors reach the module
    # untemplated, as AWX must store them).
    done = subprocess.run(["ansible-playbook", "awx/setup.yml"], capture_output=True, text=True, timeout=300, check=False, cwd=REPO,
                          env=dict(os.environ, ANSIBLE_NOCOLOR="1", CONTROLLER_HOST="https://127.0.0.1:9", CONTROLLER_USERNAME="admin",
                                   CONTROLLER_PASSWORD="unused", CONTROLLER_VERIFY_SSL="false"))
    failed = [line for line in done.stdout.splitlines() if line.startswith("failed: [localhost] (item=")]
    assert [line.split("(item=")[1].split(")")[0] for line in failed] == [p.name for p in definitions], done.stdout
    assert all("Connection refused" in line for line in failed), done.stdout


def test_surveys_ask_for_variables_their_playbooks_read():
    setup = yaml.safe_load((REPO / "awx" / "setup.yml").read_text())[0]
    templates = setup["vars"]["dockyard_awx_templates"]
    assert sorted(p.name for p in (REPO / "awx" / "surveys").glob("*.yml")) == sorted({f for tpl in templates for f in tpl["surveys"]})
    for template in templates:
        playbook = REPO / template["playbook"]
        imported = [playbook.parent / line.split(":", 1)[1].strip() for line in playbook.read_text().splitlines() if "import_playbook:" in line]
        text = "".join(p.read_text() for p in [playbook, *imported])
        for name in template["surveys"]:
            for variable in awx.check_survey(yaml.safe_load((REPO / "awx" / "surveys" / name).read_text())):
                assert variable in text, "%s asks for %s, which %s does not read" % (name, variable, template["playbook"])
    assert subprocess.run(["ansible-playbook", "--syntax-check", "awx/setup.yml"], cwd=REPO, capture_output=True, timeout=120, check=False).returncode == 0


def test_docker_tls_credential_reaches_the_engine_with_its_injected_files(engine_store, tmp_path):
    certs = engine_store.root / "certs"
    injected = awx.inject(awx.load_credential_type("docker_tls_endpoint.yml"), {
        "docker_host": engine_store.engine.url, "ca_cert": (certs / "ca.pem").read_text(),
        "client_cert": (certs / "cert.pem").read_text(), "client_key": (certs / "key.pem").read_text(),
    }, tmp_path / "pdd" / "env")
    # Three files, each of its own with a random name, and the variables naming them.
    assert sorted(injected.files) == ["template.ca", "template.cert", "template.key"]
    assert injected.extra_vars["dockyard_docker_ca_path"] == str(injected.files["template.ca"])
    assert injected.files["template.key"].read_text() == (certs / "key.pem").read_text()
    project = awx.project_checkout(tmp_path / "project")
    localhost = {"all": {"hosts": ["localhost"]}, "_meta": {"hostvars": {"localhost": {"ansible_connection": "local"}}}}
    runner = awx.job(tmp_path / "pdd", project, "awx/playbooks/engine_info.yml", localhost, injected.extra_vars, injected.env, "engine")
    assert_successful(runner, tmp_path / "pdd", "engine")
    assert "Docker " in (tmp_path / "pdd" / "artifacts" / "engine" / "stdout").read_text()


def test_deploy_job_twice_then_teardown_job_through_ansible_runner(bed_key, tmp_path):
    key, pub = bed_key
    bed.ensure_images("trixie-docker")
    subprocess.run(["bash", str(REPO / "tests/bed/webapp-base.sh"), BASE_IMAGE], check=True, capture_output=True, timeout=300)
    # The store's volume (the same path in every job and inventory update) with the key the machines authorize.
    volume = tmp_path / "volume"
    (volume / "keys").mkdir(parents=True)
    shutil.copy2(key, volume / "keys" / "id_ed25519")
    store = volume / "machine"
    project = awx.project_checkout(tmp_path / "project")
    store_cred = awx.inject(awx.load_credential_type("machine_store.yml"), {"store_path": str(store)}, tmp_path / "creds")
    assert store_cred.env == {"MACHINE_STORAGE_PATH": str(store)}
    source = "awx/inventory/credential.docker_machine.yml"
    survey_provision = {"provision_machines": survey_machines("awx-deploy", DEPLOY_IP, volume / "keys" / "id_ed25519"),
                        "provision_engine_source": "distro", "provision_engine_labels": "purpose=awx stage=e2e"}
    # The job template's own extra_vars (not a survey: a definition is no survey answer) and the survey's.
    deploy = dict(survey_provision, stack_name="web", stack_state="present", stack_images=[BASE_IMAGE], stack_definition=WEB)

    def launch(name: str, playbook: str, extravars: dict) -> dict[str, dict[str, int]]:
        # update_on_launch: the inventory source is updated first, then the job runs with what it stored.
        inventory = awx.inventory_update(source, project, tmp_path / ("update-" + name), store_cred.env)
        pdd = tmp_path / ("job-" + name)
        runner = awx.job(pdd, project, playbook, inventory, dict(extravars, **store_cred.extra_vars), store_cred.env, name)
        return assert_successful(runner, pdd, name)

    with bed.machine("awx-deploy", "trixie-docker", DEPLOY_IP, pub) as machine:
        # The first launch creates the machine; it becomes a host of the inventory at the next update.
        created = launch("provision", "playbooks/provision_generic.yml", survey_provision)
        assert changed(created, "localhost") == 1 and "awx-deploy" not in created
        assert (store / "machines" / "awx-deploy" / "config.json").is_file()

        first = launch("deploy-1", "playbooks/site.yml", deploy)
        assert changed(first, "awx-deploy") > 0 and changed(first, "localhost") == 0
        assert "web-web-1: Up" in (tmp_path / "job-deploy-1" / "artifacts" / "deploy-1" / "stdout").read_text()
        again = launch("deploy-2", "playbooks/site.yml", deploy)
        assert all(changed(again, host) == 0 for host in again), again
        assert sorted(again) == ["awx-deploy", "localhost"]
        ps = machine.exec("docker", "compose", "-p", "web", "ps", "--format", "json")
        (web,) = [json.loads(line) for line in ps.stdout.splitlines() if line.strip()]
        assert web["State"] == "running" and web["Health"] == "healthy"

        # The other ways a store reaches an inventory update: a folder of the project (relative to the project).
        project_store = tmp_path / "project-with-store"
        awx.project_checkout(project_store)
        shutil.copytree(store, project_store / "docker-machine")
        from_project = awx.inventory_update("awx/inventory/project.docker_machine.yml", project_store, tmp_path / "update-project", {})
        for listed in (from_project, awx.inventory_update(source, project, tmp_path / "update-cred", store_cred.env)):
            assert listed["docker_machine_generic"]["hosts"] == ["awx-deploy"]
            hostvars = awx.plain(listed["_meta"]["hostvars"]["awx-deploy"])
            assert hostvars["ansible_host"] == DEPLOY_IP and hostvars["docker_machine_docker"]["docker_host"] == "tcp://%s:2376" % DEPLOY_IP
        assert awx.plain(from_project["_meta"]["hostvars"]["awx-deploy"])["docker_machine_docker"]["ca_path"].startswith(str(project_store / "docker-machine"))
        assert "label_purpose_awx" not in from_project  # keyed groups are the volume example's

        # Teardown: survey answers are text (names separated by blanks).
        removed = launch("teardown", "playbooks/teardown.yml", {"teardown_machines": "awx-deploy", "teardown_stacks": "web", "teardown_cleanup": True})
        assert changed(removed, "awx-deploy") > 0 and changed(removed, "localhost") == 1
        assert not (store / "machines" / "awx-deploy").exists()
        assert machine.exec("docker", "ps", "-aq", "--filter", "label=com.docker.compose.project=web").stdout.strip() == ""
        assert machine.exec("test", "-e", "/etc/systemd/system/docker.service.d/10-machine.conf").returncode != 0
        after = awx.inventory_update(source, project, tmp_path / "update-after", store_cred.env)
        assert after["_meta"]["hostvars"] == {}


def test_teardown_job_with_the_aws_credential_removes_an_ec2_machine_and_its_resources(tmp_path, monkeypatch):
    # An EE knows no AWS credentials of its own: only what a job's credentials inject.
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    ee_env = {"AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"), "AWS_CONFIG_FILE": str(tmp_path / "none")}
    with emulator(tmp_path) as ec2:
        # The record names the emulator as its endpoint: a job passes the same (amazon.aws's AWS_URL) or is refused.
        ee_env["AWS_URL"] = ec2.url
        client = ec2.client()
        vpc = client.create_vpc(CidrBlock="127.0.0.0/16")["Vpc"]["VpcId"]
        subnet = client.create_subnet(VpcId=vpc, CidrBlock="127.0.5.0/28", AvailabilityZone=REGION + "a")["Subnet"]["SubnetId"]
        group = client.create_security_group(GroupName="docker-machine", Description="Docker Machine", VpcId=vpc)["GroupId"]
        client.import_key_pair(KeyName="aws-sandbox", PublicKeyMaterial=b"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHkXyJ3z8Oe3o6s1cJXcR0ZxGEN3yWmQf8D1hPrbu0aT t")
        instance = client.run_instances(ImageId="ami-1e749f67", MinCount=1, MaxCount=1, KeyName="aws-sandbox", SecurityGroupIds=[group],
                                        SubnetId=subnet)["Instances"][0]["InstanceId"]
        # The original tool's record of that machine, in the store on the volume.
        store = copy_store(FIXTURE_STORE, tmp_path / "volume" / "machine")
        for other in ("m1", "m2"):
            shutil.rmtree(store / "machines" / other)
        record = store / "machines" / "aws-sandbox" / "config.json"
        doc = json.loads(record.read_text())
        doc["Driver"].update(InstanceId=instance, KeyName="aws-sandbox", ExistingKey=False, SecurityGroupIds=[group], SecurityGroupNames=["docker-machine"],
                             VpcId=vpc, SubnetId=subnet, Region=REGION, Endpoint=ec2.url)
        record.write_text(json.dumps(doc, indent=4))
        project = awx.project_checkout(tmp_path / "project")
        store_cred = awx.inject(awx.load_credential_type("machine_store.yml"), {"store_path": str(store)}, tmp_path / "creds")
        inventory = awx.inventory_update("awx/inventory/credential.docker_machine.yml", project, tmp_path / "update", dict(ee_env, **store_cred.env))
        assert inventory["docker_machine_amazonec2"]["hosts"] == ["aws-sandbox"]
        survey = {"teardown_machines": "aws-sandbox"}

        # Without the AWS credential the job fails, names what is missing and removes nothing.
        pdd = tmp_path / "job-no-aws"
        refused = awx.job(pdd, project, "playbooks/teardown.yml", inventory, survey, dict(ee_env, **store_cred.env), "no-aws")
        assert refused.status == "failed" and record.is_file()
        assert "AWS_ACCESS_KEY_ID" in (pdd / "artifacts" / "no-aws" / "stdout").read_text()
        assert ec2.resources()["instances"] == [instance]

        # With it (access key, secret key and an STS token, as AWX injects them), the instance, its key pair and the
        # security group go with the record.
        aws = awx.aws_credential("testing", "testing", security_token="testing-token")
        assert set(aws.env) == {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SECURITY_TOKEN", "AWS_SESSION_TOKEN"}
        pdd = tmp_path / "job-teardown"
        removed = awx.job(pdd, project, "playbooks/teardown.yml", inventory, survey, dict(ee_env, **store_cred.env, **aws.env), "teardown")
        assert changed(assert_successful(removed, pdd, "teardown"), "localhost") == 1
        assert not (store / "machines" / "aws-sandbox").exists()
        assert ec2.resources() == {"instances": [], "key_pairs": [], "security_groups": [], "addresses": []}


def _ee_run(image: str, pdd: Path, volume: Path, *argv: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """A command in the EE as AWX starts one: the private data dir at /runner, the store's volume mounted."""
    return subprocess.run(["docker", "run", "--rm", "--network", "host", "-v", "%s:/runner" % pdd, "-v", "%s:/var/lib/dockyard" % volume,
                           "-w", "/runner/project", image, *argv], capture_output=True, text=True, timeout=timeout, check=False)


def test_execution_environment_builds_and_runs_jobs_on_its_own(bed_key, tmp_path, ee_image):
    key, pub = bed_key
    bed.ensure_images("trixie-docker")
    subprocess.run(["bash", str(REPO / "tests/bed/webapp-base.sh"), BASE_IMAGE], check=True, capture_output=True, timeout=300)
    # ansible-builder create: the context has our collection's Python and system packages from meta/.
    context = tmp_path / "context"
    ee.create_context(context)
    dockerfile = (context / "Dockerfile").read_text()
    assert "introspect" in dockerfile and "dockyard-docker-cli.sh" in dockerfile
    assert (context / "_build" / "requirements.yml").read_text() == (REPO / "awx/ee/requirements.yml").read_text()
    image = ee_image.result(timeout=1800)
    assert image == ee.ensure_ee(work=tmp_path)  # current now: the same hash, nothing built again
    # What builder's introspection collected from the collections (ours included) is installed in the image.
    listed = subprocess.run(["docker", "run", "--rm", image, "sh", "-c",
                             "ansible-galaxy collection list --format json; python3 -c 'import cryptography, boto3, docker, requests'; "
                             "ssh -V; docker --version; docker compose version"], capture_output=True, text=True, timeout=300, check=False)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    collections = json.loads(listed.stdout.splitlines()[0])["/usr/share/ansible/collections/ansible_collections"]
    assert {"dockyard.machine", "community.docker", "amazon.aws"} <= set(collections)

    volume = tmp_path / "volume"
    (volume / "keys").mkdir(parents=True)
    shutil.copy2(key, volume / "keys" / "id_ed25519")
    pdd = tmp_path / "pdd"
    awx.project_checkout(pdd / "project")
    # The EE runs as uid 1000, as in AWX.
    subprocess.run(["chown", "-R", "1000:0", str(volume), str(pdd)], check=True, timeout=60)
    with bed.machine("awx-ee", "trixie-docker", EE_IP, pub) as machine:
        # No registry, no controller engine in AWX: the stack's image is already on the machine.
        save = subprocess.Popen(["docker", "save", BASE_IMAGE], stdout=subprocess.PIPE)
        loaded = subprocess.run(["docker", "exec", "-i", machine.container, "docker", "load"], stdin=save.stdout, capture_output=True, timeout=300, check=False)
        assert save.wait(timeout=60) == 0 and loaded.returncode == 0, loaded.stderr

        def job(ident: str, playbook: str, extravars: dict) -> dict[str, dict[str, int]]:
            update = _ee_run(image, pdd, volume, "ansible-inventory", "-i", "awx/inventory/volume.docker_machine.yml", "--list", "--export")
            assert update.returncode == 0, update.stderr
            inventory = json.loads(update.stdout)
            (pdd / "env").mkdir(exist_ok=True)
            (pdd / "env" / "extravars").write_text(yaml.safe_dump(extravars))
            (pdd / "env" / "envvars").write_text(yaml.safe_dump({"ANSIBLE_NOCOLOR": "1"}))
            (pdd / "inventory").mkdir(exist_ok=True)
            (pdd / "inventory" / "hosts").write_text("#!/usr/bin/python3\nimport json\nprint(json.dumps(%r))\n" % inventory)
            (pdd / "inventory" / "hosts").chmod(0o755)
            subprocess.run(["chown", "-R", "1000:0", str(pdd)], check=True, timeout=60)
            done = _ee_run(image, pdd, volume, "ansible-runner", "run", "/runner", "-p", playbook, "--ident", ident)
            stdout = (pdd / "artifacts" / ident / "stdout").read_text() if (pdd / "artifacts" / ident / "stdout").exists() else ""
            assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:] + stdout[-6000:]
            assert (pdd / "artifacts" / ident / "status").read_text() == "successful"
            recap: dict[str, dict[str, int]] = {}
            for event in awx.events(pdd, ident):
                if event.get("event") == "playbook_on_stats":
                    for counter, per_host in event["event_data"].items():
                        if isinstance(per_host, dict):
                            for host, count in per_host.items():
                                recap.setdefault(host, {})[counter] = count
            return recap

        machines = survey_machines("awx-ee", EE_IP, Path("/var/lib/dockyard/keys/id_ed25519"))
        created = job("provision", "playbooks/provision_generic.yml", {"provision_machines": machines, "provision_store_path": "/var/lib/dockyard/machine"})
        assert created["localhost"]["changed"] == 1
        # Compose runs in the EE against the machine's TLS endpoint (the controller mode of compose_stack).
        stack = {"stack_name": "eeweb", "stack_mode": "controller", "stack_definition": WEB, "stack_hosts": "docker_machine_generic"}
        deployed = job("deploy", "playbooks/deploy_stack.yml", stack)
        assert deployed["awx-ee"]["changed"] > 0
        assert machine.exec("docker", "inspect", "-f", "{{.State.Health.Status}}", "eeweb-web-1").stdout.strip() == "healthy"
        again = job("deploy-2", "playbooks/deploy_stack.yml", stack)
        assert again["awx-ee"].get("changed", 0) == 0, again
