// One bucket: its settings (ACL, versioning), its objects folder by folder ("/" is the delimiter) with
// breadcrumbs, a prefix filter and pages of PAGE_SIZE entries, and what can be done to objects: download,
// details, share, delete one or several, upload by the file picker or by dropping files on the listing.

import * as api from "./api.js";
import { bucketHref } from "./buckets.js";
import { confirmDeletion, openShare, showDetails } from "./dialogs.js";
import { $, announce, formatBytes, formatDate, h, showError } from "./dom.js";
import { uploadFile } from "./upload.js";

export const PAGE_SIZE = 100;

// What is shown: the folder of a bucket, the filter typed, and the markers of the pages seen so far
// (markers[page] starts the current one; going back pops them).
const view = { bucket: "", folder: "", filter: "", markers: [""], page: 0, next: null, versioning: "" };
let shown = 0; // which listing is the latest asked for: an older answer arriving late is dropped

const baseName = (key) => key.slice(key.lastIndexOf("/") + 1) || key;

/** Shows `folder` of `bucket`; a different folder starts again from its first page, unfiltered, and a bucket
 * just opened has its settings read. */
export async function showBucket(bucket, folder) {
  const sameBucket = bucket === view.bucket;
  if (!sameBucket || folder !== view.folder) {
    Object.assign(view, { bucket, folder, filter: "", markers: [""], page: 0 });
    $("prefix-filter").value = "";
  }
  $("bucket-title").textContent = bucket;
  showBreadcrumbs();
  await Promise.all([sameBucket ? null : loadSettings(), loadPage()]);
}

/** The bucket is no longer shown: opening it again reads its settings again. */
export function leaveBucket() {
  view.bucket = "";
}

function showBreadcrumbs() {
  const crumbs = [["Buckets", "#"], [view.bucket, bucketHref(view.bucket)]];
  let prefix = "";
  for (const part of view.folder.split("/").slice(0, -1)) {
    prefix += `${part}/`;
    crumbs.push([`${part}/`, bucketHref(view.bucket, prefix)]);
  }
  $("breadcrumbs").replaceChildren(...crumbs.map(([name, href], index) => h("li", {},
    index === crumbs.length - 1 ? h("span", { "aria-current": "page" }, name) : h("a", { href }, name))));
}

async function loadSettings() {
  const bucket = view.bucket;
  try {
    const [acl, versioning, info] = await Promise.all([
      api.getBucketAcl(bucket), api.getVersioning(bucket), api.getBucketInfo(bucket),
    ]);
    if (bucket !== view.bucket) return; // another bucket opened meanwhile
    $("settings-acl").value = acl;
    $("settings-versioning").value = versioning;
    $("settings-storage-class").textContent = info.storageClass;
    view.versioning = versioning;
  } catch (error) {
    showError(error);
  }
}

async function loadPage() {
  const ticket = ++shown;
  const { bucket, folder, filter, markers, page } = view;
  const listing = await api.listObjects(bucket, folder + filter, markers[page], PAGE_SIZE);
  if (ticket !== shown) return;
  view.next = listing.next;
  const rows = [
    ...listing.folders.map((prefix) => folderRow(prefix)),
    ...listing.objects.map((object) => objectRow(object)),
  ];
  $("object-table").querySelector("tbody").replaceChildren(...rows);
  $("object-caption").textContent = `Objects in ${bucket}/${folder}${filter ? `, names starting ${filter}` : ""}`;
  $("no-objects").hidden = rows.length > 0;
  $("select-all").checked = false;
  $("previous-page").disabled = page === 0;
  $("next-page").disabled = listing.next === null;
  $("page-number").textContent = page > 0 || listing.next !== null ? `Page ${page + 1}` : "";
  updateSelection();
}

function folderRow(prefix) {
  const name = prefix.slice(view.folder.length);
  return h("tr", { className: "folder" },
    h("td", { className: "select" }),
    h("th", { scope: "row", className: "name" }, h("a", { href: bucketHref(view.bucket, prefix) }, name)),
    h("td", { className: "size" }, "Folder"),
    h("td", { className: "modified" }),
    h("td"));
}

function objectRow(object) {
  const { bucket } = view;
  const name = object.key.slice(view.folder.length) || object.key; // the folder's own marker object: its key
  const file = baseName(object.key);
  return h("tr", { className: "object", "data-key": object.key },
    h("td", { className: "select" }, h("input", {
      type: "checkbox", className: "pick", "aria-label": `Select ${name}`, onchange: updateSelection,
    })),
    h("th", { scope: "row", className: "name" }, name),
    h("td", { className: "size", "data-label": "Size" }, formatBytes(object.size)),
    h("td", { className: "modified", "data-label": "Last modified" }, formatDate(object.modified)),
    h("td", {}, h("div", { className: "row-actions" },
      h("a", { href: api.downloadUrl(bucket, object.key, file), download: file, className: "button" }, "Download"),
      h("button", { type: "button", onclick: () => details(object.key) }, "Details"),
      h("button", { type: "button", onclick: () => openShare(bucket, object.key) }, "Share"),
      h("button", { type: "button", className: "danger", onclick: () => deleteOne(object.key) }, "Delete"))));
}

