"""The web console end to end: a real `ossbox serve`, driven by Debian's Chromium through Playwright with the
locators a user's assistive technology sees (labels, roles, names), and checked with oss2 and plain HTTP.

Every flow of the page is covered: signing in (a wrong secret's message, the slow-down of repeated failures)
and out (the cookie stops working), buckets (created with an ACL and a storage class, deleted when empty),
bucket settings (ACL, versioning), browsing (folders, breadcrumbs, pages, the prefix filter), uploads (the
file picker, a 12 MiB multipart file, dragging and dropping), downloads, details, shared links, deleting one
object and several, keys that URLs and XML make tricky, and a phone-sized screen. And what keeps it safe:
no session or no CSRF token changes nothing, the cookie's attributes, the pages' headers, sessions shared by
worker processes and expired server-side.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import os
import re
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs, quote, urlsplit
from urllib.request import urlopen

import oss2
import pytest
import requests
from playwright.sync_api import expect, sync_playwright
from server import start_server
from tlscerts import make_authority

from ossbox.testing.plugin import remove_oss2_bucket

from .conftest import fresh_oss2_bucket, oss2_bucket, unique_bucket_name
from .console_helpers import COOKIE, CSRF_HEADER, ConsoleClient, console_url, launch_chromium, sign_in_context
from .helpers import crc64

# Keys that URLs (space, %, +, #, ?, Unicode), XML and HTML (&, <, >, quotes) make tricky.
TRICKY_KEYS = ["a b/ü%+#?.txt", "q&a <x> 'y' \"z\".txt", "100% + 50%=?&#.txt", "日本語/ファイル 😀.txt"]


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        launched = launch_chromium(playwright)
        yield launched
        launched.close()


@pytest.fixture
def console(server) -> str:
    return console_url(server.endpoint)


@pytest.fixture
def page(browser, server, console):
    """A page of a signed-in browser context, showing the bucket list."""
    context = browser.new_context()
    sign_in_context(context, server.endpoint, server.access_key_id, server.access_key_secret)
    shown = context.new_page()
    shown.goto(console)
    expect(shown.get_by_role("heading", name="Buckets", exact=True)).to_be_visible()
    yield shown
    context.close()


@pytest.fixture
def oss_bucket(server):
    with fresh_oss2_bucket(server, "console") as made:
        yield made


def open_bucket(page, name: str) -> None:
    page.get_by_role("link", name=name, exact=True).click()
    expect(page.get_by_role("heading", name=name, exact=True)).to_be_visible()


def object_row(page, name: str):
    """The listing's row of the object shown as `name`."""
    return page.locator("#object-table tbody tr").filter(has=page.get_by_role("rowheader", name=name, exact=True))


def confirm(page) -> None:
    page.get_by_role("dialog", name="Are you sure?").get_by_role("button", name="Delete").click()


def no_horizontal_overflow(page) -> bool:
    return page.evaluate("() => document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def api_path(bucket: str | None = None, key: str | None = None, query: str = "") -> str:
    path = "api/" + (f"{bucket}/" + (quote(key, safe="") if key else "") if bucket else "")
    return path + (f"?{query}" if query else "")


def error_code(answer: requests.Response) -> str:
    return re.search(r"<Code>(.*?)</Code>", answer.text).group(1)


# ---- signing in and out ---------------------------------------------------------------------------------------


def test_sign_in_tells_a_wrong_secret_then_signs_in_and_out(browser, server, console):
    context = browser.new_context()
    page = context.new_page()
    page.goto(console)
    page.get_by_label("Access key ID").fill(server.access_key_id)
    page.get_by_label("Access key secret").fill("not-the-secret")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("The access key ID or secret is wrong.")
    assert not [c for c in context.cookies() if c["name"] == COOKIE]

    page.get_by_label("Access key secret").fill(server.access_key_secret)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Buckets", exact=True)).to_be_visible()
    expect(page.get_by_text(f"Signed in as {server.access_key_id}")).to_be_visible()
    expect(page.get_by_role("alert")).to_be_empty()
    [cookie] = [c for c in context.cookies() if c["name"] == COOKIE]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/-/console/"
    assert not cookie["secure"]  # plain HTTP here; Secure over TLS
    assert abs(cookie["expires"] - (time.time() + 12 * 3600)) < 120
    stolen = {"Cookie": f"{COOKIE}={cookie['value']}"}
    assert requests.get(console + api_path(), headers=stolen, timeout=30).status_code == 200

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    expect(page.get_by_role("status")).to_have_text("You are signed out.")
    assert not [c for c in context.cookies() if c["name"] == COOKIE]
    refused = requests.get(console + api_path(), headers=stolen, timeout=30)  # revoked server-side, not only forgotten
    assert refused.status_code == 403 and error_code(refused) == "AccessDenied"
    assert requests.get(console + "session", headers=stolen, timeout=30).status_code == 401
    page.reload()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    context.close()


def test_a_page_whose_session_ended_asks_to_sign_in_again(page, console):
    [cookie] = [c for c in page.context.cookies() if c["name"] == COOKIE]
    stolen = {"Cookie": f"{COOKIE}={cookie['value']}"}
    csrf = requests.get(console + "session", headers=stolen, timeout=30).json()["csrfToken"]
    assert requests.delete(console + "session", headers={**stolen, CSRF_HEADER: csrf}, timeout=30).ok  # elsewhere
    page.get_by_label("Bucket name").fill(unique_bucket_name("console"))
    page.get_by_role("button", name="Create bucket").click()
    expect(page.get_by_role("alert")).to_have_text("SessionEnded: Your session has ended: sign in again.")
    expect(page.get_by_label("Access key ID")).to_be_focused()


class SourceAddressAdapter(requests.adapters.HTTPAdapter):
    """Connects from a given loopback address (Linux answers all of 127.0.0.0/8), as another client would."""

    def __init__(self, source: str) -> None:
        self.source = source
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.source, 0)
        super().init_poolmanager(*args, **kwargs)


