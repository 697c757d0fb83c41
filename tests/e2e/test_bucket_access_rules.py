"""Bucket rules a browser meets, through both SDKs and as browsers send requests: CORS (configuration,
preflight, the `Access-Control-*` headers of actual requests, errors included), referer rules (on anonymous
requests and presigned URLs, not on signed ones), and DescribeRegions.
"""

from __future__ import annotations

import json

import alibabacloud_oss_v2 as oss
import oss2
import pytest
import requests
from oss2.models import BucketCors, BucketReferer, CorsRule

from .conftest import v2_client
from .helpers import parse_error, signed_request

ORIGIN = "https://app.example.com"


@pytest.fixture
def public_bucket(bucket_with_acl) -> oss2.Bucket:
    made = bucket_with_acl(oss2.BUCKET_ACL_PUBLIC_READ, "rules")
    made.put_object("k", b"data")
    return made


def url(bucket: oss2.Bucket, key: str = "k") -> str:
    return f"{bucket.endpoint}/{bucket.bucket_name}/{key}"


def preflight(bucket: oss2.Bucket, method: str, origin: str = ORIGIN, headers: str | None = None,
              key: str = "k") -> requests.Response:
    sent = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers is not None:
        sent["Access-Control-Request-Headers"] = headers
    return requests.options(url(bucket, key), headers=sent)


def access_headers(response: requests.Response) -> dict[str, str]:
    return {name: value for name, value in response.headers.items() if name.startswith("Access-Control-")
            or name == "Vary"}


# ---- CORS ----

def test_cors_configuration_round_trips_through_oss2(public_bucket):
    with pytest.raises(oss2.exceptions.NoSuchCors):
        public_bucket.get_bucket_cors()
    rules = [CorsRule(allowed_origins=["*"], allowed_methods=["HEAD", "GET"], allowed_headers=["*"],
                      max_age_seconds=1000),
             CorsRule(allowed_origins=["https://*.example.com"], allowed_methods=["PUT"],
                      allowed_headers=["x-oss-*"], expose_headers=["ETag", "x-oss-request-id"])]
    public_bucket.put_bucket_cors(BucketCors(rules, response_vary=True))
    got = public_bucket.get_bucket_cors()
    assert got.response_vary is True
    assert [(r.allowed_origins, r.allowed_methods, r.allowed_headers, r.expose_headers, r.max_age_seconds)
            for r in got.rules] == [(["*"], ["HEAD", "GET"], ["*"], [], 1000),
                                    (["https://*.example.com"], ["PUT"], ["x-oss-*"], ["ETag", "x-oss-request-id"],
                                     None)]
    public_bucket.delete_bucket_cors()
    public_bucket.delete_bucket_cors()
    with pytest.raises(oss2.exceptions.NoSuchCors):
        public_bucket.get_bucket_cors()


def test_cors_configuration_round_trips_through_the_v2_sdk(server, public_bucket):
    client = v2_client(server)
    client.put_bucket_cors(oss.PutBucketCorsRequest(bucket=public_bucket.bucket_name, cors_configuration=oss.CORSConfiguration(
        cors_rules=[oss.CORSRule(allowed_origins=[ORIGIN], allowed_methods=["GET"], expose_headers=["ETag"],
                                 max_age_seconds=60)], response_vary=False)))
    got = client.get_bucket_cors(oss.GetBucketCorsRequest(bucket=public_bucket.bucket_name)).cors_configuration
    (rule,) = got.cors_rules
    assert (rule.allowed_origins, rule.allowed_methods, rule.expose_headers, rule.max_age_seconds) == \
        ([ORIGIN], ["GET"], ["ETag"], 60)
    # the v2 SDK's own preflight call
    result = client.option_object(oss.OptionObjectRequest(bucket=public_bucket.bucket_name, key="k", origin=ORIGIN,
                                                          access_control_request_method="GET"))
    assert (result.status_code, result.access_control_allow_origin) == (200, ORIGIN)
    client.delete_bucket_cors(oss.DeleteBucketCorsRequest(bucket=public_bucket.bucket_name))
    with pytest.raises(oss.exceptions.OperationError) as missing:
        client.get_bucket_cors(oss.GetBucketCorsRequest(bucket=public_bucket.bucket_name))
    assert missing.value.unwrap().code == "NoSuchCORSConfiguration"


