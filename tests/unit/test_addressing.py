"""Request targets: which bucket, key and query parameters a Host header and raw target name."""

import pytest

from ossbox.protocol.errors import OssError
from ossbox.server.addressing import Address, parse_query, parse_target

IP = "127.0.0.1:9000"
BASE = "oss.example.test"

PATH_STYLE = [
    # raw target, bucket, key, params
    ("/", None, None, ()),
    ("/?prefix=a", None, None, (("prefix", "a"),)),
    ("/photos", "photos", None, ()),
    ("/photos/", "photos", None, ()),
    ("/photos/cat.jpg", "photos", "cat.jpg", ()),
    ("/photos/dir/cat.jpg", "photos", "dir/cat.jpg", ()),
    # oss2 percent-encodes the whole key, slashes included
    ("/photos/dir%2Fsub%2Fcat.jpg", "photos", "dir/sub/cat.jpg", ()),
    ("/photos/a%2fb", "photos", "a/b", ()),
    # '+' is a plus, never a space; a space arrives as %20
    ("/photos/a+b", "photos", "a+b", ()),
    ("/photos/a%2Bb", "photos", "a+b", ()),
    ("/photos/a%20b", "photos", "a b", ()),
    # '..' and '.' segments are characters of the key, not navigation
    ("/photos/../etc/passwd", "photos", "../etc/passwd", ()),
    ("/photos/a/./b/../c", "photos", "a/./b/../c", ()),
    ("/photos/%2E%2E%2F%2E%2E%2Fx", "photos", "../../x", ()),
    ("/photos/..", "photos", "..", ()),
    # empty segments are kept
    ("/photos//lead", "photos", "/lead", ()),
    ("/photos/trail/", "photos", "trail/", ()),
    ("/photos/a//b", "photos", "a//b", ()),
    # UTF-8
    ("/photos/%E4%B8%AD%E6%96%87.txt", "photos", "\u4e2d\u6587.txt", ()),
    ("/photos/%F0%9F%98%80", "photos", "\U0001F600", ()),
    # '?' and '#' inside a key arrive encoded
    ("/photos/what%3F%23x", "photos", "what?#x", ()),
    ("/photos/100%25", "photos", "100%", ()),
]


@pytest.mark.parametrize("target, bucket, key, params", PATH_STYLE, ids=[row[0] for row in PATH_STYLE])
def test_path_style(target, bucket, key, params):
    assert parse_target(IP, target) == Address(bucket, key, params)


@pytest.mark.parametrize("host", [IP, "localhost:9000", "localhost", "[::1]:9000", "10.0.0.1"])
def test_path_style_for_ip_and_localhost_endpoints_even_with_a_base_domain(host):
    assert parse_target(host, "/photos/cat.jpg", BASE) == Address("photos", "cat.jpg", ())


VIRTUAL_HOSTED = [
    # host, raw target, bucket, key
    (f"photos.{BASE}", "/cat.jpg", "photos", "cat.jpg"),
    (f"photos.{BASE}:9000", "/cat.jpg", "photos", "cat.jpg"),
    (f"photos.{BASE}", "/", "photos", None),
    (f"photos.{BASE}", "/dir%2Fcat.jpg", "photos", "dir/cat.jpg"),
    (f"photos.{BASE}", "/dir/cat.jpg", "photos", "dir/cat.jpg"),
    (f"photos.{BASE}", "/a+b", "photos", "a+b"),
    (f"photos.{BASE}", "/../x", "photos", "../x"),
    (f"photos.{BASE}", "//x", "photos", "/x"),
    ("PHOTOS.OSS.Example.Test:80", "/k", "photos", "k"),
    (f"photos.{BASE}.", "/k", "photos", "k"),  # fully qualified host name
    (f"my-bucket-1.{BASE}", "/k", "my-bucket-1", "k"),
]


@pytest.mark.parametrize("host, target, bucket, key", VIRTUAL_HOSTED, ids=[f"{h}{t}" for h, t, _, _ in VIRTUAL_HOSTED])
def test_virtual_hosted_style(host, target, bucket, key):
    assert parse_target(host, target, BASE) == Address(bucket, key, ())


def test_base_domain_itself_is_path_style():
    assert parse_target(f"{BASE}:9000", "/photos/cat.jpg", BASE) == Address("photos", "cat.jpg", ())
    assert parse_target(BASE, "/", BASE) == Address(None, None, ())


def test_host_that_only_ends_with_the_base_domain_text_is_path_style():
    assert parse_target(f"photos-{BASE}", "/b/k", BASE) == Address("b", "k", ())
    assert parse_target("photososs.example.test", "/b/k", BASE) == Address("b", "k", ())


def test_without_a_base_domain_every_host_is_path_style():
    assert parse_target(f"photos.{BASE}", "/b/k", None) == Address("b", "k", ())
    assert parse_target(f"photos.{BASE}", "/b/k", "") == Address("b", "k", ())


