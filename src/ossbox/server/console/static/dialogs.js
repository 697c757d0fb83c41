// The console's dialogs: confirming a deletion, an object's details, sharing an object. Each is a modal
// <dialog> of index.html (role dialog, named by its heading); Escape or "Close" closes it.

import * as api from "./api.js";
import { $, announce, formatBytes, formatDate, h, showError } from "./dom.js";

/** Asks "Delete ...?"; resolves true when the user confirms. */
export function confirmDeletion(message) {
  const dialog = $("confirm-dialog");
  $("confirm-message").textContent = message;
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "confirm"), { once: true });
  });
}

/** Opens a dialog with its message line cleared. */
function openDialog(id) {
  const dialog = $(id);
  dialog.querySelector(".dialog-message").textContent = "";
  dialog.showModal();
}

function pairs(entries) {
  return entries.length ? entries.map(([name, value]) => `${name}=${value}`).join(", ") : "none";
}

/** Fills and opens the details of `key`, with its versions when the bucket has versioning. */
export async function showDetails(bucket, key, versioned) {
  const [details, versions] = await Promise.all([
    api.describeObject(bucket, key),
    versioned ? api.listVersions(bucket, key) : Promise.resolve(null),
  ]);
  const rows = [
    ["Key", key],
    ["Size", `${formatBytes(details.size)} (${details.size} bytes)`],
    ["ETag", details.etag],
    ["CRC64", details.crc64],
    ["Content type", details.contentType],
    ["Last modified", formatDate(details.modified)],
    ["Storage class", details.storageClass],
    ["ACL", details.acl],
    ["User metadata", pairs(details.meta)],
    ["Tags", pairs(details.tags)],
  ];
  if (details.versionId) rows.push(["Version ID", details.versionId]);
  $("details-list").replaceChildren(...rows.flatMap(([name, value]) => [h("dt", {}, name), h("dd", {}, value)]));
  $("versions-section").hidden = versions === null;
  $("versions-body").replaceChildren(...(versions || []).map((version) => h("tr", {},
    h("td", { className: "version-id" }, version.versionId + (version.deleteMarker ? " (delete marker)" : "")),
    h("td", {}, version.latest ? "yes" : "no"),
    h("td", {}, version.deleteMarker ? "" : formatBytes(version.size)),
    h("td", {}, formatDate(version.modified)),
  )));
  openDialog("details-dialog");
}

let sharing = null; // the object the share dialog is for: {bucket, key}

/** Opens the share dialog for `key`; the user chooses an expiry and creates the link there. */
export function openShare(bucket, key) {
  sharing = { bucket, key };
  $("share-key").textContent = key;
  $("share-url").value = "";
  $("copy-link").disabled = true;
  openDialog("share-dialog");
}

async function createLink(event) {
  event.preventDefault();
  try {
    $("share-url").value = await api.share(sharing.bucket, sharing.key, Number($("share-expiry").value));
    $("copy-link").disabled = false;
    $("share-url").select();
    announce(`Link created: it works for ${$("share-expiry").selectedOptions[0].textContent}.`);
  } catch (error) {
    showError(error);
  }
}

async function copyLink() {
  const field = $("share-url");
  try {
    await navigator.clipboard.writeText(field.value);
  } catch {
    field.select(); // no clipboard access (an insecure origin): select it for the user to copy
    document.execCommand("copy");
  }
  announce("Link copied.");
}

export function setUpDialogs() {
  $("share-form").addEventListener("submit", createLink);
  $("copy-link").addEventListener("click", copyLink);
}
