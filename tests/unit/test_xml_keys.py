"""Keys in request XML arrive exactly as sent: control characters raw or referenced (which XML 1.0 forbids
but the SDKs send) and private-use characters alike (protocol/xmlparse.py swaps the first for stand-ins)."""

from ossbox.protocol.xmlparse import parse_xml


def key_of(body: str) -> str:
    return parse_xml(body.encode("utf-8"), "Delete").find("Object/Key").text


def test_control_characters_raw_and_referenced():
    assert key_of("<Delete><Object><Key>a\x01b&#1;c&#x1F;d\re</Key></Object></Delete>") == "a\x01b\x01c\x1fd\re"


def test_a_referenced_private_use_character_is_not_taken_for_a_stand_in():
    assert key_of("<Delete><Object><Key>\x01&#xE001;&#57345;</Key></Object></Delete>") == "\x01\ue001\ue001"


def test_a_raw_private_use_character_is_not_taken_for_a_stand_in():
    assert key_of("<Delete><Object><Key>\x01\ue001</Key></Object></Delete>") == "\x01\ue001"
