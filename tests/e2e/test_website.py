"""Static website hosting through both SDKs and as a browser asks: the configuration (routing rules kept as
given), the index document at the site's root and for directories (with and without SupportSubDir), the
error document for anonymous misses, and what stays as it was for the SDKs (signed listings, NoSuchKey).
"""

from __future__ import annotations

import alibabacloud_oss_v2 as oss
import oss2
import pytest
import requests
from oss2.models import BucketWebsite, Condition, Redirect, RoutingRule

from .conftest import v2_client
from .helpers import parse_error, signed_request


@pytest.fixture
def site(bucket_with_acl) -> oss2.Bucket:
    made = bucket_with_acl(oss2.BUCKET_ACL_PUBLIC_READ, "site")
    made.put_object("index.html", b"<h1>home</h1>", headers={"Content-Type": "text/html"})
    made.put_object("docs/index.html", b"<h1>docs</h1>")
    made.put_object("404.html", b"<h1>not here</h1>")
    return made


def browse(bucket: oss2.Bucket, path: str = "", method: str = "GET") -> requests.Response:
    return requests.request(method, f"{bucket.endpoint}/{bucket.bucket_name}/{path}")


def test_configuration_round_trips_through_both_sdks(server, site):
    with pytest.raises(oss2.exceptions.NoSuchWebsite):
        site.get_bucket_website()
    rule = RoutingRule(1, condition=Condition(key_prefix_equals="old/", http_err_code_return_equals=404),
                       redirect=Redirect(redirect_type="External", pass_query_string=True, proto="https",
                                         host_name="example.com", http_redirect_code=301,
                                         replace_key_prefix_with="new/"))
    site.put_bucket_website(BucketWebsite("index.html", "404.html", [rule]))
    got = site.get_bucket_website()
    assert (got.index_file, got.error_file, len(got.rules)) == ("index.html", "404.html", 1)
    (kept,) = got.rules
    assert (kept.rule_num, kept.condition.key_prefix_equals, kept.redirect.host_name) == (1, "old/", "example.com")
    assert (kept.redirect.pass_query_string, kept.redirect.http_redirect_code) == (True, 301)  # `True` kept as true
    client = v2_client(server)
    client.put_bucket_website(oss.PutBucketWebsiteRequest(
        bucket=site.bucket_name, website_configuration=oss.WebsiteConfiguration(
            index_document=oss.IndexDocument(suffix="index.html", support_sub_dir=True, type=0),
            error_document=oss.ErrorDocument(key="404.html", http_status=404))))
    config = client.get_bucket_website(oss.GetBucketWebsiteRequest(bucket=site.bucket_name)).website_configuration
    assert (config.index_document.suffix, config.index_document.support_sub_dir, config.index_document.type) == \
        ("index.html", True, 0)
    assert (config.error_document.key, config.error_document.http_status) == ("404.html", 404)
    client.delete_bucket_website(oss.DeleteBucketWebsiteRequest(bucket=site.bucket_name))
    site.delete_bucket_website()  # deleting what is not there succeeds too
    with pytest.raises(oss2.exceptions.NoSuchWebsite):
        site.get_bucket_website()


@pytest.mark.parametrize("body", [
    b"<WebsiteConfiguration><IndexDocument><Suffix>a/index.html</Suffix></IndexDocument></WebsiteConfiguration>",
    b"<WebsiteConfiguration><ErrorDocument><Key>e.html</Key><HttpStatus>500</HttpStatus></ErrorDocument>"
    b"</WebsiteConfiguration>",
    b"<WebsiteConfiguration></WebsiteConfiguration>",
    b"<WebsiteConfiguration><IndexDocument><Suffix>i.html</Suffix></IndexDocument><RoutingRules>"
    b"<RoutingRule><RuleNumber>1</RuleNumber></RoutingRule><RoutingRule><RuleNumber>1</RuleNumber></RoutingRule>"
    b"</RoutingRules></WebsiteConfiguration>",
])
def test_configurations_that_are_refused(site, body):
    response = signed_request(site.auth, "PUT", site.endpoint, site.bucket_name, params={"website": ""}, data=body)
    assert response.status_code == 400 and parse_error(response.content)["Code"] in ("InvalidArgument", "MalformedXML")
    with pytest.raises(oss2.exceptions.NoSuchWebsite):
        site.get_bucket_website()


def test_index_and_error_documents_as_a_browser_sees_them(site):
    site.put_bucket_website(BucketWebsite("index.html", "404.html"))
    home = browse(site)
    assert (home.status_code, home.content, home.headers["Content-Type"]) == (200, b"<h1>home</h1>", "text/html")
    assert browse(site, "docs/").content == b"<h1>home</h1>"  # without SupportSubDir: the root's index
    assert browse(site, "docs/", "HEAD").headers["Content-Length"] == str(len(b"<h1>home</h1>"))
    missing = browse(site, "nowhere.html")
    assert (missing.status_code, missing.content) == (404, b"<h1>not here</h1>")
    assert browse(site, "docs/index.html").content == b"<h1>docs</h1>"  # what exists is served as it is

    body = (b"<WebsiteConfiguration><IndexDocument><Suffix>index.html</Suffix><SupportSubDir>true</SupportSubDir>"
            b"</IndexDocument><ErrorDocument><Key>404.html</Key><HttpStatus>200</HttpStatus></ErrorDocument>"
            b"</WebsiteConfiguration>")
    assert signed_request(site.auth, "PUT", site.endpoint, site.bucket_name, params={"website": ""},
                          data=body).status_code == 200
    assert browse(site, "docs/").content == b"<h1>docs</h1>"  # the directory's own index
    assert browse(site, "nowhere.html").status_code == 200  # the error document's HttpStatus


def test_what_the_sdks_see_stays_as_it_was(site):
    site.put_bucket_website(BucketWebsite("index.html", "404.html"))
    assert sorted(o.key for o in site.list_objects().object_list) == ["404.html", "docs/index.html", "index.html"]
    with pytest.raises(oss2.exceptions.NoSuchKey):  # no error document for a signed request
        site.get_object("nowhere.html")
    assert site.get_object("some/dir/").read() == b"<h1>home</h1>"  # a directory's index, signed too (as OSS)
    with pytest.raises(oss2.exceptions.OssError) as version:
        site.get_object("some/dir/", params={"versionId": "null"})  # a version asked for is that version
    assert version.value.code == "NoSuchVersion"
    site.put_object_acl("index.html", oss2.OBJECT_ACL_PRIVATE)
    assert browse(site).status_code == 403  # the index document's own ACL holds
