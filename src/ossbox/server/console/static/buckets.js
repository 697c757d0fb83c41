// The bucket list: every bucket as a link to its objects, creating a bucket (name, ACL, storage class) and
// deleting one (OSS refuses a bucket that is not empty: BucketNotEmpty is shown as it comes).

import * as api from "./api.js";
import { confirmDeletion } from "./dialogs.js";
import { $, announce, formatDate, h, showError } from "./dom.js";

export function bucketHref(bucket, prefix = "") {
  const params = new URLSearchParams({ b: bucket });
  if (prefix) params.set("p", prefix);
  return `#${params}`;
}

export async function showBuckets() {
  const buckets = await api.listBuckets();
  $("bucket-table").querySelector("tbody").replaceChildren(...buckets.map((bucket) => h("tr", {},
    h("th", { scope: "row" }, h("a", { href: bucketHref(bucket.name) }, bucket.name)),
    h("td", { "data-label": "Storage class" }, bucket.storageClass),
    h("td", { "data-label": "Created" }, formatDate(bucket.created)),
    h("td", {}, h("div", { className: "row-actions" },
      h("button", { type: "button", className: "danger", onclick: () => deleteBucket(bucket.name) }, "Delete"))),
  )));
  $("bucket-table").hidden = buckets.length === 0;
  $("no-buckets").hidden = buckets.length > 0;
}

async function deleteBucket(name) {
  if (!(await confirmDeletion(`Delete the bucket ${name}? Only an empty bucket can be deleted.`))) return;
  try {
    await api.deleteBucket(name);
    announce(`Deleted the bucket ${name}.`);
    await showBuckets();
  } catch (error) {
    showError(error);
  }
}

async function createBucket(event) {
  event.preventDefault();
  const form = event.target;
  const name = form.elements.name.value.trim();
  try {
    await api.createBucket(name, form.elements.acl.value, form.elements.storageClass.value);
    form.reset();
    announce(`Created the bucket ${name}.`);
    await showBuckets();
  } catch (error) {
    showError(error);
  }
}

export function setUpBuckets() {
  $("create-bucket-form").addEventListener("submit", createBucket);
}
