"""compose_env_file: the compose_stack role's .env, in Compose's syntax, each value read back as given (issue 15 item 8).

Compose itself reads the file in the role's Molecule scenario (roles/compose_stack/molecule/default)."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.dockyard.machine.plugins.filter.compose_env_file import compose_env_file


def test_values_are_double_quoted_with_dollar_quotes_backslashes_and_line_breaks_escaped():
    env = {"PLAIN": "web:1", "PORT": 8080, "DOLLAR": "pa$word ${HOME} $$", "QUOTES": 'say "hi" \'yo\' C:\\x', "LINES": "a\nb\r\n"}
    assert compose_env_file(env) == (
        'DOLLAR="pa$$word $${HOME} $$$$"\n'
        'LINES="a\\nb\\r\\n"\n'
        'PLAIN="web:1"\n'
        'PORT="8080"\n'
        'QUOTES="say \\"hi\\" \'yo\' C:\\\\x"\n'
    )


def test_text_other_than_ascii_is_written_as_utf8_not_escaped():
    text = compose_env_file({"GREETING": "café ☕"})
    assert text == 'GREETING="café ☕"\n'
    assert "\\u" not in text


@pytest.mark.parametrize("name", ["A\nEVIL=1", "WITH SPACE", "1ST", "a=b", "#x", "", 3])
def test_a_name_that_is_not_a_variable_name_is_refused_naming_the_variable(name):
    with pytest.raises(AnsibleFilterError) as info:
        compose_env_file({name: "x"})
    assert "compose_stack_env has the name %r" % (name,) in info.value.message
    assert "rename it in compose_stack_env" in info.value.message


def test_a_nul_in_a_value_is_refused_and_a_non_dict_too():
    with pytest.raises(AnsibleFilterError, match=r"compose_stack_env\.X holds a NUL"):
        compose_env_file({"X": "a\0b"})
    with pytest.raises(AnsibleFilterError, match="stack_env must be a dictionary"):
        compose_env_file(["X=1"], variable="stack_env")
    assert compose_env_file({}) == ""
