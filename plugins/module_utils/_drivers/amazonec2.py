# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module_util is internal to dockyard.machine; its API may change without notice.
"""AWS EC2 instances (docker-machine's ``amazonec2`` driver): the class face, with its capability flags, options,
record fields, state and power; the work is in amazonec2_create.py, amazonec2_remove.py and amazonec2_lookup.py.

Credentials come from the task's standard AWS options or the standard chain at call time (aws_access.py);
the plain-text keys old stores hold are never used or shown, and none are written.

A create records each cloud resource in the store before it makes the next one (the key pair's and the
security group's names, the launch's client token, then their IDs), so a create that dies at any step
leaves a record from which ``absent`` removes all of them, and from which a second run resumes.
"""

from __future__ import annotations

import ipaddress
import os
import re
import typing as t

from ansible_collections.dockyard.machine.plugins.module_utils._drivers.amazonec2_create import (
    ENGINE_PORT,
    PORT_SPEC,
    USER_DATA_LIMIT,
    ensure_instance,
    wait_running,
)
from ansible_collections.dockyard.machine.plugins.module_utils._drivers.amazonec2_launch import CANONICAL, OWNER_TAG, launch_error
from ansible_collections.dockyard.machine.plugins.module_utils._drivers.amazonec2_lookup import (
    address_of,
    describe_instance,
    live_instance,
    machine_endpoint,
    region_of,
    wait_for,
)
from ansible_collections.dockyard.machine.plugins.module_utils._drivers.amazonec2_remove import (
    ORIGINAL_SECURITY_GROUP,
    cloud_resources,
    remove_cloud_resources,
)
from ansible_collections.dockyard.machine.plugins.module_utils._drivers.aws_access import DEFAULT_REGION, AwsAccess, require_sdk, task_option_spec
from ansible_collections.dockyard.machine.plugins.module_utils._drivers.base import Driver, HostContext, base_fields
from ansible_collections.dockyard.machine.plugins.module_utils._drivers.options import PAIRS, DriverOption, defaults, from_fields, to_fields
from ansible_collections.dockyard.machine.plugins.module_utils._errors import DriverError
from ansible_collections.dockyard.machine.plugins.module_utils._sidecar import SidecarKey

if t.TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.dockyard.machine.plugins.module_utils._store import MachineRecord

__all__ = ["AmazonEC2Driver", "ORIGINAL_SECURITY_GROUP", "OWNER_TAG"]


# The original's environment variable for --amazonec2-endpoint.
ENDPOINT_ENV = "AWS_ENDPOINT"

# drivers/amazonec2: instance state name -> docker-machine state
_STATE_MAP = {
    "pending": "Starting",
    "running": "Running",
    "stopping": "Stopping",
    "shutting-down": "Stopping",
    "stopped": "Stopped",
    "terminated": "Error",
}

# What a create (or an adoption) keeps in the sidecar, each recorded before the next resource is made.
SIDECAR_KEYS = (
    # The name of the security group about to be made (found again by it when the reply was lost), then its ID.
    SidecarKey("PendingSecurityGroup", re.compile(r"[A-Za-z0-9 ._:/()#,@\[\]+=&;{}!$*-]{1,255}"), "a security group name"),
    SidecarKey("CreatedSecurityGroups", [re.compile(r"sg-[0-9a-f]{1,64}")], "a security group ID"),
    # The launch's client token (at most 64 ASCII characters): a launch whose reply was lost is found by it.
    SidecarKey("ClientToken", re.compile(r"[!-~]{1,64}"), "an EC2 client token"),
    SidecarKey("ElasticIp", {"AllocationId": re.compile(r"eipalloc-[0-9a-f]{1,64}"), "PublicIp": str}, "an Elastic IP's allocation ID and address"),
    SidecarKey("Adopted", re.compile(r"i-[0-9a-f]{1,64}"), "an EC2 instance ID"),
)


