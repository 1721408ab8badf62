# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module_util is internal to dockyard.machine; its API may change without notice.
"""AWS EC2 instances (docker-machine's ``amazonec2`` driver): create, power, state and removal.

Credentials come from the task's standard AWS options or the standard chain at call time (aws_access.py);
the plain-text keys old stores hold are never used or shown, and none are written.

A create records each cloud resource in the store before it makes the next one (the key pair's and the
security group's names, the launch's client token, then their IDs), so a create that dies at any step
leaves a record from which ``absent`` removes all of them, and from which a second run resumes.
"""

from __future__ import annotations

import base64
import ipaddress
import os
import re
import secrets
import typing as t

from ansible_collections.dockyard.machine.plugins.module_utils._drivers.amazonec2_adopt import adopt_instance
from ansible_collections.dockyard.machine.plugins.module_utils._drivers.amazonec2_launch import (
    CANONICAL,
    LIVE_STATES,
    OWNER_TAG,
    LaunchError,
    find_ami,
    find_network,
    ingress_rules,
    launch_error,
    missing_rules,
)
from ansible_collections.dockyard.machine.plugins.module_utils._drivers.aws_access import (
    DEFAULT_REGION,
    AwsAccess,
    api_error_code,
    require_sdk,
    task_option_spec,
)
from ansible_collections.dockyard.machine.plugins.module_utils._drivers.base import Driver, HostContext, base_fields
from ansible_collections.dockyard.machine.plugins.module_utils._drivers.options import PAIRS, DriverOption, defaults, from_fields, to_fields
from ansible_collections.dockyard.machine.plugins.module_utils._errors import DriverError
from ansible_collections.dockyard.machine.plugins.module_utils._sidecar import SidecarKey

if t.TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.dockyard.machine.plugins.module_utils._store import MachineRecord

__all__ = ["AmazonEC2Driver", "ORIGINAL_SECURITY_GROUP", "OWNER_TAG"]