function pickedKeys() {
  return [...document.querySelectorAll("#object-table input.pick:checked")].map(
    (box) => box.closest("tr").dataset.key);
}

function updateSelection() {
  $("delete-selected").disabled = pickedKeys().length === 0;
}

async function refresh(message) {
  try {
    await loadPage();
    if (message) announce(message);
  } catch (error) {
    showError(error);
  }
}

async function details(key) {
  try {
    await showDetails(view.bucket, key, view.versioning !== "");
  } catch (error) {
    showError(error);
  }
}

async function deleteOne(key) {
  if (!(await confirmDeletion(`Delete ${key}?`))) return;
  try {
    await api.deleteObject(view.bucket, key);
  } catch (error) {
    showError(error);
    return;
  }
  await refresh(`Deleted ${key}.`);
}

async function deleteSelected() {
  const keys = pickedKeys();
  if (!keys.length || !(await confirmDeletion(`Delete ${keys.length} selected object(s)?`))) return;
  try {
    const failures = await api.deleteObjects(view.bucket, keys);
    if (failures.length) {
      showError(new Error(`Some objects were not deleted: ${failures.map((f) => f.join(" ")).join("; ")}`));
      await loadPage();
      return;
    }
  } catch (error) {
    showError(error);
    return;
  }
  await refresh(`Deleted ${keys.length} object(s).`);
}

/** Uploads `files` one after the other into the folder shown, each with its progress bar. */
async function uploadFiles(files) {
  if (!files.length) return;
  const { bucket, folder } = view;
  $("uploads").hidden = false;
  let done = 0;
  for (const file of files) {
    const bar = h("progress", { max: Math.max(file.size, 1), value: 0, "aria-label": file.name });
    const state = h("span", { className: "upload-state" }, "uploading");
    $("upload-list").prepend(h("li", {}, h("span", { className: "upload-name" }, folder + file.name), bar, state));
    try {
      await uploadFile(bucket, folder + file.name, file, (sent) => { bar.value = sent; });
      bar.value = bar.max;
      state.textContent = "done";
      done += 1;
    } catch (error) {
      state.textContent = "failed";
      showError(error);
      break;
    }
  }
  if (done === files.length) {
    await refresh(`Uploaded ${done} file${done === 1 ? "" : "s"} to ${bucket}/${folder}.`);
  } else {
    await loadPage().catch(showError);
  }
}

async function saveAcl() {
  try {
    await api.putBucketAcl(view.bucket, $("settings-acl").value);
    announce(`The bucket's ACL is now ${$("settings-acl").value}.`);
  } catch (error) {
    showError(error);
  }
}

async function saveVersioning() {
  const status = $("settings-versioning").value;
  if (!status) return;
  try {
    await api.putVersioning(view.bucket, status);
    view.versioning = status;
    announce(`Versioning is now ${status}.`);
  } catch (error) {
    showError(error);
  }
}

function turnPage(step) {
  if (step > 0) {
    view.markers = [...view.markers.slice(0, view.page + 1), view.next];
  }
  view.page += step;
  refresh();
}

let filterTimer = 0;

function filterNow() {
  clearTimeout(filterTimer);
  if ($("prefix-filter").value === view.filter) return;
  Object.assign(view, { filter: $("prefix-filter").value, markers: [""], page: 0 });
  refresh();
}

function setUpDropZone() {
  const zone = $("drop-zone");
  const carriesFiles = (event) => [...event.dataTransfer.types].includes("Files");
  zone.addEventListener("dragover", (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
    zone.classList.add("dragging");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
  zone.addEventListener("drop", (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    zone.classList.remove("dragging");
    uploadFiles([...event.dataTransfer.files]);
  });
}

export function setUpObjects() {
  $("upload-input").addEventListener("change", async (event) => {
    const files = [...event.target.files];
    event.target.value = "";
    await uploadFiles(files);
  });
  setUpDropZone();
  $("select-all").addEventListener("change", (event) => {
    for (const box of document.querySelectorAll("#object-table input.pick")) box.checked = event.target.checked;
    updateSelection();
  });
  $("delete-selected").addEventListener("click", deleteSelected);
  $("previous-page").addEventListener("click", () => turnPage(-1));
  $("next-page").addEventListener("click", () => turnPage(1));
  $("prefix-filter").addEventListener("input", () => {
    clearTimeout(filterTimer);
    filterTimer = setTimeout(filterNow, 300);
  });
  $("filter-form").addEventListener("submit", (event) => {
    event.preventDefault();
    filterNow();
  });
  $("save-acl").addEventListener("click", saveAcl);
  $("save-versioning").addEventListener("click", saveVersioning);
}