def test_preflight_grants_only_what_a_rule_allows(public_bucket):
    assert preflight(public_bucket, "GET").status_code == 403  # no CORS configuration: nothing is allowed
    rule = CorsRule(allowed_origins=["https://*.example.com"], allowed_methods=["GET", "PUT"],
                    allowed_headers=["x-oss-meta-*", "Content-Type"], expose_headers=["ETag"], max_age_seconds=600)
    public_bucket.put_bucket_cors(BucketCors([rule]))

    granted = preflight(public_bucket, "PUT", headers="X-Oss-Meta-Owner, content-type")
    assert granted.status_code == 200 and granted.content == b""
    assert access_headers(granted) == {
        "Access-Control-Allow-Origin": ORIGIN, "Access-Control-Allow-Methods": "GET, PUT",
        "Access-Control-Allow-Headers": "X-Oss-Meta-Owner, content-type", "Access-Control-Expose-Headers": "ETag",
        "Access-Control-Max-Age": "600"}
    # on the bucket itself, and for a key that does not exist, too
    assert preflight(public_bucket, "GET", key="").status_code == 200
    assert preflight(public_bucket, "GET", key="no-such-key").status_code == 200
    for refused in (preflight(public_bucket, "DELETE"),  # a method the rule does not list
                    preflight(public_bucket, "GET", origin="https://example.org"),  # an origin it does not match
                    preflight(public_bucket, "PUT", headers="x-oss-meta-a, authorization")):  # one header too many
        assert refused.status_code == 403
        assert parse_error(refused.content)["Code"] == "AccessForbidden"
        assert "Access-Control-Allow-Origin" not in refused.headers
    missing = requests.options(f"{public_bucket.endpoint}/no-such-bucket-cors-test/k",
                               headers={"Origin": ORIGIN, "Access-Control-Request-Method": "GET"})
    assert missing.status_code == 404 and parse_error(missing.content)["Code"] == "NoSuchBucket"


def test_actual_requests_get_the_headers_on_answers_and_errors(public_bucket):
    public_bucket.put_bucket_cors(BucketCors([CorsRule(allowed_origins=["*"], allowed_methods=["GET", "HEAD"],
                                                       expose_headers=["x-oss-request-id"])], response_vary=True))
    answer = requests.get(url(public_bucket), headers={"Origin": ORIGIN})
    assert answer.content == b"data"
    assert access_headers(answer) == {"Access-Control-Allow-Origin": ORIGIN,
                                      "Access-Control-Allow-Methods": "GET, HEAD",
                                      "Access-Control-Expose-Headers": "x-oss-request-id", "Vary": "Origin"}
    error = requests.get(url(public_bucket, "missing"), headers={"Origin": ORIGIN})
    assert error.status_code == 404 and error.headers["Access-Control-Allow-Origin"] == ORIGIN
    not_allowed = requests.delete(url(public_bucket), headers={"Origin": ORIGIN})  # DELETE is not in the rule
    assert "Access-Control-Allow-Origin" not in not_allowed.headers and not_allowed.headers["Vary"] == "Origin"
    assert "Access-Control-Allow-Origin" not in requests.get(url(public_bucket)).headers  # no Origin, no CORS


# ---- referer ----

def test_referer_configuration_round_trips(server, public_bucket):
    default = public_bucket.get_bucket_referer()
    assert (default.allow_empty_referer, default.referers, default.allow_truncate_query_string) == (True, [], True)
    public_bucket.put_bucket_referer(BucketReferer(False, ["http://*.good.com", "中文+referer"], False,
                                                   ["http://bad.good.com"]))
    got = public_bucket.get_bucket_referer()
    assert (got.allow_empty_referer, got.referers, got.allow_truncate_query_string, got.black_referers) == \
        (False, ["http://*.good.com", "中文+referer"], False, ["http://bad.good.com"])
    client = v2_client(server)
    got = client.get_bucket_referer(oss.GetBucketRefererRequest(bucket=public_bucket.bucket_name))
    assert got.referer_configuration.referer_list.referers == ["http://*.good.com", "中文+referer"]