def test_repeated_sign_in_failures_from_one_address_are_slowed_down(server, console):
    """Three failures are free; then each attempt from that address waits longer (0.5 s, 1 s, 2 s...), a right
    secret too, while another address is not slowed at all."""
    address = f"127.{secrets.randbelow(200) + 20}.{secrets.randbelow(250) + 1}.{secrets.randbelow(250) + 1}"

    def attempt(secret: str, source: str = address) -> tuple[int, float]:
        session = requests.Session()
        session.mount("http://", SourceAddressAdapter(source))
        started = time.monotonic()
        answer = session.post(console + "session", timeout=60,
                              json={"accessKeyId": server.access_key_id, "accessKeySecret": secret})
        return answer.status_code, time.monotonic() - started

    for _ in range(3):
        status, seconds = attempt("wrong")
        assert status == 401 and seconds < 0.5
    status, seconds = attempt("wrong")
    assert status == 401 and 0.5 <= seconds < 1.0
    status, seconds = attempt("wrong")
    assert status == 401 and 1.0 <= seconds < 2.0
    status, seconds = attempt(server.access_key_secret)
    assert status == 200 and 2.0 <= seconds < 4.0
    status, seconds = attempt(server.access_key_secret, source="127.0.0.1")
    assert status == 200 and seconds < 0.5


# ---- buckets ------------------------------------------------------------------------------------------------


def test_create_a_bucket_with_acl_and_storage_class_and_delete_it_once_empty(page, server):
    name = unique_bucket_name("console")
    made = oss2_bucket(server, name, "v4")
    try:
        page.get_by_label("Bucket name").fill(name)
        page.get_by_label("ACL", exact=True).select_option("public-read")
        page.get_by_label("Storage class").select_option("IA")
        page.get_by_role("button", name="Create bucket").click()
        expect(page.get_by_role("status")).to_have_text(f"Created the bucket {name}.")
        expect(page.get_by_role("link", name=name, exact=True)).to_be_visible()
        assert made.get_bucket_acl().acl == "public-read"
        assert made.get_bucket_info().storage_class == "IA"

        made.put_object("keep.txt", b"still here")
        row = page.get_by_role("row").filter(has=page.get_by_role("link", name=name, exact=True))
        row.get_by_role("button", name="Delete").click()
        confirm(page)
        expect(page.get_by_role("alert")).to_contain_text("BucketNotEmpty")
        assert made.get_bucket_info().name == name

        made.delete_object("keep.txt")
        row.get_by_role("button", name="Delete").click()
        page.get_by_role("dialog", name="Are you sure?").get_by_role("button", name="Cancel").click()
        assert made.get_bucket_info().name == name  # cancelled: nothing happened
        row.get_by_role("button", name="Delete").click()
        confirm(page)
        expect(page.get_by_role("status")).to_have_text(f"Deleted the bucket {name}.")
        expect(page.get_by_role("link", name=name, exact=True)).to_have_count(0)
        with pytest.raises(oss2.exceptions.NoSuchBucket):
            made.get_bucket_info()
    finally:
        remove_oss2_bucket(made)


def test_a_bucket_name_oss_refuses_is_reported(page):
    page.get_by_label("Bucket name").fill("Bad_Name")
    page.get_by_label("Bucket name").evaluate("input => input.removeAttribute('pattern')")  # past the form's hint
    page.get_by_role("button", name="Create bucket").click()
    expect(page.get_by_role("alert")).to_contain_text("InvalidBucketName")


