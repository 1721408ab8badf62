# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module_util is internal to dockyard.machine; its API may change without notice.
"""How the amazonec2 driver reaches AWS: the standard amazon.aws options, clients, retries.

A task's options (``region``, ``endpoint_url``, ``access_key``, ``profile`` ... as every amazon.aws
module takes them, so ``module_defaults: group/amazon.aws.aws`` supplies them) are read by amazon.aws's
own code. Without them (the command line, the inventory) boto3's chain applies: environment, profile,
instance role. Credentials are held in memory only; nothing here writes them anywhere.

amazon.aws and boto3 are imported when a client is made, not when this file is: every listing and
inventory run imports the drivers, and most never call AWS.
"""

from __future__ import annotations

import sys
import threading
import typing as t

from ansible_collections.dockyard.machine.plugins.module_utils._errors import DriverError

__all__ = ["AwsAccess", "DEFAULT_REGION", "api_error_code", "require_sdk", "task_option_spec"]

DEFAULT_REGION = "us-east-1"  # the original's default

# Clients made in this process, by what they were made from: a listing asks many machines of one region, and making a
# client costs more than the call (boto3 clients are safe to share between threads).
_CLIENTS: dict[tuple[t.Any, ...], t.Any] = {}
_CLIENTS_LOCK = threading.Lock()

# Attempts of amazon.aws's jittered backoff for throttling and eventual consistency (the original's --amazonec2-retries).
RETRIES = 5


def require_sdk(what: str = "The amazonec2 driver") -> None:
    """Raise a DriverError naming the package to install when boto3 or botocore cannot be imported.

    Called before anything else an amazonec2 machine asks of AWS, so that a missing SDK is that machine's error (a
    listing shows it in the machine's row) and not an ImportError that ends the whole run.
    """
    try:
        import boto3  # noqa: F401, pylint: disable=unused-import
        import botocore  # noqa: F401, pylint: disable=unused-import
    except ImportError as exc:
        raise DriverError(
            "%s needs the Python package boto3 (with botocore), which the Python running it (%s) cannot import (%s): "
            "install it there with `pip install boto3`." % (what, sys.executable, exc)
        ) from None


def task_option_spec() -> dict[str, t.Any]:
    """amazon.aws's standard options (region, endpoint_url, credentials, profile ...), for docker_machine's spec."""
    from ansible_collections.amazon.aws.plugins.module_utils.modules import aws_argument_spec

    return aws_argument_spec()


def api_error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ClientError (``InvalidAMIID.NotFound``), also when amazon.aws's per-call wrappers
    carry it (AnsibleAWSError's ``exception``); empty for other errors."""
    response = getattr(exc, "response", None)
    if response is None and isinstance(getattr(exc, "exception", None), BaseException):
        response = getattr(exc.exception, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code") or "")
    return ""


class _RaisingModule:
    """What amazon.aws's connection helpers read from a module (``params``) and call on bad input (``fail_json``),
    turned into a typed error instead of an exit."""

    def __init__(self, params: t.Mapping[str, t.Any]) -> None:
        self.params = dict(params)
        self._name = "dockyard.machine.docker_machine"

    def fail_json(self, msg: str = "", **kwargs: t.Any) -> t.NoReturn:
        raise DriverError("AWS: %s Fix the task's AWS options (region, profile, access_key, secret_key, endpoint_url)." % msg, option="region")

    def warn(self, msg: str) -> None:  # pragma: no cover - called by amazon.aws only on old SDKs
        pass


class AwsAccess:
    """Clients for one task: its standard AWS options, else boto3's chain.

    ``region`` and ``endpoint`` given to :meth:`ec2` are the machine's (from its record); the task's own
    ``region``/``endpoint_url`` win only for a machine being created, which has none yet.
    """

    def __init__(self, options: t.Mapping[str, t.Any] | None = None) -> None:
        self.options = {k: v for k, v in (options or {}).items() if v not in (None, "")}

    @property
    def region(self) -> str:
        """The region the task names, else the chain's (AWS_REGION, profile), else the original's default."""
        if self.options.get("region"):
            return str(self.options["region"])
        try:
            import boto3

            return boto3.session.Session(profile_name=self.options.get("profile") or None).region_name or DEFAULT_REGION
        except Exception:  # a missing profile is reported when a client is made
            return DEFAULT_REGION

    @property
    def endpoint(self) -> str:
        return str(self.options.get("endpoint_url") or "")

    def ec2(self, region: str, endpoint: str, timeout: float, *, retries: bool = True) -> t.Any:
        """An EC2 client for ``region`` (and a custom ``endpoint``), each call bounded by ``timeout`` seconds.

        With ``retries``, calls made with ``aws_retry=True`` back off on throttling and on resources EC2 does
        not show yet (amazon.aws's jittered backoff).
        """
        key = (region or self.region, endpoint or self.endpoint, round(timeout, 3), retries, tuple(sorted((k, repr(v)) for k, v in self.options.items())))
        with _CLIENTS_LOCK:
            if key in _CLIENTS:
                return _CLIENTS[key]
        client = self._new_ec2(region, endpoint, timeout, retries=retries)
        with _CLIENTS_LOCK:
            return _CLIENTS.setdefault(key, client)

    def _new_ec2(self, region: str, endpoint: str, timeout: float, *, retries: bool) -> t.Any:
        require_sdk()
        import botocore.config
        import botocore.exceptions

        from ansible_collections.amazon.aws.plugins.module_utils.botocore import boto3_conn, get_aws_connection_info
        from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry, RetryingBotoClientWrapper

        params = dict(self.options)
        params["region"] = region or self.region
        params["endpoint_url"] = endpoint or self.endpoint or None
        params.setdefault("validate_certs", True)
        fake = _RaisingModule(params)
        region_name, endpoint_url, connect = get_aws_connection_info(fake)  # amazon.aws's reading of the options
        bound = botocore.config.Config(connect_timeout=min(timeout, 30), read_timeout=timeout, retries={"max_attempts": 1})
        connect["aws_config"] = connect["aws_config"].merge(bound) if connect.get("aws_config") else bound
        import boto3

        try:
            session = boto3.session.Session(
                profile_name=connect.get("profile_name"),
                aws_access_key_id=connect.get("aws_access_key_id"),
                aws_secret_access_key=connect.get("aws_secret_access_key"),
                aws_session_token=connect.get("aws_session_token"),
            )
        except botocore.exceptions.ProfileNotFound as exc:
            raise DriverError("%s. Fix option profile (or AWS_PROFILE)." % exc, option="profile", step="connect to EC2") from exc
        if session.get_credentials() is None:
            raise DriverError(
                "No AWS credentials found: set options access_key and secret_key, or profile (also through module_defaults "
                "group/amazon.aws.aws), or the environment's AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run where an "
                "instance role applies.",
                option="access_key",
                step="connect to EC2",
            )
        client = boto3_conn(fake, conn_type="client", resource="ec2", region=region_name, endpoint=endpoint_url, **connect)
        if not retries:
            return client
        return RetryingBotoClientWrapper(client, AWSRetry.jittered_backoff(retries=RETRIES, delay=1, max_delay=8, catch_extra_error_codes=_EVENTUAL))


# Errors EC2 gives for a resource it just created and does not show everywhere yet.
_EVENTUAL = ["InvalidInstanceID.NotFound", "InvalidGroup.NotFound", "InvalidKeyPair.NotFound", "InvalidAllocationID.NotFound"]
