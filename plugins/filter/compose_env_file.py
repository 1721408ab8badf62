# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: compose_env_file
short_description: Write variables as a Compose project's C(.env) file, each value exactly as given
version_added: 1.1.0
author:
  - dockyard.machine developers (@dockyard)
description:
  - One C(NAME="value") line per variable, sorted by name, in Compose's C(.env) syntax. Values are double-quoted with
    C(\), C(") and line breaks escaped, and C($) written as C($$), so Compose reads each value as given and interpolates
    nothing in it; text other than ASCII is written as UTF-8.
  - A name that is not a variable name (letters, digits and C(_), not starting with a digit), for example one with a line
    break, is refused with an error naming the variable that holds it; so is a value with a NUL character.
  - The C(dockyard.machine.compose_stack) role writes its C(compose_stack_env) with it.
options:
  _input:
    description: The variables, names to values (values that are not strings are written as their text).
    type: dict
    required: true
  variable:
    description: The name of the variable the input comes from, for error messages.
    type: str
    default: compose_stack_env
"""

EXAMPLES = r"""
- name: The project's .env
  ansible.builtin.copy:
    content: "{{ {'DB_PASSWORD': 'pa$word', 'GREETING': 'café'} | dockyard.machine.compose_env_file }}"
    dest: /opt/compose/web/.env
    mode: "0600"
"""

RETURN = r"""
_value:
  description: The file's text, one line per variable, each ending with a line break (empty for no variables).
  type: str
"""

import re
import typing as t

from ansible.errors import AnsibleFilterError

# Names Compose (and a shell) reads as a variable; anything else could start another line or a comment in the file.
NAME_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Inside double quotes Compose reads \\ \" \n \r as escapes and interpolates $NAME and ${...}; $$ is a literal $.
ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "$": "$$"}
ESCAPED = re.compile(r'[\\"\n\r$]')


def compose_env_file(env: t.Any, variable: str = "compose_stack_env") -> str:
    """The ``.env`` text of ``env``: sorted ``NAME="value"`` lines that Compose reads back exactly."""
    if not isinstance(env, t.Mapping):
        raise AnsibleFilterError("%s must be a dictionary of variable names to values, not %s" % (variable, type(env).__name__))
    lines = []
    for name in sorted(env, key=str):
        if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
            raise AnsibleFilterError(
                "%s has the name %r, which is not a variable name (letters, digits and _, not starting with a digit): "
                "rename it in %s." % (variable, name, variable)
            )
        value = env[name]
        text = value if isinstance(value, str) else str(value)
        if "\0" in text:
            raise AnsibleFilterError("%s.%s holds a NUL character, which no environment variable can: remove it from %s." % (variable, name, variable))
        lines.append('%s="%s"\n' % (name, ESCAPED.sub(lambda match: ESCAPES[match.group(0)], text)))
    return "".join(lines)


class FilterModule:
    """dockyard.machine's Compose .env filter."""

    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {"compose_env_file": compose_env_file}