def test_bucket_settings_change_acl_and_versioning(page, oss_bucket):
    page.reload()
    open_bucket(page, oss_bucket.bucket_name)
    expect(page.get_by_label("Bucket ACL")).to_have_value("private")
    expect(page.get_by_label("Versioning")).to_have_value("")
    page.get_by_label("Bucket ACL").select_option("public-read-write")
    page.get_by_role("button", name="Save ACL").click()
    expect(page.get_by_role("status")).to_have_text("The bucket's ACL is now public-read-write.")
    assert oss_bucket.get_bucket_acl().acl == "public-read-write"

    page.get_by_label("Versioning").select_option("Enabled")
    page.get_by_role("button", name="Save versioning").click()
    expect(page.get_by_role("status")).to_have_text("Versioning is now Enabled.")
    assert oss_bucket.get_bucket_versioning().status == "Enabled"
    page.get_by_label("Versioning").select_option("Suspended")
    page.get_by_role("button", name="Save versioning").click()
    expect(page.get_by_role("status")).to_have_text("Versioning is now Suspended.")
    assert oss_bucket.get_bucket_versioning().status == "Suspended"

    page.reload()  # what the page shows is what the server says
    expect(page.get_by_label("Bucket ACL")).to_have_value("public-read-write")
    expect(page.get_by_label("Versioning")).to_have_value("Suspended")


# ---- browsing -------------------------------------------------------------------------------------------------


def test_browse_folders_breadcrumbs_pages_and_prefix_filter(page, oss_bucket):
    keys = ["top.txt", "docs/readme.txt", "docs/sub/deep.txt", *(f"many/item-{i:03d}.txt" for i in range(105))]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda key: oss_bucket.put_object(key, key.encode()), keys))
    name = oss_bucket.bucket_name
    page.reload()
    open_bucket(page, name)
    breadcrumbs = page.get_by_role("navigation", name="Breadcrumb")
    expect(object_row(page, "top.txt")).to_have_count(1)
    expect(page.get_by_role("link", name="many/", exact=True)).to_be_visible()

    page.get_by_role("link", name="docs/", exact=True).click()
    expect(object_row(page, "readme.txt")).to_have_count(1)
    expect(breadcrumbs.get_by_role("link")).to_have_text(["Buckets", name])
    expect(breadcrumbs.locator("[aria-current=page]")).to_have_text("docs/")
    page.get_by_role("link", name="sub/", exact=True).click()
    expect(object_row(page, "deep.txt")).to_have_count(1)
    expect(breadcrumbs.get_by_role("link")).to_have_text(["Buckets", name, "docs/"])
    breadcrumbs.get_by_role("link", name="docs/").click()
    expect(object_row(page, "readme.txt")).to_have_count(1)
    page.go_back()  # the address says where the page is: back is the folder before
    expect(object_row(page, "deep.txt")).to_have_count(1)
    breadcrumbs.get_by_role("link", name=name).click()
    expect(object_row(page, "top.txt")).to_have_count(1)

    page.get_by_role("link", name="many/", exact=True).click()
    rows = page.locator("#object-table tbody tr.object")
    expect(rows).to_have_count(100)
    expect(page.get_by_role("button", name="Previous page")).to_be_disabled()
    page.get_by_role("button", name="Next page").click()
    expect(rows).to_have_count(5)
    expect(object_row(page, "item-104.txt")).to_have_count(1)
    expect(page.get_by_role("button", name="Next page")).to_be_disabled()
    page.get_by_role("button", name="Previous page").click()
    expect(rows).to_have_count(100)
    expect(object_row(page, "item-000.txt")).to_have_count(1)

    page.get_by_label("Filter by prefix").fill("item-10")
    expect(rows).to_have_count(5)
    expect(rows.get_by_role("rowheader")).to_have_text([f"item-{i}.txt" for i in range(100, 105)])
    page.get_by_label("Filter by prefix").fill("nothing-like-this")
    expect(page.get_by_text("No objects here.")).to_be_visible()
    breadcrumbs.get_by_role("link", name=name).click()
    expect(page.get_by_label("Filter by prefix")).to_have_value("")  # another folder: unfiltered


# ---- uploads --------------------------------------------------------------------------------------------------


def test_upload_by_the_file_picker_with_a_multipart_file(page, oss_bucket, tmp_path):
    oss_bucket.put_object("in/keep.txt", b"keep")
    big = os.urandom(12 << 20)
    (tmp_path / "big.bin").write_bytes(big)  # paths: Chromium reads them itself, much faster than sent buffers
    (tmp_path / "small note.txt").write_bytes(b"a small note")
    page.reload()
    open_bucket(page, oss_bucket.bucket_name)
    page.get_by_role("link", name="in/", exact=True).click()
    expect(object_row(page, "keep.txt")).to_have_count(1)
    page.get_by_label("Upload files").set_input_files([
        tmp_path / "small note.txt",
        tmp_path / "big.bin",
    ])
    expect(page.get_by_role("status")).to_have_text(f"Uploaded 2 files to {oss_bucket.bucket_name}/in/.",
                                                    timeout=30_000)
    expect(page.get_by_role("progressbar", name="big.bin")).to_have_attribute("value", str(len(big)))
    expect(page.get_by_role("progressbar", name="small note.txt")).to_have_attribute("value", "12")
    expect(object_row(page, "big.bin")).to_have_count(1)
    expect(object_row(page, "small note.txt")).to_have_count(1)

    stored = oss_bucket.get_object("in/big.bin")
    assert hashlib.md5(stored.read()).digest() == hashlib.md5(big).digest()
    assert stored.etag.endswith("-2")  # in two parts: 8 MiB and 4 MiB
    assert stored.headers["Content-Type"] == "application/octet-stream"
    small = oss_bucket.get_object("in/small note.txt")
    assert small.read() == b"a small note" and small.headers["Content-Type"] == "text/plain"
    assert "-" not in small.etag  # one PutObject


