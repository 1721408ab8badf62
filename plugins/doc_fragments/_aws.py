# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this doc fragment is internal to dockyard.machine.

from __future__ import annotations


class ModuleDocFragment:
    # The task options through which a module reaches AWS. The argument spec is amazon.aws's own (aws_argument_spec in
    # plugins/module_utils/_drivers/aws_access.py); these docs are ours, so that the module's documentation resolves
    # where only this collection is installed (Galaxy's importer, ansible-doc without amazon.aws).
    DOCUMENTATION = r"""
options:
  region:
    description:
      - The AWS region, for example V(eu-west-1).
      - Without it, E(AWS_REGION) or E(AWS_DEFAULT_REGION), then the region of the AWS profile; the amazonec2 driver's
        default is V(us-east-1), as the original's was.
    type: str
    aliases: [aws_region]
  endpoint_url:
    description:
      - The URL of the EC2 API, for an EC2-compatible cloud or an emulator. Without it, AWS's endpoint of O(region).
      - E(AWS_URL) is read when it is not set; then E(AWS_ENDPOINT) (the original's variable, which the command line
        reads too).
      - A machine whose record names an endpoint (it was made through one) is managed only when this names the same
        one; otherwise the task fails naming this option (a record never chooses where the credentials' signed calls go).
    type: str
    aliases: [aws_endpoint_url]
  access_key:
    description:
      - The access key ID of the AWS credentials. Held in memory only; never written to the store.
      - Without it, E(AWS_ACCESS_KEY_ID) or E(AWS_ACCESS_KEY), then the AWS profile or the instance's role.
    type: str
    aliases: [aws_access_key_id, aws_access_key]
  secret_key:
    description:
      - The secret access key that goes with O(access_key). Held in memory only; never written to the store or shown.
      - Without it, E(AWS_SECRET_ACCESS_KEY) or E(AWS_SECRET_KEY).
    type: str
    aliases: [aws_secret_access_key, aws_secret_key]
  session_token:
    description:
      - The session token of temporary credentials. Held in memory only.
      - Without it, E(AWS_SESSION_TOKEN).
    type: str
    aliases: [aws_session_token]
  profile:
    description:
      - A named profile of the AWS configuration files (C(~/.aws/config), C(~/.aws/credentials)), used instead of
        O(access_key) and O(secret_key).
      - Without it, E(AWS_PROFILE) or E(AWS_DEFAULT_PROFILE).
    type: str
    aliases: [aws_profile]
  aws_ca_bundle:
    description:
      - CA certificates (PEM) that the HTTPS connection to the AWS API is verified with, instead of botocore's own.
      - Without it, E(AWS_CA_BUNDLE).
    type: path
  validate_certs:
    description: Verify the AWS API's TLS certificate. Leave it on except against a test endpoint.
    type: bool
    default: true
  aws_config:
    description:
      - Further botocore client settings, the keyword arguments of C(botocore.config.Config) as a dictionary (for
        example C(user_agent_extra) or C(max_pool_connections)).
    type: dict
  debug_botocore_endpoint_logs:
    description:
      - Log every AWS API action the task calls, in the task's result (C(resource_actions)); for working out IAM
        permissions.
      - Without it, E(ANSIBLE_DEBUG_BOTOCORE_LOGS).
    type: bool
    default: false
notes:
  - The AWS options apply to the V(amazonec2) driver. C(module_defaults) of C(group/dockyard.machine.aws) or
    C(group/amazon.aws.aws) can supply them to every task of a play.
"""
