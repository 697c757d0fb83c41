"""`commands.settings.resolve_settings`: each setting from the first source that gives it (flags, then the
environment, then the config file), the access key's id, secret and STS token included, one by one."""

from __future__ import annotations

import pytest

from ossbox.commands.settings import SettingsError, resolve_settings

ENDPOINT = {"OSS_ENDPOINT": "127.0.0.1:9000"}


def key(flags=None, env=None, config=None) -> tuple[str, str, str]:
    settings = resolve_settings(flags or {}, {**ENDPOINT, **(env or {})}, config or {})
    return settings.access_key_id, settings.access_key_secret, settings.security_token


def test_a_secret_flag_combines_with_the_key_id_of_the_environment():
    assert key({"access_key_secret": "flag-secret"}, {"OSS_ACCESS_KEY_ID": "env-id"}) == ("env-id", "flag-secret", "")


def test_a_key_id_flag_combines_with_the_secret_of_the_environment():
    assert key({"access_key_id": "flag-id"}, {"OSS_ACCESS_KEY_SECRET": "env-secret"}) == ("flag-id", "env-secret", "")


def test_each_part_comes_from_its_highest_source():
    env = {"OSS_ACCESS_KEY_ID": "env-id", "OSS_ACCESS_KEY_SECRET": "env-secret", "OSS_SESSION_TOKEN": "env-token"}
    config = {"access_key_id": "cfg-id", "access_key_secret": "cfg-secret", "security_token": "cfg-token"}
    assert key({}, env, config) == ("env-id", "env-secret", "env-token")
    assert key({"access_key_secret": "flag-secret"}, env, config) == ("env-id", "flag-secret", "env-token")
    assert key({"sts_token": "flag-token"}, {}, config) == ("cfg-id", "cfg-secret", "flag-token")
    assert key({}, {"OSS_ACCESS_KEY_SECRET": "env-secret"}, config) == ("cfg-id", "env-secret", "cfg-token")
    assert key({"access_key_id": "a", "access_key_secret": "b"}, env, config) == ("a", "b", "env-token")


def test_values_are_stripped_and_empty_ones_do_not_count():
    assert key({"access_key_id": "", "access_key_secret": " s "}, {"OSS_ACCESS_KEY_ID": " i "}) == ("i", "s", "")


def test_where_each_part_came_from_is_recorded():
    settings = resolve_settings({"access_key_secret": "s"}, {**ENDPOINT, "OSS_ACCESS_KEY_ID": "i"}, {})
    assert settings.credentials_from == "key id from OSS_ACCESS_KEY_ID, secret from --access-key-secret"


@pytest.mark.parametrize("flags, env, config, words", [
    ({"access_key_secret": "s"}, {}, {}, ("no key id", "--access-key-id", "OSS_ACCESS_KEY_ID", "access-key-id")),
    ({}, {"OSS_ACCESS_KEY_ID": "i"}, {}, ("no secret", "--access-key-secret", "OSS_ACCESS_KEY_SECRET")),
    ({}, {}, {"access_key_id": "i"}, ("no secret", "key id from ~/.ossutilconfig")),
    ({"sts_token": "t"}, {}, {}, ("no access key",)),
])
def test_a_missing_part_is_named_with_where_to_give_it(flags, env, config, words):
    with pytest.raises(SettingsError) as raised:
        key(flags, env, config)
    for word in words:
        assert word in str(raised.value)


def test_other_settings_keep_their_precedence():
    settings = resolve_settings({"region": "cn-beijing"}, {"OSS_ENDPOINT": "10.0.0.1:9000", "OSS_REGION": "cn-shanghai",
                                                           "OSS_ACCESS_KEY_ID": "i", "OSS_ACCESS_KEY_SECRET": "s"},
                                {"endpoint": "ignored:1", "sign_version": "v1"})
    assert (settings.endpoint, settings.region, settings.sign_version) == ("http://10.0.0.1:9000", "cn-beijing", "v1")