def test_upload_by_dropping_files_on_the_listing(page, oss_bucket):
    page.reload()
    open_bucket(page, oss_bucket.bucket_name)
    transfer = page.evaluate_handle("""() => {
        const transfer = new DataTransfer();
        transfer.items.add(new File(["dropped bytes \u00fc"], "dropped file.txt", {type: "text/plain"}));
        transfer.items.add(new File([new Uint8Array([0, 1, 2, 255])], "raw.bin"));
        return transfer;
    }""")
    zone = page.get_by_text("Drop files here to upload them into this folder.").locator("..")
    zone.dispatch_event("dragenter", {"dataTransfer": transfer})
    zone.dispatch_event("dragover", {"dataTransfer": transfer})
    zone.dispatch_event("drop", {"dataTransfer": transfer})
    expect(page.get_by_role("status")).to_have_text(f"Uploaded 2 files to {oss_bucket.bucket_name}/.")
    expect(object_row(page, "dropped file.txt")).to_have_count(1)
    assert oss_bucket.get_object("dropped file.txt").read() == "dropped bytes ü".encode()
    assert oss_bucket.get_object("raw.bin").read() == bytes([0, 1, 2, 255])


# ---- objects: download, details, share, delete, with tricky keys ------------------------------------------------


def folder_and_name(key: str) -> tuple[str, str]:
    folder, _, name = key.rpartition("/")
    return (folder + "/" if folder else ""), name


def show_buckets(page) -> None:
    """Back to the bucket list by the breadcrumbs, once it shows (the page changes views when the address does)."""
    page.get_by_role("navigation", name="Breadcrumb").get_by_role("link", name="Buckets").click()
    expect(page.get_by_role("heading", name="Buckets", exact=True)).to_be_visible()


def show_folder(page, bucket: str, folder: str) -> None:
    open_bucket(page, bucket)
    if folder:
        page.get_by_role("link", name=folder, exact=True).click()
        expect(page.get_by_role("navigation", name="Breadcrumb").locator("[aria-current=page]")).to_have_text(folder)


def test_download_tricky_keys(page, oss_bucket):
    contents = {key: f"bytes of {key}\n".encode() + os.urandom(100) for key in TRICKY_KEYS}
    for key, data in contents.items():
        oss_bucket.put_object(key, data)
    page.reload()
    for key, data in contents.items():
        folder, name = folder_and_name(key)
        show_folder(page, oss_bucket.bucket_name, folder)
        with page.expect_download() as download:
            object_row(page, name).get_by_role("link", name="Download").click()
        with open(download.value.path(), "rb") as file:
            assert file.read() == data, key
        assert download.value.suggested_filename.endswith(".txt")
        show_buckets(page)


def test_details_show_what_oss_says_of_an_object_and_its_versions(page, oss_bucket):
    oss_bucket.put_bucket_versioning(oss2.models.BucketVersioningConfig("Enabled"))
    key = TRICKY_KEYS[0]
    first = oss_bucket.put_object(key, b"first version")
    data = b"second version, longer"
    oss_bucket.put_object(key, data, headers={"x-oss-meta-owner": "alice", "Content-Type": "text/x-note",
                                              "x-oss-storage-class": "IA", "x-oss-tagging": "team=blue"})
    oss_bucket.put_object_acl(key, oss2.OBJECT_ACL_PUBLIC_READ)
    head = oss_bucket.head_object(key)
    page.reload()
    folder, name = folder_and_name(key)
    show_folder(page, oss_bucket.bucket_name, folder)
    object_row(page, name).get_by_role("button", name="Details").click()
    dialog = page.get_by_role("dialog", name="Object details")
    expect(dialog).to_be_visible()

    def field(label: str):
        return dialog.locator("dt", has_text=re.compile(f"^{label}$")).locator("xpath=following-sibling::dd[1]")

    expect(field("Key")).to_have_text(key)
    expect(field("Size")).to_contain_text(f"({len(data)} bytes)")
    expect(field("ETag")).to_have_text(f'"{head.etag}"')
    expect(field("CRC64")).to_have_text(str(crc64(data)))
    expect(field("Content type")).to_have_text("text/x-note")
    expect(field("User metadata")).to_have_text("owner=alice")
    expect(field("ACL")).to_have_text("public-read")
    expect(field("Tags")).to_have_text("team=blue")
    expect(field("Storage class")).to_have_text("IA")
    expect(field("Version ID")).to_have_text(head.versionid)
    versions = dialog.get_by_role("table").locator("tbody tr")
    expect(versions).to_have_count(2)
    expect(versions.first).to_contain_text(head.versionid)
    expect(versions.last).to_contain_text(first.versionid)
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()