def test_referer_rules_judge_requests_without_a_signature_in_their_headers(public_bucket):
    public_bucket.put_bucket_referer(BucketReferer(False, ["http://*.good.com/*", "https://exact.com/pa?e"],
                                                   black_referers=["http://bad.good.com/*"]))

    def status(referer: str | None, target: str | None = None) -> int:
        return requests.get(target or url(public_bucket), headers={"Referer": referer} if referer else {}).status_code

    assert status("http://www.good.com/page") == 200
    assert status("https://exact.com/page?q=1") == 200  # the query string is dropped before matching
    assert status("https://exact.com/pages") == 403
    assert status("http://bad.good.com/page") == 403  # the blacklist wins
    assert status("http://other.com/") == 403
    assert status(None) == 403  # an empty Referer is not allowed
    refused = requests.get(url(public_bucket), headers={"Referer": "http://other.com/"})
    assert parse_error(refused.content)["Code"] == "AccessDenied"
    presigned = public_bucket.sign_url("GET", "k", 60)
    assert status(None, presigned) == 403 and status("http://www.good.com/", presigned) == 200
    assert public_bucket.get_object("k").read() == b"data"  # a request signed in its headers is not judged

    public_bucket.put_bucket_referer(BucketReferer(True, ["http://*.good.com/*"], False))
    assert status(None) == 200  # empty allowed now
    assert status("http://www.good.com/page?x") == 200  # matched with the query string: `*` takes it
    public_bucket.put_bucket_referer(BucketReferer(False, []))
    assert status(None) == 200 and status("http://anyone.com/") == 200  # an empty whitelist lets all in


# ---- DescribeRegions ----

def test_describe_regions_through_both_sdks(server, sig):
    service = oss2.Service(oss2.Auth(server.access_key_id, server.access_key_secret), server.endpoint)
    regions = service.describe_regions().regions
    assert {"oss-cn-hangzhou", "oss-cn-chengdu", "oss-eu-central-1"} <= {region.region for region in regions}
    endpoint = server.endpoint.removeprefix("http://")
    assert {(r.internet_endpoint, r.internal_endpoint, r.accelerate_endpoint) for r in regions} == \
        {(endpoint, endpoint, endpoint)}  # every region is this server
    assert [r.region for r in service.describe_regions("oss-cn-chengdu").regions] == ["oss-cn-chengdu"]
    with pytest.raises(oss2.exceptions.ServerError) as unknown:
        service.describe_regions("aaa")
    assert (unknown.value.status, unknown.value.code) == (404, "NoSuchRegion")
    client = v2_client(server)
    result = client.describe_regions(oss.DescribeRegionsRequest(regions="oss-cn-chengdu"))
    assert [info.region for info in result.region_info] == ["oss-cn-chengdu"]


# ---- bucket policy ----

def policy(bucket: oss2.Bucket, *statements: dict) -> str:
    return json.dumps({"Version": "1", "Statement": list(statements)})


def statement(effect: str, actions: list[str], resources: list[str], **extra) -> dict:
    return {"Effect": effect, "Action": actions, "Principal": ["*"], "Resource": resources, **extra}


def test_policy_round_trips_through_both_sdks(server, bucket):
    with pytest.raises(oss2.exceptions.NoSuchBucketPolicy):
        bucket.get_bucket_policy()
    text = policy(bucket, statement("Allow", ["oss:GetObject"], [f"acs:oss:*:*:{bucket.bucket_name}/*"]))
    bucket.put_bucket_policy(text)
    assert bucket.get_bucket_policy().policy == text  # kept as given
    client = v2_client(server)
    assert json.loads(client.get_bucket_policy(oss.GetBucketPolicyRequest(bucket=bucket.bucket_name)).body) == \
        json.loads(text)
    client.delete_bucket_policy(oss.DeleteBucketPolicyRequest(bucket=bucket.bucket_name))
    with pytest.raises(oss2.exceptions.NoSuchBucketPolicy):
        bucket.get_bucket_policy()


