"""Takes the web console's screenshots for the README (docs/screenshots/console-*.png).

Starts a throwaway `ossbox serve`, fills a demo bucket with oss2, and photographs the console's main pages with
Debian's Chromium, as the end-to-end tests drive it (tests/e2e/console_helpers.py). Run it from anywhere:

    python docs/screenshots/take.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import oss2
from playwright.sync_api import expect, sync_playwright

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "tests"))

from e2e.console_helpers import console_url, launch_chromium, sign_in_context
from server import start_server

BUCKET = "photos-and-reports"


def fill(server) -> None:
    auth = oss2.Auth(server.access_key_id, server.access_key_secret)
    for name, acl in ((BUCKET, "private"), ("website-assets", "public-read"), ("backups-2026", "private")):
        oss2.Bucket(auth, server.endpoint, name).create_bucket(acl)
    bucket = oss2.Bucket(auth, server.endpoint, BUCKET)
    bucket.put_bucket_versioning(oss2.models.BucketVersioningConfig("Enabled"))
    for key, size in (("reports/2026-q1.pdf", 48_213), ("reports/2026-q2.pdf", 51_877), ("photos/beach.jpg", 2_411_520),
                      ("photos/mountain.jpg", 3_145_728), ("README.md", 1_024), ("budget 2026 (draft).xlsx", 18_432)):
        bucket.put_object(key, b"x" * size)
    bucket.put_object("README.md", b"# Shared files\n" * 80, headers={
        "Content-Type": "text/markdown", "x-oss-meta-author": "alice", "x-oss-tagging": "team=docs"})


def main() -> None:
    with tempfile.TemporaryDirectory() as data, sync_playwright() as playwright:
        server = start_server(data)
        try:
            fill(server)
            browser = launch_chromium(playwright)
            context = browser.new_context(viewport={"width": 1100, "height": 720})
            page = context.new_page()
            page.goto(console_url(server.endpoint))
            page.get_by_label("Access key ID").fill(server.access_key_id)
            page.screenshot(path=HERE / "console-sign-in.png")

            sign_in_context(context, server.endpoint, server.access_key_id, server.access_key_secret)
            page.reload()
            expect(page.get_by_role("link", name=BUCKET)).to_be_visible()
            page.screenshot(path=HERE / "console-buckets.png", full_page=True)

            page.get_by_role("link", name=BUCKET).click()
            expect(page.get_by_role("link", name="photos/")).to_be_visible()
            page.get_by_label("Upload files").set_input_files([{"name": "notes.txt", "mimeType": "text/plain",
                                                               "buffer": b"notes\n" * 1000}])
            expect(page.get_by_role("status")).to_contain_text("Uploaded 1 file")
            page.screenshot(path=HERE / "console-objects.png", full_page=True)

            row = page.locator("#object-table tbody tr").filter(has=page.get_by_role("rowheader", name="README.md"))
            row.get_by_role("button", name="Details").click()
            expect(page.get_by_role("dialog", name="Object details").get_by_role("table")).to_be_visible()
            page.screenshot(path=HERE / "console-details.png")
            page.keyboard.press("Escape")

            row.get_by_role("button", name="Share").click()
            dialog = page.get_by_role("dialog", name="Share an object")
            dialog.get_by_role("button", name="Create link").click()
            expect(dialog.get_by_role("textbox", name="Shared link")).not_to_be_empty()
            page.screenshot(path=HERE / "console-share.png")

            phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                        device_scale_factor=2)
            sign_in_context(phone, server.endpoint, server.access_key_id, server.access_key_secret)
            small = phone.new_page()
            small.goto(console_url(server.endpoint) + f"#b={BUCKET}&p=photos/")
            expect(small.get_by_role("rowheader", name="beach.jpg")).to_be_visible()
            small.screenshot(path=HERE / "console-phone.png")
            browser.close()
        finally:
            server.stop()


if __name__ == "__main__":
    main()