def test_share_makes_a_link_that_works_without_the_console(browser, page, oss_bucket):
    key = TRICKY_KEYS[2]
    data = f"shared bytes {secrets.token_hex(16)}".encode()
    oss_bucket.put_object(key, data, headers={"Content-Type": "text/plain"})  # shown, not downloaded
    page.reload()
    open_bucket(page, oss_bucket.bucket_name)
    object_row(page, key).get_by_role("button", name="Share").click()
    dialog = page.get_by_role("dialog", name="Share an object")
    dialog.get_by_label("Link expires in").select_option("1 day")
    dialog.get_by_role("button", name="Create link").click()
    link = dialog.get_by_role("textbox", name="Shared link")
    expect(link).to_have_value(re.compile("^http://"))
    expect(link).to_have_attribute("readonly", "")
    url = link.input_value()
    assert urlsplit(url).netloc == urlsplit(page.url).netloc
    assert parse_qs(urlsplit(url).query)["x-oss-expires"] == ["86400"]
    dialog.get_by_role("button", name="Copy link").click()
    expect(dialog.get_by_role("status")).to_have_text("Link copied.")

    stranger = browser.new_context()  # no cookie
    try:
        response = stranger.new_page().goto(url)
        assert response.status == 200 and response.body() == data
    finally:
        stranger.close()
    with urlopen(url, timeout=30) as answer:
        assert answer.read() == data


def test_share_tricky_keys_over_http(server, oss_bucket):
    client = ConsoleClient.sign_in(server.endpoint, server.access_key_id, server.access_key_secret)
    for key in [*TRICKY_KEYS, "dots/../x.txt", "./lead"]:
        oss_bucket.put_object(key, key.encode())
        answer = client.request("POST", "share", json={"bucket": oss_bucket.bucket_name, "key": key, "expires": 60})
        assert answer.status_code == 200, answer.text
        with urlopen(answer.json()["url"], timeout=30) as shared:
            assert shared.read() == key.encode()
    for expires in (0, 7 * 86400 + 1, "60", 1.5):
        wanted = {"bucket": oss_bucket.bucket_name, "key": "x", "expires": expires}
        answer = client.request("POST", "share", json=wanted)
        assert answer.status_code == 400 and answer.json()["code"] == "InvalidArgument"


def test_delete_one_object_and_several_at_once(page, oss_bucket):
    keys = ["plain.txt", *TRICKY_KEYS[1:3], "x&y.txt"]
    for key in [*keys, TRICKY_KEYS[0]]:
        oss_bucket.put_object(key, b"x")
    page.reload()
    folder, name = folder_and_name(TRICKY_KEYS[0])
    show_folder(page, oss_bucket.bucket_name, folder)
    object_row(page, name).get_by_role("button", name="Delete").click()
    confirm(page)
    expect(page.get_by_role("status")).to_have_text(f"Deleted {TRICKY_KEYS[0]}.")
    expect(object_row(page, name)).to_have_count(0)
    assert not oss_bucket.object_exists(TRICKY_KEYS[0])

    page.get_by_role("navigation", name="Breadcrumb").get_by_role("link", name=oss_bucket.bucket_name).click()
    expect(page.get_by_role("button", name="Delete selected")).to_be_disabled()
    for key in keys[1:]:
        page.get_by_role("checkbox", name=f"Select {key}", exact=True).check()
    page.get_by_role("button", name="Delete selected").click()
    confirm(page)
    expect(page.get_by_role("status")).to_have_text("Deleted 3 object(s).")
    expect(page.locator("#object-table tbody tr.object")).to_have_count(1)
    expect(object_row(page, "plain.txt")).to_have_count(1)
    assert [o.key for o in oss2.ObjectIterator(oss_bucket)] == ["plain.txt"]


def test_the_page_md5_matches_python(page):
    """DeleteMultipleObjects' Content-MD5 is computed by the page's own MD5 (browsers have none)."""
    texts = ["", "a", "x" * 55, "x" * 56, "x" * 64, "<Delete>ü😀</Delete>" * 40]
    digests = page.evaluate("""async (texts) => {
        const { contentMd5 } = await import("./static/md5.js");
        return texts.map(contentMd5);
    }""", texts)
    assert digests == [base64.b64encode(hashlib.md5(t.encode()).digest()).decode() for t in texts]


# ---- a phone --------------------------------------------------------------------------------------------------