@pytest.mark.parametrize("text,reason", [
    ("not json", "not a JSON document"),
    ('{"Version": "2", "Statement": []}', "Version"),
    ('{"Version": "1", "Statement": [{"Effect": "Maybe", "Action": ["oss:GetObject"], "Resource": ["acs:oss:*:*:B/*"]}]}',
     "Effect"),
    ('{"Version": "1", "Statement": [{"Effect": "Allow", "Action": ["oss:GetObject"], '
     '"Resource": ["acs:oss:*:*:another-bucket/*"]}]}', "not in the bucket"),
    ('{"Version": "1", "Statement": [{"Effect": "Allow", "Action": ["oss:GetObject"], "Resource": ["acs:oss:*:*:B/*"], '
     '"Condition": {"DateLessThan": {"acs:CurrentTime": "2030-01-01T00:00:00Z"}}}]}', "does not evaluate"),
])
def test_policies_that_are_refused(bucket, text, reason):
    with pytest.raises(oss2.exceptions.OssError) as refused:
        bucket.put_bucket_policy(text.replace(":B/", f":{bucket.bucket_name}/"))
    assert (refused.value.status, refused.value.code) == (400, "InvalidPolicyDocument")
    assert reason in refused.value.message


def test_a_policy_grants_and_denies_anonymous_callers(bucket):
    name = bucket.bucket_name
    for key in ("public/a", "public/secret", "private/b", "uploads/old"):
        bucket.put_object(key, b"bytes")
    bucket.put_bucket_policy(policy(
        bucket,
        statement("Allow", ["oss:GetObject"], [f"acs:oss:*:*:{name}/public/*"]),
        statement("Deny", ["oss:GetObject"], [f"acs:oss:*:*:{name}/public/secret*"]),
        statement("Allow", ["oss:PutObject", "oss:DeleteObject"], [f"acs:oss:*:*:{name}/uploads/*"],
                  Condition={"IpAddress": {"acs:SourceIp": ["127.0.0.0/8"]}}),
        statement("Allow", ["oss:ListObjects"], [f"acs:oss:*:*:{name}"],
                  Condition={"StringLike": {"oss:Prefix": ["public/*"]}}),
    ))
    anonymous = oss2.Bucket(oss2.AnonymousAuth(), bucket.endpoint, name)
    assert anonymous.get_object("public/a").read() == b"bytes"  # granted though the bucket is private
    assert anonymous.head_object("public/a").content_length == 5
    for refused in (lambda: anonymous.get_object("public/secret"),  # the Deny wins
                    lambda: anonymous.get_object("private/b"),  # no statement: the ACL says no
                    lambda: anonymous.put_object("elsewhere", b"x"),
                    lambda: anonymous.list_objects(prefix="private/")):
        with pytest.raises(oss2.exceptions.AccessDenied):
            refused()
    anonymous.put_object("uploads/new", b"from anyone on loopback")
    assert [o.key for o in anonymous.list_objects(prefix="public/").object_list] == ["public/a", "public/secret"]
    result = anonymous.batch_delete_objects(["uploads/old", "private/b"])  # judged key by key
    assert result.deleted_keys == ["uploads/old"]
    assert bucket.get_object("public/secret").read() == b"bytes"  # the owner is not subject to the policy
    assert sorted(o.key for o in oss2.ObjectIterator(bucket)) == ["private/b", "public/a", "public/secret",
                                                                  "uploads/new"]
    bucket.delete_bucket_policy()
    with pytest.raises(oss2.exceptions.AccessDenied):
        anonymous.get_object("public/a")


def test_the_rules_hold_for_what_is_actually_read(bucket_with_acl):
    """The policy and referer rules judge the key read, not only the key asked for: a symlink's target, a
    website's index document, a copy's source; and an empty Authorization header is no signature."""
    open_bucket = bucket_with_acl(oss2.BUCKET_ACL_PUBLIC_READ_WRITE, "rules")
    name = open_bucket.bucket_name
    open_bucket.put_object("secret/x", b"TOPSECRET")
    open_bucket.put_object("secret/index.html", b"SECRET INDEX")
    open_bucket.put_object("public", b"fine")
    open_bucket.put_bucket_policy(policy(open_bucket, statement("Deny", ["oss:GetObject"],
                                                                [f"acs:oss:*:*:{name}/secret/*"])))
    anonymous = oss2.Bucket(oss2.AnonymousAuth(), open_bucket.endpoint, name)
    assert anonymous.get_object("public").read() == b"fine"
    with pytest.raises(oss2.exceptions.AccessDenied):
        anonymous.get_object("secret/x")
    empty_authorization = requests.get(url(open_bucket, "secret/x"), headers={"Authorization": ""})
    assert empty_authorization.status_code == 403

    anonymous.put_symlink("secret/x", "link")
    with pytest.raises(oss2.exceptions.AccessDenied):
        anonymous.get_object("link")
    site = (b"<WebsiteConfiguration><IndexDocument><Suffix>index.html</Suffix><SupportSubDir>true</SupportSubDir>"
            b"</IndexDocument><ErrorDocument><Key>secret/x</Key></ErrorDocument></WebsiteConfiguration>")
    assert signed_request(open_bucket.auth, "PUT", open_bucket.endpoint, name, params={"website": ""},
                          data=site).status_code == 200
    assert requests.get(url(open_bucket, "secret/")).status_code == 403  # its index document is denied
    assert requests.get(url(open_bucket, "nowhere")).status_code == 403  # and so is the error document
    with pytest.raises(oss2.exceptions.AccessDenied):
        anonymous.copy_object(name, "secret/x", "loot")
    assert not open_bucket.object_exists("loot")

    open_bucket.put_bucket_referer(BucketReferer(False, ["http://good.example/*"]))
    assert requests.get(url(open_bucket, "public"), headers={"Authorization": ""}).status_code == 403