class AmazonEC2Driver(Driver):
    name = "amazonec2"
    needs_ssh = True
    supports_power = True
    has_cloud_resources = True
    creates_hosts = True
    host_noun = "instance"
    create_step = "launch instance"
    default_engine_port = ENGINE_PORT
    # What a create learns from EC2: a converge keeps these from the record instead of the task's options.
    cloud_fields = (
        "IPAddress", "Region", "AMI", "KeyName", "ExistingKey", "InstanceId", "PrivateIPAddress", "SecurityGroupIds",
        "SecurityGroupNames", "SecurityGroupReadOnly", "VpcId", "SubnetId", "Zone", "DeviceName", "Endpoint", "SSHKeyPath", "InstanceType",
    )
    sidecar_keys = SIDECAR_KEYS

    # Mirrors --amazonec2-* (reference section 5.3) in the original's order, with better defaults, GitLab's fork's
    # metadata tokens and ours (elastic_ip, security_group_cidrs, adoption); documented in doc_fragments/_drivers.py.
    OPTIONS = (
        DriverOption(
            "ami", flag="amazonec2-ami", env="AWS_AMI", help="AWS machine image (default: the newest Ubuntu LTS, looked up now)", field="AMI"
        ),
        DriverOption("ami_owners", type="list", default=(CANONICAL,)),
        DriverOption("vpc_id", flag="amazonec2-vpc-id", env="AWS_VPC_ID", help="AWS VPC id", field="VpcId"),
        DriverOption("zone", default="a", flag="amazonec2-zone", env="AWS_ZONE", help="AWS zone for instance (i.e. a,b,c,d,e)", field="Zone"),
        DriverOption("subnet_id", flag="amazonec2-subnet-id", env="AWS_SUBNET_ID", help="AWS VPC subnet id", field="SubnetId"),
        DriverOption(
            "security_groups",
            type="list",
            default=(),
            flag="amazonec2-security-group",
            help="Existing AWS security groups to use, never changed (default: one of the machine's own)",
        ),
        DriverOption(
            "security_group_cidrs",
            type="list",
            default=("0.0.0.0/0",),
            flag="amazonec2-security-group-cidr",
            help="Source CIDR blocks of the machine's own security group (default 0.0.0.0/0)",
        ),
        DriverOption("open_ports", type="list", default=(), flag="amazonec2-open-port", help="Make the specified port number accessible from the Internet"),
        DriverOption(
            "tags", type="dict", default={}, flag="amazonec2-tags", env="AWS_TAGS", help="AWS Tags (e.g. key1,value1,key2,value2)", field="Tags", codec=PAIRS
        ),
        DriverOption(
            "instance_type", default="t3.micro", flag="amazonec2-instance-type", env="AWS_INSTANCE_TYPE", help="AWS instance type", field="InstanceType"
        ),
        DriverOption(
            "device_name", flag="amazonec2-device-name", env="AWS_DEVICE_NAME", help="AWS root device name (default: the image's)", field="DeviceName"
        ),
        DriverOption("root_size", type="int", default=16, flag="amazonec2-root-size", env="AWS_ROOT_SIZE", help="AWS root disk size (in GB)", field="RootSize"),
        DriverOption("volume_type", default="gp3", flag="amazonec2-volume-type", env="AWS_VOLUME_TYPE", help="Amazon EBS volume type", field="VolumeType"),
        DriverOption(
            "iam_instance_profile",
            flag="amazonec2-iam-instance-profile",
            env="AWS_INSTANCE_PROFILE",
            help="AWS IAM Instance Profile",
            field="IamInstanceProfile",
        ),
        DriverOption("ssh_user", default="ubuntu", flag="amazonec2-ssh-user", env="AWS_SSH_USER", help="Set the name of the ssh user", field="SSHUser"),
        DriverOption("ssh_port", type="int", default=22, flag="amazonec2-ssh-port", env="AWS_SSH_PORT", help="Set the ssh port", field="SSHPort"),
        DriverOption(
            "ssh_keypath", type="path", flag="amazonec2-ssh-keypath", env="AWS_SSH_KEYPATH", help="SSH Key for Instance", field="SSHPrivateKeyPath"
        ),
        DriverOption(
            "keypair_name", flag="amazonec2-keypair-name", env="AWS_KEYPAIR_NAME", help="AWS keypair to use; requires --amazonec2-ssh-keypath"
        ),
        DriverOption("key_type", default="ed25519", choices=("ed25519", "rsa")),
        DriverOption(
            "request_spot_instance",
            type="bool",
            default=False,
            flag="amazonec2-request-spot-instance",
            help="Set this flag to request spot instance",
            field="RequestSpotInstance",
        ),
        DriverOption("spot_price", flag="amazonec2-spot-price", help="AWS spot instance bid price (in dollar)", field="SpotPrice"),
        DriverOption(
            "private_address_only",
            type="bool",
            default=False,
            flag="amazonec2-private-address-only",
            help="Only use a private IP address",
            field="PrivateIPOnly",
        ),
        DriverOption(
            "use_private_address",
            type="bool",
            default=False,
            flag="amazonec2-use-private-address",
            help="Force the usage of private IP address",
            field="UsePrivateIP",
        ),
        DriverOption(
            "monitoring", type="bool", default=False, flag="amazonec2-monitoring", help="Set this flag to enable CloudWatch monitoring", field="Monitoring"
        ),
        DriverOption(
            "use_ebs_optimized_instance",
            type="bool",
            default=False,
            flag="amazonec2-use-ebs-optimized-instance",
            help="Create an EBS optimized instance",
            field="UseEbsOptimizedInstance",
        ),
        DriverOption(
            "elastic_ip",
            type="bool",
            default=False,
            flag="amazonec2-elastic-ip",
            help="Give the machine an Elastic IP: its address and certificate never change",
        ),
        DriverOption(
            "user_data", type="path", flag="amazonec2-userdata", env="AWS_USERDATA", help="path to file with cloud-init user data", field="UserDataFile"
        ),
        # GitLab's fork's flags (its Runner's docker+machine configurations pass them): real options.
        DriverOption(
            "metadata_tokens",
            default="required",
            choices=("required", "optional"),
            flag="amazonec2-metadata-token",
            help="Whether the metadata token is required or optional (IMDSv2)",
        ),
        DriverOption(
            "metadata_hop_limit",
            type="int",
            default=1,
            flag="amazonec2-metadata-token-response-hop-limit",
            help="The number of network hops that the metadata token can travel (1 to 64; containers need 2)",
        ),
        # The original's flags that change nothing here: accepted so that its command lines run; docs say why.
        DriverOption(
            "security_group_readonly",
            type="bool",
            default=False,
            flag="amazonec2-security-group-readonly",
            env="AWS_SECURITY_GROUP_READONLY",
            help="Skip adding default rules to security groups: always so for groups named with --amazonec2-security-group (needs one)",
        ),
        DriverOption(
            "insecure_transport",
            type="bool",
            default=False,
            flag="amazonec2-insecure-transport",
            env="AWS_INSECURE_TRANSPORT",
            help="Disable SSL when sending requests: the http:// of --amazonec2-endpoint does it (an https:// one is refused)",
            field="DisableSSL",
        ),
        DriverOption(
            "retries",
            type="int",
            default=5,
            flag="amazonec2-retries",
            help="Set retry count for recoverable failures (recorded; calls EC2 throttles back off 5 times whatever it says)",
            field="RetryCount",
        ),
        DriverOption(
            "block_duration_minutes",
            type="int",
            default=0,
            flag="amazonec2-block-duration-minutes",
            help="AWS spot instance duration in minutes (60, 120, 180, 240, 300, or 360; recorded: EC2 ended Spot blocks)",
            field="BlockDurationMinutes",
        ),
        DriverOption("proxy_jump"),
        DriverOption("ssh_config", type="path"),
        DriverOption("instance_id"),
        DriverOption("adopt", type="bool", default=False),
    )

    def __init__(self, cloud_options: t.Mapping[str, t.Any] | None = None) -> None:
        super().__init__(cloud_options)
        options = dict(cloud_options or {})
        if not options.get("endpoint_url"):
            # What names no endpoint (the command line's commands after create, the inventory's live_state) takes the
            # original's variable for --amazonec2-endpoint from its environment, as create does.
            options["endpoint_url"] = os.environ.get(ENDPOINT_ENV) or None
        self.access = AwsAccess(options)

    # The standard AWS options at the task's top level (as every amazon.aws module takes them, so module_defaults of
    # group/amazon.aws.aws supply them), with the original's flags; the command line holds the keys in memory only.
    TASK_OPTIONS = (
        DriverOption("access_key", flag="amazonec2-access-key", env="AWS_ACCESS_KEY_ID", help="AWS Access Key", secret=True),
        DriverOption("secret_key", flag="amazonec2-secret-key", env="AWS_SECRET_ACCESS_KEY", help="AWS Secret Key", secret=True),
        DriverOption("session_token", flag="amazonec2-session-token", env="AWS_SESSION_TOKEN", help="AWS Session Token", secret=True),
        DriverOption("region", default=DEFAULT_REGION, flag="amazonec2-region", env="AWS_DEFAULT_REGION", help="AWS region"),
        DriverOption(
            "endpoint_url", flag="amazonec2-endpoint", env=ENDPOINT_ENV, help="Optional endpoint URL (hostname only or fully qualified URI)"
        ),
    )
    DEFAULTS_GROUPS = ("group/amazon.aws.aws",)

    @classmethod
    def task_option_spec(cls) -> dict[str, t.Any]:
        """amazon.aws's own spec of these options (aliases, environment fallbacks, no_log) and the rest of its standard ones."""
        return task_option_spec()

    # -- reading records ----------------------------------------------------------------------------

    def engine_port(self, record: MachineRecord) -> int:
        return ENGINE_PORT  # fixed in the original: no option

    def endpoint(self, record: MachineRecord) -> str:
        """The EC2 endpoint of the machine: the task's, which must be the one its record names, if any
        (amazonec2_lookup.machine_endpoint); empty for AWS's regional one."""
        return machine_endpoint(record, self.access.endpoint, "endpoint_url", " (on the command line, %s)" % ENDPOINT_ENV) or ""

    def client(self, record: MachineRecord, timeout: float, *, retries: bool = False) -> t.Any:
        """An EC2 client for the machine's region and endpoint, with the task's credentials."""
        return self.access.ec2(region_of(record), self.endpoint(record), timeout, retries=retries)

    def tags(self, record: MachineRecord) -> dict[str, str]:
        return PAIRS.decode(self.tag_text(record))

    def has_host(self, record: MachineRecord) -> bool:
        return bool(record.driver.get("InstanceId"))

    def state(self, record: MachineRecord, timeout: float) -> str:
        instance_id = record.driver.get("InstanceId")
        if not instance_id:
            return "Error"
        require_sdk()
        from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            instance = describe_instance(self.client(record, timeout), str(instance_id))
        except (AnsibleAWSError, BotoCoreError, ClientError) as exc:
            raise DriverError("Cannot read the state of EC2 instance %s: %s" % (instance_id, exc), machine=record.name) from exc
        if instance is None:
            return "Error"
        return _STATE_MAP.get(instance.get("State", {}).get("Name", ""), "Error")

    @staticmethod
    def address_of(record: MachineRecord, instance: t.Mapping[str, t.Any]) -> str:
        """The original's GetIP rule (amazonec2_lookup.address_of)."""
        return address_of(record, instance)

    # -- options and records ------------------------------------------------------------------------

    def validate(self, options: t.Mapping[str, t.Any] | None) -> dict[str, t.Any]:
        checked = super().validate(options)
        region, endpoint = self.access.region, self.access.endpoint
        if not endpoint:
            require_sdk()
            import boto3

            known = boto3.session.Session().get_available_regions("ec2")
            if region not in known:
                raise DriverError(
                    "Unknown AWS region %r: fix option region (for example us-east-1), or set option endpoint_url for a region "
                    "of another EC2-compatible cloud." % region,
                    option="region",
                )
        key = checked.get("ssh_keypath")
        if (checked.get("instance_id") or checked.get("adopt")) and not key:
            raise DriverError(
                "Adopting an existing instance needs amazonec2.ssh_keypath: the private key its key pair was made from (for a "
                "machine this collection made, the machine folder's id_rsa from a backup of the store).",
                option="amazonec2.ssh_keypath",
            )
        if checked.get("keypair_name") and not key:
            raise DriverError("Option amazonec2.keypair_name needs amazonec2.ssh_keypath, the private key of that key pair.", option="amazonec2.ssh_keypath")
        if key:
            if not os.path.isfile(key):
                raise DriverError('SSH key does not exist: "%s". Fix option amazonec2.ssh_keypath.' % key, option="amazonec2.ssh_keypath")
            if not (checked.get("keypair_name") or checked.get("instance_id") or checked.get("adopt")) and not os.path.isfile(key + ".pub"):
                raise DriverError(
                    'The public half "%s.pub" of amazonec2.ssh_keypath is missing: it is imported as the machine\'s key pair. '
                    "Create it (ssh-keygen -y -f KEY > KEY.pub) or set amazonec2.keypair_name." % key,
                    option="amazonec2.ssh_keypath",
                )
        for cidr in checked.get("security_group_cidrs") or []:
            try:
                ipaddress.ip_network(cidr)
            except ValueError:
                raise DriverError(
                    "%r is not a CIDR block: fix option amazonec2.security_group_cidrs." % cidr, option="amazonec2.security_group_cidrs"
                ) from None
        for port in checked.get("open_ports") or []:
            match = PORT_SPEC.match(str(port))
            if not match or not 0 < int(match.group(1)) < 65536:
                raise DriverError("%r is not PORT or PORT/PROTOCOL (tcp, udp): fix option amazonec2.open_ports." % port, option="amazonec2.open_ports")
        for key, value in (checked.get("tags") or {}).items():
            # The record keeps tags as the original's "key,value,key,value" text: a comma would make other tags of it.
            if "," in str(key) or "," in str(value):
                raise DriverError(
                    "Tag %r=%r holds a comma, which the record's key,value,key,value form cannot keep apart from the next tag: "
                    "fix option amazonec2.tags." % (key, value),
                    option="amazonec2.tags",
                )
            if key in ("Name", OWNER_TAG):
                raise DriverError(
                    "Tag %r is the machine's own (every create tags what it makes Name=NAME and %s=NAME): remove it from "
                    "option amazonec2.tags." % (key, OWNER_TAG),
                    option="amazonec2.tags",
                )
        user_data = checked.get("user_data")
        if user_data and (not os.path.isfile(user_data) or os.path.getsize(user_data) > USER_DATA_LIMIT):
            raise DriverError(
                'User data "%s" must be a file of at most 16 KiB: fix option amazonec2.user_data.' % user_data, option="amazonec2.user_data"
            )
        if checked.get("spot_price"):
            try:
                float(checked["spot_price"])
            except ValueError:
                raise DriverError(
                    "%r is not a price in US dollars: fix option amazonec2.spot_price." % checked["spot_price"], option="amazonec2.spot_price"
                ) from None
        if int(checked.get("root_size") or 0) < 1:
            raise DriverError("amazonec2.root_size is in GiB and must be at least 1.", option="amazonec2.root_size")
        self._check_compat_options(checked, endpoint)
        return checked

    @staticmethod
    def _check_compat_options(checked: t.Mapping[str, t.Any], endpoint: str) -> None:
        """The metadata options EC2 takes, and the original's options that change nothing here used as it allowed them."""
        hops = checked.get("metadata_hop_limit")
        if hops is not None and not 1 <= int(hops) <= 64:
            raise DriverError("Option amazonec2.metadata_hop_limit is from 1 to 64 (EC2's range), not %s." % hops, option="amazonec2.metadata_hop_limit")
        if checked.get("security_group_readonly") and not checked.get("security_groups"):
            raise DriverError(
                "Option amazonec2.security_group_readonly keeps existing groups as they are: name them with option "
                "amazonec2.security_groups (named groups are never changed). Without them the machine gets a group of its own, "
                "which needs its rules.",
                option="amazonec2.security_groups",
            )
        if checked.get("insecure_transport") and endpoint and not endpoint.startswith("http://"):
            raise DriverError(
                "Option amazonec2.insecure_transport asks for a custom endpoint reached without TLS: set option endpoint_url to its "
                "http:// URL (the URL's scheme decides; AWS's own endpoints always use TLS).",
                option="endpoint_url",
            )
        retries = checked.get("retries")
        if retries is not None and int(retries) < -1:
            raise DriverError("Option amazonec2.retries is -1 (none) or more, not %s." % retries, option="amazonec2.retries")
        minutes = checked.get("block_duration_minutes")
        if minutes and int(minutes) not in (60, 120, 180, 240, 300, 360):
            raise DriverError(
                "Option amazonec2.block_duration_minutes is 60, 120, 180, 240, 300 or 360 (or 0), not %s." % minutes,
                option="amazonec2.block_duration_minutes",
            )

    def driver_section(self, name: str, root: str, options: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
        fields = to_fields(self.OPTIONS, options)
        section = base_fields(
            name,
            root,
            ssh_user=fields["SSHUser"],
            ssh_port=int(fields["SSHPort"]),
            ssh_key_path=os.path.join(root, "machines", name, "id_rsa") if fields["SSHPrivateKeyPath"] else "",
        )
        # The original's field order; the plain copies come from the declarations (fields), the rest are the driver's.
        groups = list(options.get("security_groups") or [])
        own = {
            "Id": "",
            "AccessKey": "",
            "SecretKey": "",
            "SessionToken": "",
            "Region": self.access.region,
            "AMI": None,
            "SSHKeyID": 0,
            "ExistingKey": bool(options.get("keypair_name")),
            "KeyName": options.get("keypair_name") or "",
            "InstanceId": "",
            "InstanceType": None,
            "PrivateIPAddress": "",
            "SecurityGroupId": "",
            "SecurityGroupIds": [],
            "SecurityGroupName": "",
            "SecurityGroupNames": groups,
            "SecurityGroupReadOnly": bool(groups),
            "OpenPorts": list(options.get("open_ports") or []) or None,
            "Tags": None,
            "ReservationId": "",
            "DeviceName": None,
            "RootSize": None,
            "VolumeType": None,
            "IamInstanceProfile": None,
            "VpcId": None,
            "SubnetId": None,
            "Zone": None,
            "RequestSpotInstance": None,
            "SpotPrice": None,
            "BlockDurationMinutes": 0,
            "PrivateIPOnly": None,
            "UsePrivateIP": None,
            "UseEbsOptimizedInstance": None,
            "Monitoring": None,
            "SSHPrivateKeyPath": None,
            "RetryCount": 5,
            "Endpoint": self.access.endpoint,
            "DisableSSL": False,
            "UserDataFile": None,
        }
        section.update(own)
        section.update(fields)
        return section

    def local_files(self, name: str, root: str, options: t.Mapping[str, t.Any]) -> dict[str, tuple[str, int]]:
        key = options.get("ssh_keypath")
        if not key:
            return {}
        copy = os.path.join(root, "machines", name, "id_rsa")  # the original's name, whatever the key's type
        files = {copy: (key, 0o600)}
        if os.path.isfile(key + ".pub"):
            files[copy + ".pub"] = (key + ".pub", 0o600)
        return files

    def recorded_options(self, record: MachineRecord) -> dict[str, t.Any]:
        d = record.driver
        options = defaults(self.OPTIONS)
        options.update(from_fields(self.OPTIONS, d))
        # The copy in the machine folder (id_rsa) of the key the create was given; never the path the record names.
        key = record.ssh_key_path if options["ssh_keypath"] and record.ssh_key_path and os.path.isfile(record.ssh_key_path) else options["ssh_keypath"]
        options.update(
            {
                "security_groups": [] if not d.get("SecurityGroupReadOnly") else list(d.get("SecurityGroupNames") or []),
                "open_ports": list(d.get("OpenPorts") or []),
                "elastic_ip": bool(record.sidecar.get("ElasticIp")),
                "ssh_keypath": key or None,
                "keypair_name": d.get("KeyName") if d.get("ExistingKey") else None,
                "proxy_jump": record.sidecar.get("ProxyJump") or None,
                "ssh_config": None,
            }
        )
        return options

    # -- create and converge ------------------------------------------------------------------------

    def ensure_host(self, record: MachineRecord, options: t.Mapping[str, t.Any], context: HostContext) -> list[str]:
        """Bring the machine's instance to running, creating what is missing, each resource recorded before the next
        (amazonec2_create.py); returns the steps taken."""
        return ensure_instance(self.client(record, min(context.timeout, 60), retries=True), record, options, context)

    # -- power --------------------------------------------------------------------------------------

    def power(self, record: MachineRecord, action: str, timeout: float, *, force: bool = False) -> bool:
        """``start``, ``stop`` or ``restart`` the instance and wait for it; False when it already was so.

        The record's address is refreshed after a start (the caller re-issues the certificate when it changed).
        """
        instance_id = str(record.driver.get("InstanceId") or "")
        if not instance_id:
            raise DriverError(
                "Machine %s has no EC2 instance in its record: create it first (state=present)." % record.name, machine=record.name, option="state"
            )
        client = self.client(record, min(timeout, 60), retries=True)
        state = live_instance(client, record, "%s instance" % action)["State"]["Name"]
        if (action == "start" and state in ("running", "pending")) or (action == "stop" and state in ("stopped", "stopping") and not force):
            changed = False
            if action == "start" and state == "pending":
                wait_running(client, record, instance_id, timeout)
        else:
            self._run_power(client, record, action, timeout, force=force)
            changed = True
        if action != "stop":
            current = describe_instance(client, instance_id) or {}
            address = address_of(record, current)
            if address:
                record.driver["IPAddress"], record.driver["PrivateIPAddress"] = address, str(current.get("PrivateIpAddress") or "")
        return changed

    def _run_power(self, client: t.Any, record: MachineRecord, action: str, timeout: float, *, force: bool = False) -> None:
        from botocore.exceptions import WaiterError

        instance_id = str(record.driver["InstanceId"])
        step = "%s instance" % action
        try:
            if action == "start":
                client.start_instances(InstanceIds=[instance_id])
                wait_for(client, "instance_running", instance_id, timeout)
            elif action == "stop":
                client.stop_instances(InstanceIds=[instance_id], Force=force)
                wait_for(client, "instance_stopped", instance_id, timeout)
            else:
                client.reboot_instances(InstanceIds=[instance_id])
        except WaiterError as exc:
            raise DriverError(
                "EC2 instance %s of machine %s did not finish '%s' within %d s: run again, or raise option timeout."
                % (instance_id, record.name, action, timeout),
                machine=record.name,
                step=step,
                option="timeout",
            ) from exc
        except Exception as exc:
            raise launch_error(record.name, step, exc) from exc

    # -- cloud resources ----------------------------------------------------------------------------

    def cloud_resources(self, record: MachineRecord) -> list[str]:
        return cloud_resources(record)

    def remove_cloud_resources(self, record: MachineRecord, timeout: float) -> list[str]:
        """Remove what the create made, never what the user named (amazonec2_remove.py)."""
        self.endpoint(record)  # a record naming another endpoint is refused as that, before anything is asked
        return remove_cloud_resources(lambda: self.client(record, min(timeout, 30.0)), record, timeout)