def test_the_main_flows_fit_a_phone(browser, server, console, oss_bucket):
    long_key = "reports/" + "quarterly-figures-without-any-spaces-" * 3 + ".csv"
    oss_bucket.put_object(long_key, b"1,2,3")
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                  device_scale_factor=2)
    try:
        page = context.new_page()
        page.goto(console)
        page.get_by_label("Access key ID").fill(server.access_key_id)
        page.get_by_label("Access key secret").fill(server.access_key_secret)
        assert no_horizontal_overflow(page)
        page.get_by_role("button", name="Sign in").tap()
        expect(page.get_by_role("button", name="Create bucket")).to_be_in_viewport()
        assert no_horizontal_overflow(page)
        page.get_by_role("link", name=oss_bucket.bucket_name, exact=True).tap()
        page.get_by_role("link", name="reports/", exact=True).tap()
        row = object_row(page, long_key.removeprefix("reports/"))
        expect(row).to_have_count(1)
        assert no_horizontal_overflow(page)
        for control in ("Download", "Details", "Share", "Delete"):
            box = row.get_by_role("link" if control == "Download" else "button", name=control).bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, control
        page.get_by_label("Upload files").set_input_files([{"name": "phone.txt", "mimeType": "text/plain",
                                                           "buffer": b"from a phone"}])
        expect(page.get_by_role("status")).to_have_text(f"Uploaded 1 file to {oss_bucket.bucket_name}/reports/.")
        assert oss_bucket.get_object("reports/phone.txt").read() == b"from a phone"
        row.get_by_role("button", name="Details").tap()
        expect(page.get_by_role("dialog", name="Object details")).to_be_visible()
        assert no_horizontal_overflow(page)
        page.get_by_role("dialog", name="Object details").get_by_role("button", name="Close").tap()
        row.get_by_role("button", name="Share").tap()
        dialog = page.get_by_role("dialog", name="Share an object")
        dialog.get_by_role("button", name="Create link").tap()
        expect(dialog.get_by_role("textbox", name="Shared link")).to_have_value(re.compile("^http://"))
        assert no_horizontal_overflow(page)
    finally:
        context.close()


# ---- security -------------------------------------------------------------------------------------------------


def test_api_requests_without_a_session_are_refused(server, console, oss_bucket):
    oss_bucket.put_object("secret.txt", b"secret")
    name = oss_bucket.bucket_name
    for headers in ({}, {"Cookie": f"{COOKIE}=not-a-session"}, {"Cookie": f"{COOKIE}={'A' * 43}"}):
        for method, path in (("GET", api_path()), ("GET", api_path(name)), ("GET", api_path(name, "secret.txt")),
                             ("PUT", api_path(name, "new.txt")), ("DELETE", api_path(name, "secret.txt"))):
            answer = requests.request(method, console + path, headers=headers, data=b"x" if method == "PUT" else None,
                                      timeout=30)
            assert answer.status_code == 403 and error_code(answer) == "AccessDenied", (method, path)
            assert "Sign in to the console first" in answer.text
        assert requests.get(console + "session", headers=headers, timeout=30).status_code == 401
        assert requests.post(console + "share", headers=headers, timeout=30,
                             json={"bucket": name, "key": "secret.txt", "expires": 60}).status_code == 401
    assert oss_bucket.get_object("secret.txt").read() == b"secret"
    assert not oss_bucket.object_exists("new.txt")


def test_changes_without_the_csrf_token_are_refused_and_change_nothing(server, oss_bucket):
    client = ConsoleClient.sign_in(server.endpoint, server.access_key_id, server.access_key_secret)
    name = oss_bucket.bucket_name
    oss_bucket.put_object("kept.txt", b"kept")
    delete_body = b"<Delete><Object><Key>kept.txt</Key></Object></Delete>"
    attempts = [
        ("PUT", api_path(name, "new.txt"), b"new", {}),
        ("DELETE", api_path(name, "kept.txt"), None, {}),
        ("POST", api_path(name, query="delete"), delete_body, {}),
        ("PUT", api_path(name, query="acl"), None, {"x-oss-acl": "public-read-write"}),
        ("DELETE", api_path(name), None, {}),
        ("POST", api_path(name, "new.txt", "uploads"), None, {}),
    ]
    for token in (None, "wrong", client.csrf[:-1]):
        for method, path, data, headers in attempts:
            sent = dict(headers) if token is None else {**headers, CSRF_HEADER: token}
            answer = client.request(method, path, data=data, headers=sent, with_csrf=False)
            assert answer.status_code == 403 and error_code(answer) == "AccessDenied", (method, path, token)
            assert CSRF_HEADER in answer.text
        shared = client.request("POST", "share", with_csrf=False, headers={} if token is None else {CSRF_HEADER: token},
                                json={"bucket": name, "key": "kept.txt", "expires": 60})
        assert shared.status_code == 403
        assert client.request("DELETE", "session", with_csrf=False,
                              headers={} if token is None else {CSRF_HEADER: token}).status_code == 403
    assert oss_bucket.get_object("kept.txt").read() == b"kept"
    assert not oss_bucket.object_exists("new.txt")
    assert oss_bucket.get_bucket_acl().acl == "private"
    assert not list(oss2.MultipartUploadIterator(oss_bucket))
    assert oss_bucket.get_bucket_info().name == name

    assert client.request("GET", api_path(name, "kept.txt"), with_csrf=False).content == b"kept"  # reads need none
    assert client.request("PUT", api_path(name, "new.txt"), data=b"new").status_code == 200  # with it: done
    assert oss_bucket.get_object("new.txt").read() == b"new"
    assert client.request("DELETE", "session").status_code == 200
    assert client.request("GET", api_path(name), with_csrf=False).status_code == 403