@pytest.mark.parametrize("text", [
    "[" * 3000,  # nested deeper than the parser's recursion
    '{"Version":"1","Statement":[{"Effect":"Allow","Action":"oss:*","Resource":"acs:oss:*:*:B",'
    '"Condition":{"StringLike":{"\\ud800":"x"}}}]}',  # a lone surrogate, named in the error message
])
def test_hostile_policies_are_refused_cleanly(bucket, text):
    response = signed_request(bucket.auth, "PUT", bucket.endpoint, bucket.bucket_name, params={"policy": ""},
                              data=text.replace(":B\"", f":{bucket.bucket_name}\"").encode())
    assert response.status_code == 400, response.content
    assert parse_error(response.content)["Code"] == "InvalidPolicyDocument"


def test_a_cors_header_name_cannot_smuggle_a_header(public_bucket):
    body = (b"<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>"
            b"<ExposeHeader>x&#13;&#10;Set-Cookie: a</ExposeHeader></CORSRule></CORSConfiguration>")
    response = signed_request(public_bucket.auth, "PUT", public_bucket.endpoint, public_bucket.bucket_name,
                              params={"cors": ""}, data=body)
    assert (response.status_code, parse_error(response.content)["Code"]) == (400, "InvalidArgument")
    assert requests.get(url(public_bucket), headers={"Origin": ORIGIN}).status_code == 200


def test_a_conditional_policy_binds_the_owner_too_but_never_locks_it_out(bucket):
    """As in OSS: a statement for Principal * with a Condition concerns the bucket's owner as well; only its
    Deny matters. The owner can always remove the policy."""
    name = bucket.bucket_name
    bucket.put_object("k", b"bytes")
    everyone = {"StringNotLike": {"acs:UserAgent": ["*no-agent-is-like-this*"]}}
    bucket.put_bucket_policy(policy(bucket, statement("Deny", ["oss:*"], [f"acs:oss:*:*:{name}",
                                                                        f"acs:oss:*:*:{name}/*"],
                                                      Condition=everyone)))
    for refused in (lambda: bucket.get_object("k"), lambda: bucket.put_object("new", b"x"),
                    lambda: bucket.list_objects(), lambda: bucket.delete_object("k"),
                    lambda: requests.get(bucket.sign_url("GET", "k", 60)).raise_for_status()):
        with pytest.raises((oss2.exceptions.AccessDenied, requests.HTTPError)):
            refused()
    assert json.loads(bucket.get_bucket_policy().policy)["Statement"][0]["Effect"] == "Deny"
    bucket.delete_bucket_policy()  # the owner's way out
    assert bucket.get_object("k").read() == b"bytes"

    unconditional = policy(bucket, statement("Deny", ["oss:GetObject"], [f"acs:oss:*:*:{name}/*"]))
    bucket.put_bucket_policy(unconditional)
    assert bucket.get_object("k").read() == b"bytes"  # without a Condition, Principal * leaves the owner out
    owner = statement("Deny", ["oss:GetObject"], [f"acs:oss:*:*:{name}/*"])
    owner["Principal"] = [bucket.get_bucket_info().owner.id]
    bucket.put_bucket_policy(policy(bucket, owner))
    with pytest.raises(oss2.exceptions.AccessDenied):  # naming the owner's account binds it
        bucket.get_object("k")
    bucket.delete_bucket_policy()