QUERIES = [
    # empty values are sent by the SDKs; flags may come with or without '='
    ("uploads", (("uploads", ""),)),
    ("uploads=", (("uploads", ""),)),
    ("prefix=&marker=", (("prefix", ""), ("marker", ""))),
    ("acl&prefix=a", (("acl", ""), ("prefix", "a"))),
    ("list-type=2&prefix=a%2Fb&delimiter=%2F", (("list-type", "2"), ("prefix", "a/b"), ("delimiter", "/"))),
    # In the query (unlike the path) '+' is a space: oss2 hands its parameters to `requests`, which
    # form-encodes them (space -> '+', '+' -> %2B); alibabacloud-oss-v2 sends %20 and %2B. A literal plus
    # therefore always arrives as %2B.
    ("prefix=a+b", (("prefix", "a b"),)),
    ("prefix=a%2Bb%20c", (("prefix", "a+b c"),)),
    ("response-content-disposition=attachment%3B+filename%3Da+b.txt",
     (("response-content-disposition", "attachment; filename=a b.txt"),)),
    # order and repetition are preserved; empty items dropped
    ("b=2&a=1&b=3", (("b", "2"), ("a", "1"), ("b", "3"))),
    ("&&a=1&", (("a", "1"),)),
    # only the first '=' separates name from value
    ("x=a=b", (("x", "a=b"),)),
    ("response-content-disposition=attachment%3B%20filename%3D%22a.txt%22",
     (("response-content-disposition", 'attachment; filename="a.txt"'),)),
    ("x-oss-process=image%2Fresize%2Cw_100", (("x-oss-process", "image/resize,w_100"),)),
    ("%2Bparam1=value3&%7Cparam2", (("+param1", "value3"), ("|param2", ""))),
    ("", ()),
]


@pytest.mark.parametrize("query, params", QUERIES, ids=[q or "empty" for q, _ in QUERIES])
def test_parse_query(query, params):
    assert parse_query(query) == params
    assert parse_target(IP, "/b/k?" + query).params == params


QUERY_VALUES = ["a b", "a+b", "a b+c", "attachment; filename=\"x y.txt\"", "\u4e2d \u6587", "", "100%", "/&=?#"]


@pytest.mark.parametrize("value", QUERY_VALUES)
def test_query_values_as_oss2_sends_them_through_requests(value):
    requests = pytest.importorskip("requests")
    url = requests.Request("GET", "http://127.0.0.1:9000/b/", params={"prefix": value, "uploads": ""}).prepare().url
    target = url[len("http://127.0.0.1:9000"):]
    assert parse_target(IP, target).params == (("prefix", value), ("uploads", ""))


@pytest.mark.parametrize("value", QUERY_VALUES)
def test_query_values_as_the_v2_sdk_sends_them(value):
    from urllib.parse import quote, urlencode

    target = "/b/?" + urlencode({"prefix": value, "uploads": ""}, quote_via=quote)
    assert parse_target(IP, target).params == (("prefix", value), ("uploads", ""))


def test_address_param_and_has():
    address = parse_target(IP, "/b/?uploads&prefix=&max-keys=10")
    assert address.has("uploads") and address.has("prefix") and not address.has("marker")
    assert address.param("uploads") == ""
    assert address.param("max-keys") == "10"
    assert address.param("marker") is None
    assert address.param("marker", "m") == "m"


def test_first_value_of_a_repeated_parameter_wins():
    assert parse_target(IP, "/b/?prefix=a&prefix=b").param("prefix") == "a"


@pytest.mark.parametrize("target", ["/b/%FF", "/b/%E4%B8", "/b/k?prefix=%C3", "/%FF/k"])
def test_invalid_utf8_is_invalid_argument(target):
    with pytest.raises(OssError) as caught:
        parse_target(IP, target)
    assert (caught.value.code, caught.value.status) == ("InvalidArgument", 400)


@pytest.mark.parametrize("target", ["b/k", "*"])
def test_non_absolute_target_is_invalid_argument(target):
    with pytest.raises(OssError) as caught:
        parse_target(IP, target)
    assert caught.value.code == "InvalidArgument"


def test_oss2_urls_address_the_key_they_were_made_for():
    api = pytest.importorskip("oss2.api")
    make_url = api._UrlMaker("http://127.0.0.1:9000", False, False)
    for key in ["a b", "a+b", "dir/sub/x.txt", "../up", "100%", "what?#x", "\u4e2d\u6587/\U0001F600", "~tilde", "a//b"]:
        url = make_url("photos", key)
        target = url[len("http://127.0.0.1:9000"):]
        assert parse_target(IP, target) == Address("photos", key, ()), url


def test_oss2_virtual_hosted_urls_address_the_key_they_were_made_for():
    api = pytest.importorskip("oss2.api")
    make_url = api._UrlMaker(f"http://{BASE}:9000", False, False)
    url = make_url("photos", "dir/a b+c")
    assert url == f"http://photos.{BASE}:9000/dir%2Fa%20b%2Bc"
    assert parse_target(f"photos.{BASE}:9000", "/dir%2Fa%20b%2Bc", BASE) == Address("photos", "dir/a b+c", ())