def test_sign_in_from_another_site_is_refused(server, console):
    for origin in ("https://evil.example", "null"):
        answer = requests.post(console + "session", headers={"Origin": origin}, timeout=30,
                               data={"accessKeyId": server.access_key_id, "accessKeySecret": server.access_key_secret})
        assert answer.status_code == 403 and COOKIE not in answer.cookies
    answer = requests.post(console + "session", headers={"Origin": server.endpoint}, timeout=30,
                           data={"accessKeyId": server.access_key_id, "accessKeySecret": server.access_key_secret})
    assert answer.status_code == 200 and COOKIE in answer.cookies  # a form post of the console's own page


def test_a_session_is_judged_like_a_signed_request_by_referer_rules(server, oss_bucket):
    """Referer rules guard links (anonymous and presigned requests); a session cookie never travels with one."""
    oss_bucket.put_object("guarded.txt", b"guarded")
    oss_bucket.put_bucket_referer(oss2.models.BucketReferer(False, ["https://allowed.example/*"]))
    client = ConsoleClient.sign_in(server.endpoint, server.access_key_id, server.access_key_secret)
    assert client.request("GET", api_path(oss_bucket.bucket_name, "guarded.txt")).content == b"guarded"
    shared = client.request("POST", "share", json={"bucket": oss_bucket.bucket_name, "key": "guarded.txt",
                                                   "expires": 60}).json()["url"]
    assert requests.get(shared, timeout=30).status_code == 403  # a link: no Referer, refused
    assert requests.get(shared, headers={"Referer": "https://allowed.example/page"}, timeout=30).content == b"guarded"


def test_sessions_expire_server_side(server, oss_bucket):
    client = ConsoleClient.sign_in(server.endpoint, server.access_key_id, server.access_key_secret)
    assert client.request("GET", api_path(oss_bucket.bucket_name)).status_code == 200
    path = os.path.join(server.data_dir, "console", "sessions", hashlib.sha256(client.token.encode()).hexdigest())
    with open(path) as file:
        stored = json.load(file)
    assert client.token not in json.dumps(stored)  # the file does not hold what the browser presents
    stored["expires"] = time.time() - 1
    with open(path, "w") as file:
        json.dump(stored, file)
    answer = client.request("GET", api_path(oss_bucket.bucket_name))
    assert answer.status_code == 403 and error_code(answer) == "AccessDenied"
    assert not os.path.exists(path)  # removed once seen expired


def test_sessions_are_shared_by_worker_processes(tmp_path):
    running = start_server(str(tmp_path / "data"), "--workers", "2")
    try:
        client = ConsoleClient.sign_in(running.endpoint, running.access_key_id, running.access_key_secret)
        assert client.request("PUT", api_path("console-workers"), data=b"").status_code == 200
        # each request a new connection: the kernel spreads them over both workers
        assert {client.request("GET", api_path()).status_code for _ in range(12)} == {200}
        assert client.request("DELETE", "session").status_code == 200
        assert {client.request("GET", api_path()).status_code for _ in range(12)} == {403}
    finally:
        assert running.stop() == 0


def test_rotating_the_secret_ends_the_sessions_opened_with_the_old_one(tmp_path):
    data = str(tmp_path / "data")
    running = start_server(data)
    try:
        client = ConsoleClient.sign_in(running.endpoint, running.access_key_id, running.access_key_secret)
        assert client.request("GET", api_path()).status_code == 200
    finally:
        assert running.stop() == 0
    rotated = start_server(data, env={"OSSBOX_ACCESS_KEY_SECRET": "a-rotated-secret-0000000000"})
    try:
        client.endpoint = rotated.endpoint
        assert client.request("GET", api_path()).status_code == 403
        assert client.request("POST", "share", json={"bucket": "any-bucket", "key": "k", "expires": 60}
                              ).status_code == 401
        assert client.request("GET", "session").status_code == 401
        assert not os.listdir(os.path.join(data, "console", "sessions"))  # the void session was removed
    finally:
        assert rotated.stop() == 0