# The security group the original creates once per VPC and shares between its machines.
ORIGINAL_SECURITY_GROUP = "docker-machine"
# The original's fixed engine port (no option) and swarm-less rule set.
ENGINE_PORT = 2376
USER_DATA_LIMIT = 16 * 1024  # EC2's limit for user data before base64
_PORT = re.compile(r"^(\d{1,5})(?:/(tcp|udp))?$")

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
        DriverOption("metadata_tokens", default="required", choices=("required", "optional")),
        DriverOption("proxy_jump"),
        DriverOption("ssh_config", type="path"),
        DriverOption("instance_id"),
        DriverOption("adopt", type="bool", default=False),
    )

    def __init__(self, cloud_options: t.Mapping[str, t.Any] | None = None) -> None:
        super().__init__(cloud_options)
        self.access = AwsAccess(cloud_options)

    # The standard AWS options at the task's top level (as every amazon.aws module takes them, so module_defaults of
    # group/amazon.aws.aws supply them), with the original's flags; the command line holds the keys in memory only.
    TASK_OPTIONS = (
        DriverOption("access_key", flag="amazonec2-access-key", env="AWS_ACCESS_KEY_ID", help="AWS Access Key", secret=True),
        DriverOption("secret_key", flag="amazonec2-secret-key", env="AWS_SECRET_ACCESS_KEY", help="AWS Secret Key", secret=True),
        DriverOption("session_token", flag="amazonec2-session-token", env="AWS_SESSION_TOKEN", help="AWS Session Token", secret=True),
        DriverOption("region", default=DEFAULT_REGION, flag="amazonec2-region", env="AWS_DEFAULT_REGION", help="AWS region"),
        DriverOption(
            "endpoint_url", flag="amazonec2-endpoint", env="AWS_ENDPOINT", help="Optional endpoint URL (hostname only or fully qualified URI)"
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

    def _region(self, record: MachineRecord) -> str:
        return str(record.driver.get("Region") or DEFAULT_REGION)

    def client(self, record: MachineRecord, timeout: float, *, retries: bool = False) -> t.Any:
        """An EC2 client for the machine's region and endpoint (its record's), with the task's credentials."""
        return self.access.ec2(self._region(record), str(record.driver.get("Endpoint") or ""), timeout, retries=retries)

    def _describe(self, client: t.Any, record: MachineRecord, instance_id: str) -> dict[str, t.Any] | None:
        from botocore.exceptions import ClientError

        try:
            reply = client.describe_instances(InstanceIds=[instance_id])
        except ClientError as exc:
            if api_error_code(exc) == "InvalidInstanceID.NotFound":
                return None
            raise
        for reservation in reply.get("Reservations", []):
            for instance in reservation.get("Instances", []):
                return instance
        return None

    def _live_instance(self, client: t.Any, record: MachineRecord, step: str, remedy: str = "") -> dict[str, t.Any]:
        """The record's instance as EC2 describes it; an error naming ``step`` when it is gone or terminating."""
        instance_id = str(record.driver["InstanceId"])
        try:
            instance = self._describe(client, record, instance_id)
        except Exception as exc:
            raise launch_error(record.name, "read instance", exc) from exc
        state = (instance or {}).get("State", {}).get("Name", "terminated")
        if instance is None or state in ("terminated", "shutting-down"):
            raise DriverError(
                "EC2 instance %s of machine %s is %s: remove the machine (state=absent)%s."
                % (instance_id, record.name, "gone" if instance is None else state, remedy),
                machine=record.name,
                step=step,
                option="state",
            )
        return instance

    def tags(self, record: MachineRecord) -> dict[str, str]:
        return PAIRS.decode(self.tag_text(record))

    def has_host(self, record: MachineRecord) -> bool:
        return bool(record.driver.get("InstanceId"))

    def state(self, record: MachineRecord, timeout: float) -> str:
        instance_id = record.driver.get("InstanceId")
        if not instance_id:
            return "Error"
        require_sdk()
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            instance = self._describe(self.client(record, timeout), record, str(instance_id))
        except (BotoCoreError, ClientError) as exc:
            raise DriverError("Cannot read the state of EC2 instance %s: %s" % (instance_id, exc), machine=record.name) from exc
        if instance is None:
            return "Error"
        return _STATE_MAP.get(instance.get("State", {}).get("Name", ""), "Error")

    @staticmethod
    def address_of(record: MachineRecord, instance: t.Mapping[str, t.Any]) -> str:
        """The original's GetIP rule: the private address with private_address_only or use_private_address, else the
        public one (an Elastic IP when associated)."""
        if record.driver.get("PrivateIPOnly") or record.driver.get("UsePrivateIP"):
            return str(instance.get("PrivateIpAddress") or "")
        return str(instance.get("PublicIpAddress") or "")

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
            match = _PORT.match(str(port))
            if not match or not 0 < int(match.group(1)) < 65536:
                raise DriverError("%r is not PORT or PORT/PROTOCOL (tcp, udp): fix option amazonec2.open_ports." % port, option="amazonec2.open_ports")
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
        return checked

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
        key = options["ssh_keypath"]
        options.update(
            {
                "security_groups": [] if not d.get("SecurityGroupReadOnly") else list(d.get("SecurityGroupNames") or []),
                "open_ports": list(d.get("OpenPorts") or []),
                "elastic_ip": bool(record.sidecar.get("ElasticIp")),
                "ssh_keypath": key if key and os.path.isfile(key) else None,
                "keypair_name": d.get("KeyName") if d.get("ExistingKey") else None,
                "proxy_jump": record.sidecar.get("ProxyJump") or None,
                "ssh_config": None,
            }
        )
        return options

    # -- create and converge ------------------------------------------------------------------------

    def ensure_host(self, record: MachineRecord, options: t.Mapping[str, t.Any], context: HostContext) -> list[str]:
        """Bring the machine's instance to running, creating what is missing, each resource recorded before the next.

        Returns the steps taken. The record's address is the instance's current one afterwards (a machine whose
        address changed gets a new server certificate from the caller, which sees the SANs no longer match).
        """
        d = record.driver
        steps: list[str] = []
        client = self.client(record, min(context.timeout, 60), retries=True)
        if not d.get("InstanceId"):
            found = self._find_launched(client, record)  # a launch whose reply was lost
            if found:
                d["InstanceId"] = found
                context.save()
        if not d.get("InstanceId") and (options.get("instance_id") or options.get("adopt")):
            self._adopt(client, record, options, context, steps)
        if d.get("InstanceId"):
            instance = self._converge_instance(client, record, options, context, steps)
        else:
            instance = self._create(client, record, options, context, steps)
        address = self.address_of(record, instance)
        if not address:
            raise DriverError(
                "EC2 instance %s of machine %s has no %s address: set amazonec2.use_private_address to reach it on its private "
                "one, or launch it in a subnet that gives public addresses." % (d["InstanceId"], record.name, "public"),
                machine=record.name,
                step="read address",
                option="amazonec2.use_private_address",
            )
        if address != d.get("IPAddress") or instance.get("PrivateIpAddress", "") != d.get("PrivateIPAddress"):
            if d.get("IPAddress"):
                steps.append("address")
            d["IPAddress"], d["PrivateIPAddress"] = address, str(instance.get("PrivateIpAddress") or "")
            context.save()
        return steps

    def _find_launched(self, client: t.Any, record: MachineRecord) -> str:
        token = record.sidecar.get("ClientToken")
        if not token:
            return ""
        reply = client.describe_instances(Filters=[{"Name": "client-token", "Values": [token]}, {"Name": "instance-state-name", "Values": LIVE_STATES}])
        return next((i["InstanceId"] for r in reply.get("Reservations", []) for i in r.get("Instances", [])), "")

    def _adopt(self, client: t.Any, record: MachineRecord, options: t.Mapping[str, t.Any], context: HostContext, steps: list[str]) -> None:
        """A store that does not know the machine (a lost laptop) takes over its running instance (amazonec2_adopt.py)."""
        adoption = adopt_instance(client, record.name, self._region(record), str(options.get("instance_id") or ""))
        record.driver.update(adoption.driver_fields)
        if adoption.created_groups:
            record.sidecar["CreatedSecurityGroups"] = list(adoption.created_groups)
        if adoption.elastic_ip:
            record.sidecar["ElasticIp"] = dict(adoption.elastic_ip)
        record.sidecar["Adopted"] = adoption.driver_fields["InstanceId"]
        context.save()
        steps.append("adopt instance")

    def _converge_instance(
        self, client: t.Any, record: MachineRecord, options: t.Mapping[str, t.Any], context: HostContext, steps: list[str]
    ) -> dict[str, t.Any]:
        instance_id = str(record.driver["InstanceId"])
        instance = self._live_instance(client, record, "read instance", " and create it again")
        state = instance["State"]["Name"]
        if state in ("stopped", "stopping"):
            self._run_power(client, record, "start", context.timeout)
            steps.append("start instance")
        if state != "running":
            instance = self._wait_running(client, record, instance_id, context.timeout)
        self._ensure_elastic_ip(client, record, options, context, steps)
        if record.sidecar.get("ElasticIp"):
            instance = self._describe(client, record, instance_id) or instance
        return instance

    def _create(self, client: t.Any, record: MachineRecord, options: t.Mapping[str, t.Any], context: HostContext, steps: list[str]) -> dict[str, t.Any]:
        d, side = record.driver, record.sidecar
        name = record.name
        network = find_network(client, name, self._region(record), str(d.get("VpcId") or ""), str(d.get("SubnetId") or ""), str(d.get("Zone") or "a"))
        image = find_ami(client, name, str(d.get("AMI") or ""), options.get("ami_owners") or [CANONICAL], str(d["InstanceType"]))
        d.update({"VpcId": network.vpc_id, "SubnetId": network.subnet_id, "Zone": network.zone, "AMI": image["ImageId"]})
        d["DeviceName"] = d.get("DeviceName") or str(image.get("RootDeviceName") or "/dev/sda1")
        context.save()
        self._ensure_key_pair(client, record, options, context, steps)
        self._ensure_security_groups(client, record, options, network.vpc_id, context, steps)
        try:
            instance_id = self._launch(client, record, options, context)
        except LaunchError as exc:
            # EC2 refused the launch (capacity, quota, a bad parameter): no instance exists, so what was made for it
            # goes too, and the failure leaves nothing in EC2.
            exc.msg = "%s %s" % (exc.msg, self._undo_before_launch(client, record, context))
            exc.args = (exc.msg,)
            raise
        steps.append("launch instance")
        instance = self._wait_running(client, record, instance_id, context.timeout)
        self._ensure_elastic_ip(client, record, options, context, steps)
        if side.get("ElasticIp"):
            instance = self._describe(client, record, instance_id) or instance
        return instance

    def _undo_before_launch(self, client: t.Any, record: MachineRecord, context: HostContext) -> str:
        """Delete the key pair and security group made for a launch that EC2 refused; returns what to tell the user."""
        d, side = record.driver, record.sidecar
        left = []
        if self._find_launched(client, record):
            return "An instance was launched after all: run the task again to resume, or state=absent to remove it."
        key_name = self._own_key_pair(record)
        try:
            if key_name:
                client.delete_key_pair(KeyName=key_name)
                d["KeyName"] = ""
            for group_id in list(side.get("CreatedSecurityGroups") or []):
                client.delete_security_group(GroupId=group_id, aws_retry=True)
                side["CreatedSecurityGroups"].remove(group_id)
                d["SecurityGroupIds"] = [g for g in d.get("SecurityGroupIds") or [] if g != group_id]
            side.pop("PendingSecurityGroup", None)
            side.pop("ClientToken", None)
        except Exception as exc:  # what is left stays in the record, for absent
            left.append(str(exc))
        context.save()
        if left:
            return "Removing the key pair and security group made for it failed (%s): state=absent removes them." % left[0]
        return "The key pair and security group made for it were removed: nothing was left in EC2."

    def _tag_specifications(self, record: MachineRecord, *kinds: str) -> list[dict[str, t.Any]]:
        """TagSpecifications (amazon.aws's) for what a create makes: Name, ours, and the user's tags from the record."""
        from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_specifications

        tags = {"Name": record.name, OWNER_TAG: record.name}
        tags.update(self.tags(record))
        return boto3_tag_specifications(tags, list(kinds))

    def _ensure_key_pair(self, client: t.Any, record: MachineRecord, options: t.Mapping[str, t.Any], context: HostContext, steps: list[str]) -> None:
        d = record.driver
        step = "key pair"
        try:
            if d.get("ExistingKey"):
                client.describe_key_pairs(KeyNames=[d["KeyName"]])
                return
            if not d.get("KeyName"):
                # A name of its own: the original's plain machine name collided with leftovers (#661).
                d["KeyName"] = "%s-%s" % (record.name, secrets.token_hex(4))
                context.save()
            elif self._key_pair_exists(client, d["KeyName"]):
                return
            public = self._public_key(record, options, context)
            client.import_key_pair(
                KeyName=d["KeyName"], PublicKeyMaterial=public, TagSpecifications=self._tag_specifications(record, "key-pair")
            )
        except LaunchError:
            raise
        except Exception as exc:
            raise launch_error(record.name, step, exc, "amazonec2.keypair_name") from exc
        steps.append("key pair")

    @staticmethod
    def _key_pair_exists(client: t.Any, key_name: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            return bool(client.describe_key_pairs(KeyNames=[key_name])["KeyPairs"])
        except ClientError as exc:
            if api_error_code(exc) == "InvalidKeyPair.NotFound":
                return False
            raise

    def _public_key(self, record: MachineRecord, options: t.Mapping[str, t.Any], context: HostContext) -> bytes:
        """The public key to import: the user's (ssh_keypath's .pub), else a new key made in the machine folder (0600)."""
        key = options.get("ssh_keypath")
        if key:
            with open(key + ".pub", "rb") as handle:
                return handle.read(16 * 1024).strip()
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

        private_path = os.path.join(context.machine_dir, "id_rsa")
        if os.path.isfile(private_path) and os.path.isfile(private_path + ".pub"):  # made by a create that died later
            with open(private_path + ".pub", "rb") as handle:
                return handle.read(16 * 1024).strip()
        made = ed25519.Ed25519PrivateKey.generate() if options.get("key_type", "ed25519") == "ed25519" else rsa.generate_private_key(65537, 3072)
        private = made.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption())
        public = made.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        context.write_file(private_path, private, 0o600)
        context.write_file(private_path + ".pub", public + b" " + record.name.encode() + b"\n", 0o600)
        record.driver["SSHKeyPath"] = private_path
        context.save()
        return public

    def _ensure_security_groups(
        self, client: t.Any, record: MachineRecord, options: t.Mapping[str, t.Any], vpc_id: str, context: HostContext, steps: list[str]
    ) -> None:
        """The groups the user named (used as they are, never changed), or one of the machine's own with ingress from
        ``security_group_cidrs`` on SSH, the engine and ``open_ports`` (the original opened 0.0.0.0/0 on a shared group)."""
        d, side = record.driver, record.sidecar
        step = "security group"
        try:
            if d.get("SecurityGroupReadOnly"):
                d["SecurityGroupIds"] = self._group_ids(client, list(d.get("SecurityGroupNames") or []), vpc_id, record.name)
                context.save()
                return
            group_name = side.get("PendingSecurityGroup") or "dockyard-machine-%s-%s" % (record.name, secrets.token_hex(4))
            if not side.get("PendingSecurityGroup"):
                side["PendingSecurityGroup"] = group_name
                context.save()
            found = client.describe_security_groups(Filters=[{"Name": "group-name", "Values": [group_name]}, {"Name": "vpc-id", "Values": [vpc_id]}])
            groups = found["SecurityGroups"]
            if groups:
                group_id, permissions = groups[0]["GroupId"], groups[0].get("IpPermissions") or []
            else:
                group_id = client.create_security_group(
                    GroupName=group_name,
                    Description="dockyard.machine %s" % record.name,
                    VpcId=vpc_id,
                    TagSpecifications=self._tag_specifications(record, "security-group"),
                )["GroupId"]
                permissions = []
                steps.append("security group")
            side["CreatedSecurityGroups"] = sorted(set(side.get("CreatedSecurityGroups") or []) | {group_id})
            d["SecurityGroupIds"], d["SecurityGroupNames"] = [group_id], [group_name]
            context.save()
            ports = [(record.ssh_port, "tcp"), (ENGINE_PORT, "tcp")]
            for spec in d.get("OpenPorts") or []:
                match = _PORT.match(str(spec))
                if match:
                    ports.append((int(match.group(1)), match.group(2) or "tcp"))
            missing = missing_rules(permissions, ingress_rules(ports, options.get("security_group_cidrs") or ["0.0.0.0/0"]))
            if missing:
                client.authorize_security_group_ingress(GroupId=group_id, IpPermissions=missing, aws_retry=True)
        except LaunchError:
            raise
        except Exception as exc:
            raise launch_error(record.name, step, exc, "amazonec2.security_groups") from exc

    @staticmethod
    def _group_ids(client: t.Any, names: list[str], vpc_id: str, machine: str) -> list[str]:
        ids = [n for n in names if n.startswith("sg-")]
        by_name = [n for n in names if not n.startswith("sg-")]
        if by_name:
            found = client.describe_security_groups(Filters=[{"Name": "group-name", "Values": by_name}, {"Name": "vpc-id", "Values": [vpc_id]}])
            named = {g["GroupName"]: g["GroupId"] for g in found["SecurityGroups"]}
            missing = [n for n in by_name if n not in named]
            if missing:
                raise LaunchError(
                    "Security group %s does not exist in VPC %s: fix option amazonec2.security_groups (names or IDs of existing "
                    "groups), or leave it empty to have one made for the machine." % (", ".join(missing), vpc_id),
                    machine=machine,
                    step="security group",
                    option="amazonec2.security_groups",
                )
            ids += [named[n] for n in by_name]
        return ids

    def _launch(self, client: t.Any, record: MachineRecord, options: t.Mapping[str, t.Any], context: HostContext) -> str:
        d, side = record.driver, record.sidecar
        if not side.get("ClientToken"):
            # Recorded before the call: a launch whose reply is lost is found again by it (and never made twice).
            side["ClientToken"] = "dockyard-%s-%s" % (record.name[:40], secrets.token_hex(8))
            context.save()
        request: dict[str, t.Any] = {
            "ImageId": d["AMI"],
            "InstanceType": d["InstanceType"],
            "MinCount": 1,
            "MaxCount": 1,
            "ClientToken": side["ClientToken"],
            "KeyName": d["KeyName"],
            "Placement": {"AvailabilityZone": d["Zone"]},
            "NetworkInterfaces": [
                {"DeviceIndex": 0, "SubnetId": d["SubnetId"], "Groups": list(d["SecurityGroupIds"]), "AssociatePublicIpAddress": not d.get("PrivateIPOnly")}
            ],
            "BlockDeviceMappings": [
                {"DeviceName": d["DeviceName"], "Ebs": {"VolumeSize": int(d["RootSize"]), "VolumeType": d["VolumeType"], "DeleteOnTermination": True}}
            ],
            "Monitoring": {"Enabled": bool(d.get("Monitoring"))},
            "EbsOptimized": bool(d.get("UseEbsOptimizedInstance")),
            "MetadataOptions": {"HttpTokens": options.get("metadata_tokens") or "required", "HttpEndpoint": "enabled"},
            "TagSpecifications": self._tag_specifications(record, "instance", "volume"),
        }
        if d.get("IamInstanceProfile"):
            request["IamInstanceProfile"] = {"Name": d["IamInstanceProfile"]}
        if d.get("UserDataFile"):
            with open(d["UserDataFile"], "rb") as handle:
                request["UserData"] = base64.b64encode(handle.read(USER_DATA_LIMIT + 1)).decode()
        if d.get("RequestSpotInstance"):
            spot: dict[str, t.Any] = {"SpotInstanceType": "one-time", "InstanceInterruptionBehavior": "terminate"}
            if d.get("SpotPrice"):
                spot["MaxPrice"] = str(d["SpotPrice"])
            request["InstanceMarketOptions"] = {"MarketType": "spot", "SpotOptions": spot}
        try:
            reply = client.run_instances(**request)
        except Exception as exc:
            raise launch_error(record.name, "launch instance", exc, "amazonec2.instance_type") from exc
        d["InstanceId"] = reply["Instances"][0]["InstanceId"]
        context.save()
        return str(d["InstanceId"])

    def _wait_running(self, client: t.Any, record: MachineRecord, instance_id: str, timeout: float) -> dict[str, t.Any]:
        from botocore.exceptions import WaiterError

        delay = 2
        try:
            client.get_waiter("instance_running").wait(InstanceIds=[instance_id], WaiterConfig={"Delay": delay, "MaxAttempts": max(1, int(timeout // delay))})
        except WaiterError as exc:
            raise DriverError(
                "EC2 instance %s of machine %s did not reach 'running' within %d s (%s). It is in the record: run again to wait "
                "longer (option timeout), or state=absent to remove it." % (instance_id, record.name, timeout, exc),
                machine=record.name,
                step="wait for running",
                option="timeout",
            ) from exc
        except Exception as exc:
            raise launch_error(record.name, "wait for running", exc) from exc
        return self._describe(client, record, instance_id) or {}

    def _ensure_elastic_ip(self, client: t.Any, record: MachineRecord, options: t.Mapping[str, t.Any], context: HostContext, steps: list[str]) -> None:
        """With option elastic_ip, an address of the machine's own: its certificate never changes across stop and start."""
        side = record.sidecar
        if not options.get("elastic_ip") and not side.get("ElasticIp"):
            return
        step = "elastic ip"
        try:
            if not side.get("ElasticIp"):
                allocation = client.allocate_address(Domain="vpc", TagSpecifications=self._tag_specifications(record, "elastic-ip"))
                side["ElasticIp"] = {"AllocationId": allocation["AllocationId"], "PublicIp": allocation.get("PublicIp", "")}
                context.save()
                steps.append("elastic ip")
            allocation_id = side["ElasticIp"]["AllocationId"]
            current = client.describe_addresses(AllocationIds=[allocation_id])["Addresses"]
            if not current or current[0].get("InstanceId") != record.driver["InstanceId"]:
                client.associate_address(AllocationId=allocation_id, InstanceId=record.driver["InstanceId"], aws_retry=True)
        except Exception as exc:
            raise launch_error(record.name, step, exc, "amazonec2.elastic_ip") from exc

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
        state = self._live_instance(client, record, "%s instance" % action)["State"]["Name"]
        if (action == "start" and state in ("running", "pending")) or (action == "stop" and state in ("stopped", "stopping") and not force):
            changed = False
            if action == "start" and state == "pending":
                self._wait_running(client, record, instance_id, timeout)
        else:
            self._run_power(client, record, action, timeout, force=force)
            changed = True
        if action != "stop":
            current = self._describe(client, record, instance_id) or {}
            address = self.address_of(record, current)
            if address:
                record.driver["IPAddress"], record.driver["PrivateIPAddress"] = address, str(current.get("PrivateIpAddress") or "")
        return changed

    def _run_power(self, client: t.Any, record: MachineRecord, action: str, timeout: float, *, force: bool = False) -> None:
        from botocore.exceptions import WaiterError

        instance_id = str(record.driver["InstanceId"])
        step = "%s instance" % action
        delay = 2
        attempts = {"Delay": delay, "MaxAttempts": max(1, int(timeout // delay))}
        try:
            if action == "start":
                client.start_instances(InstanceIds=[instance_id])
                client.get_waiter("instance_running").wait(InstanceIds=[instance_id], WaiterConfig=attempts)
            elif action == "stop":
                client.stop_instances(InstanceIds=[instance_id], Force=force)
                client.get_waiter("instance_stopped").wait(InstanceIds=[instance_id], WaiterConfig=attempts)
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

    def _security_group_ids(self, record: MachineRecord) -> list[str]:
        ids = [str(i) for i in record.driver.get("SecurityGroupIds") or [] if i]
        legacy = record.driver.get("SecurityGroupId")  # pre-2016 records: a single value, merged with the list
        if legacy and legacy not in ids:
            ids.append(str(legacy))
        return ids

    def _own_key_pair(self, record: MachineRecord) -> str:
        """The key pair create imported for this machine; never one the user named (ExistingKey)."""
        return "" if record.driver.get("ExistingKey") else str(record.driver.get("KeyName") or "")

    def cloud_resources(self, record: MachineRecord) -> list[str]:
        region = self._region(record)
        side = record.sidecar
        found = []
        if record.driver.get("InstanceId"):
            found.append("EC2 instance %s" % record.driver["InstanceId"])
        elif side.get("ClientToken"):
            found.append("the EC2 instance launched with client token %s, if any" % side["ClientToken"])
        if self._own_key_pair(record):
            found.append("key pair %s" % self._own_key_pair(record))
        for group_id in side.get("CreatedSecurityGroups") or []:
            found.append("security group %s" % group_id)
        if side.get("PendingSecurityGroup") and not side.get("CreatedSecurityGroups"):
            found.append("security group %s, if it was made" % side["PendingSecurityGroup"])
        if side.get("ElasticIp"):
            found.append("Elastic IP %s (%s)" % (side["ElasticIp"].get("PublicIp", ""), side["ElasticIp"]["AllocationId"]))
        return ["%s in %s" % (what, region) for what in found]

    def remove_cloud_resources(self, record: MachineRecord, timeout: float) -> list[str]:
        """Terminate the instance, release the Elastic IP, delete the key pair imported for it, and each of its security
        groups that we or the original created (ours, or the original's shared ``docker-machine``) once no other instance
        uses it."""
        require_sdk()
        from botocore.exceptions import BotoCoreError, ClientError, WaiterError

        removed: list[str] = []
        region = self._region(record)
        side = record.sidecar
        step = "connect to EC2"
        try:
            client = self.client(record, min(timeout, 30.0))  # a missing profile fails here
            step = "find the launched instance"
            instance_id = str(record.driver.get("InstanceId") or "") or self._find_launched(client, record)
            if instance_id:
                step = "terminate EC2 instance %s" % instance_id
                self._terminate(client, instance_id, timeout)
                removed.append("EC2 instance %s in %s" % (instance_id, region))
            if side.get("ElasticIp"):
                step = "release Elastic IP %s" % side["ElasticIp"]["AllocationId"]
                self._release_address(client, side["ElasticIp"]["AllocationId"])
            key_name = self._own_key_pair(record)
            if key_name:
                step = "delete key pair %s" % key_name
                client.delete_key_pair(KeyName=key_name)  # no error when it is gone already
                removed.append("key pair %s in %s" % (key_name, region))
            groups = self._security_group_ids(record)
            if side.get("PendingSecurityGroup") and not side.get("CreatedSecurityGroups"):
                step = "find security group %s" % side["PendingSecurityGroup"]
                found = client.describe_security_groups(Filters=[{"Name": "group-name", "Values": [side["PendingSecurityGroup"]]}])["SecurityGroups"]
                side["CreatedSecurityGroups"] = [g["GroupId"] for g in found]
                groups += [g["GroupId"] for g in found if g["GroupId"] not in groups]
            for group_id in groups:
                step = "delete security group %s" % group_id
                if self._delete_group_if_unused(client, group_id, instance_id, record):
                    removed.append("security group %s in %s" % (group_id, region))
        except (BotoCoreError, ClientError, WaiterError, DriverError) as exc:
            left = [r for r in self.cloud_resources(record) if r not in removed]
            raise DriverError(
                "Cannot remove the cloud resources of machine %s (step '%s'): %s. Still there: %s. Nothing was removed from the "
                "store. Give AWS credentials for %s (options access_key and secret_key or profile, also through module_defaults "
                "group/amazon.aws.aws, or the environment's AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE) and run "
                "again, or set option 'force' to remove the record and leave them running (and billed)."
                % (record.name, step, getattr(exc, "msg", exc), ", ".join(left) or "nothing else we created", region),
                machine=record.name,
                step="remove cloud resources",
                option="force",
                cloud_resources=left,
            ) from exc
        return removed

    @staticmethod
    def _terminate(client: t.Any, instance_id: str, timeout: float) -> None:
        """Terminate the instance and wait until EC2 says it is (bounded); one that is gone already is done."""
        from botocore.exceptions import ClientError

        try:
            client.terminate_instances(InstanceIds=[instance_id])
        except ClientError as exc:
            if api_error_code(exc) == "InvalidInstanceID.NotFound":
                return
            raise
        delay = 2
        client.get_waiter("instance_terminated").wait(InstanceIds=[instance_id], WaiterConfig={"Delay": delay, "MaxAttempts": max(1, int(timeout // delay))})

    @staticmethod
    def _release_address(client: t.Any, allocation_id: str) -> None:
        from botocore.exceptions import ClientError

        try:
            client.release_address(AllocationId=allocation_id)
        except ClientError as exc:
            if api_error_code(exc) not in ("InvalidAllocationID.NotFound", "InvalidAddress.NotFound"):
                raise

    @staticmethod
    def _delete_group_if_unused(client: t.Any, group_id: str, instance_id: str, record: MachineRecord) -> bool:
        from botocore.exceptions import ClientError

        try:
            groups = client.describe_security_groups(GroupIds=[group_id])["SecurityGroups"]
        except ClientError as exc:
            if api_error_code(exc) == "InvalidGroup.NotFound":
                return False
            raise
        created = set(record.sidecar.get("CreatedSecurityGroups") or [])
        if not groups or (group_id not in created and groups[0].get("GroupName") != ORIGINAL_SECURITY_GROUP):
            return False  # a group the user gave: never ours to delete
        users = client.describe_instances(Filters=[{"Name": "instance.group-id", "Values": [group_id]}, {"Name": "instance-state-name", "Values": LIVE_STATES}])
        if any(i.get("InstanceId") != instance_id for r in users.get("Reservations", []) for i in r.get("Instances", [])):
            return False  # another machine still uses it
        client.delete_security_group(GroupId=group_id)
        return True