def test_over_tls_the_cookie_is_secure_and_shared_links_are_https(tmp_path):
    issued = make_authority(tmp_path).issue(tmp_path)
    running = start_server(str(tmp_path / "data"), "--tls-cert", str(issued.cert_file), "--tls-key",
                           str(issued.key_file))
    try:
        trusted = str(tmp_path / "ca.pem")
        credentials = {"accessKeyId": running.access_key_id, "accessKeySecret": running.access_key_secret}
        signed_in = requests.post(console_url(running.endpoint) + "session", json=credentials, verify=trusted,
                                  timeout=30)
        attributes = [part.strip().lower() for part in signed_in.headers["Set-Cookie"].split(";")]
        assert {"secure", "httponly", "samesite=strict", "path=/-/console/"} <= set(attributes)
        cookie = {"Cookie": f"{COOKIE}={signed_in.cookies[COOKIE]}", CSRF_HEADER: signed_in.json()["csrfToken"]}
        assert requests.put(console_url(running.endpoint) + api_path("console-tls"), headers=cookie, verify=trusted,
                            timeout=30).status_code == 200
        requests.put(console_url(running.endpoint) + api_path("console-tls", "k"), data=b"over TLS", headers=cookie,
                     verify=trusted, timeout=30).raise_for_status()
        shared = requests.post(console_url(running.endpoint) + "share", headers=cookie, verify=trusted, timeout=30,
                               json={"bucket": "console-tls", "key": "k", "expires": 60}).json()["url"]
        assert shared.startswith(f"https://127.0.0.1:{running.port}/console-tls/k?")
        assert requests.get(shared, verify=trusted, timeout=30).content == b"over TLS"
    finally:
        assert running.stop() == 0


def test_console_pages_carry_strict_headers_and_nothing_else_is_served(server, console, oss_bucket):
    page = requests.get(console, timeout=30)
    assert page.status_code == 200 and page.headers["Content-Type"] == "text/html; charset=utf-8"
    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe" not in policy
    for answer in (page, requests.get(console + "session", timeout=30)):
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["Referrer-Policy"] == "no-referrer"
        assert answer.headers["X-Frame-Options"] == "DENY"
    assert requests.get(console + "static/console.js", timeout=30).headers["Content-Type"].startswith("text/javascript")
    assert requests.get(console + "static/console.css", timeout=30).headers["Content-Type"].startswith("text/css")
    moved = requests.get(console.rstrip("/"), timeout=30, allow_redirects=False)
    assert moved.status_code == 308 and moved.headers["Location"] == "/-/console/"

    for path in ("static/../../etc/passwd", "static/%2e%2e/__init__.py", "static/..%2f..%2fsessions.py",
                 "static/nope.js", "static/", "nope", "api", "sessionx", "static/index.html/x"):
        connection = http.client.HTTPConnection(server.host, server.port, timeout=30)
        connection.request("GET", "/-/console/" + path)  # exactly as written: no client normalises it
        assert connection.getresponse().status == 404, path
        connection.close()
    assert requests.post(console, timeout=30).status_code == 405
    assert requests.put(console + "session", timeout=30).status_code == 405

    # an object's bytes served through the console can never run as one of its pages
    oss_bucket.put_object("page.html", b"<script>alert(1)</script>", headers={"Content-Type": "text/html"})
    client = ConsoleClient.sign_in(server.endpoint, server.access_key_id, server.access_key_secret)
    served = client.request("GET", api_path(oss_bucket.bucket_name, "page.html"))
    assert served.status_code == 200 and "sandbox" in served.headers["Content-Security-Policy"]
    assert served.headers["X-Content-Type-Options"] == "nosniff"



TAKEOVER_PAGE = """<html><head><title>victim</title></head><body><script>
(async () => {
  try {
    const session = await (await fetch('/-/console/session')).json();
    const made = await fetch('/-/console/api/%s/', {method: 'PUT', headers: {'X-CSRF-Token': session.csrfToken}});
    document.title = 'took over: ' + made.status;
  } catch (error) {
    document.title = 'script ran, fetch failed: ' + error;
  }
})();
</script></body></html>"""


def test_an_html_object_on_the_consoles_origin_cannot_act_with_its_session(page, server, oss_bucket):
    """An object anyone may write (a public-read-write bucket), opened path style by a signed-in user, is on
    the console's origin: it must not run script there, or it could read the CSRF token and act as the user."""
    oss_bucket.put_bucket_acl(oss2.BUCKET_ACL_PUBLIC_READ_WRITE)
    victim_bucket = f"{oss_bucket.bucket_name}-taken"
    anonymous = oss2.Bucket(oss2.AnonymousAuth(), server.endpoint, oss_bucket.bucket_name)
    anonymous.put_object("page.html", (TAKEOVER_PAGE % victim_bucket).encode(), headers={"Content-Type": "text/html"})
    answer = requests.get(f"{server.endpoint}/{oss_bucket.bucket_name}/page.html", timeout=30)
    assert answer.headers["Content-Security-Policy"] == "sandbox"

    page.goto(f"{server.endpoint}/{oss_bucket.bucket_name}/page.html")
    page.wait_for_timeout(1500)  # time for a script, had it run, to make its requests
    assert not page.title().startswith("took over")
    service = oss2.Service(oss2.Auth(server.access_key_id, server.access_key_secret), server.endpoint)
    assert victim_bucket not in [bucket.name for bucket in service.list_buckets().buckets]


def test_a_sign_in_body_nested_too_deep_is_refused_not_a_crash(server, console):
    deep = "[" * 8000 + "]" * 8000
    answer = requests.post(console + "session", data=deep[:16000], headers={"Content-Type": "application/json"},
                           timeout=30)
    assert answer.status_code == 400
