// Talking to the server: the console's session, and OSS API requests sent through it.
//
// Every bucket and object action is a real OSS API request to /-/console/api/<bucket>/<key>?<query>: the
// server runs it exactly as it runs an SDK's request, identified by the session cookie. Requests that change
// something carry the session's CSRF token. Bucket names and keys are encoded with encodeURIComponent, so any
// character (space, %, +, #, ?, /, Unicode) stays part of the name; listings are asked with encoding-type=url
// and decoded here, so keys that XML cannot carry are listed too. Answers are parsed with DOMParser.

import { contentMd5 } from "./md5.js";

const API = "/-/console/api/";
const CSRF_HEADER = "X-CSRF-Token";
/** The event sent to `window` when a request is refused because the session is gone. */
export const SIGNED_OUT = "console-signed-out";
let csrfToken = "";

/** An OSS error answer (or a console endpoint's): its code, message and HTTP status. */
export class ApiError extends Error {
  constructor(code, message, status) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

// ---- the session ------------------------------------------------------------------------------------------

async function sessionCall(method, body) {
  const headers = { Accept: "application/json" };
  if (body) headers["Content-Type"] = "application/json";
  if (method !== "GET") headers[CSRF_HEADER] = csrfToken;
  const response = await fetch("/-/console/session", { method, headers, body: body && JSON.stringify(body) });
  const answer = await response.json();
  if (!response.ok) throw new ApiError(answer.code, answer.message, response.status);
  return answer;
}

/** The signed-in access key id, or null when not signed in. */
export async function currentSession() {
  try {
    const session = await sessionCall("GET");
    csrfToken = session.csrfToken;
    return session.accessKeyId;
  } catch (error) {
    if (error.status === 401) return null;
    throw error;
  }
}

export async function signIn(accessKeyId, accessKeySecret) {
  const session = await sessionCall("POST", { accessKeyId, accessKeySecret });
  csrfToken = session.csrfToken;
  return session.accessKeyId;
}

export async function signOut() {
  await sessionCall("DELETE");
  csrfToken = "";
}

/** A presigned GET URL of the object, valid for `expires` seconds, that works without the console. */
export async function share(bucket, key, expires) {
  const response = await fetch("/-/console/share", {
    method: "POST",
    headers: { "Content-Type": "application/json", [CSRF_HEADER]: csrfToken },
    body: JSON.stringify({ bucket, key, expires }),
  });
  const answer = await response.json();
  if (!response.ok) throw new ApiError(answer.code, answer.message, response.status);
  return answer.url;
}

// ---- OSS requests -----------------------------------------------------------------------------------------

/** The API URL of a bucket (key null), an object, or the service (bucket null); `query` maps names to values,
 * null for a bare sub-resource such as `acl`. */
export function apiUrl(bucket, key, query = {}) {
  let path = API;
  if (bucket) path += `${encodeURIComponent(bucket)}/${key ? encodeURIComponent(key) : ""}`;
  const parts = Object.entries(query)
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => (value === null ? name : `${name}=${encodeURIComponent(value)}`));
  return parts.length ? `${path}?${parts.join("&")}` : path;
}

function parseXml(text) {
  return new DOMParser().parseFromString(text, "application/xml");
}

/** The ApiError an OSS error answer describes; a HEAD answer has it base64-encoded in x-oss-err. */
export function errorOf(status, body, encodedHeader) {
  let text = body;
  if (!text && encodedHeader) {
    const bytes = Uint8Array.from(atob(encodedHeader), (c) => c.charCodeAt(0));
    text = new TextDecoder().decode(bytes);
  }
  const document = text ? parseXml(text) : null;
  const code = document?.querySelector("Error > Code")?.textContent;
  const message = document?.querySelector("Error > Message")?.textContent;
  return new ApiError(code || `HTTP ${status}`, message || "The request failed.", status);
}

/** Sends an OSS request; the Response, or throws the ApiError of an error answer. */
export async function call(method, bucket, key, { query = {}, headers = {}, body } = {}) {
  const sent = { ...headers };
  if (method !== "GET" && method !== "HEAD") sent[CSRF_HEADER] = csrfToken;
  const response = await fetch(apiUrl(bucket, key, query), { method, headers: sent, body });
  if (!response.ok) {
    const error = errorOf(response.status, method === "HEAD" ? "" : await response.text(),
      response.headers.get("x-oss-err"));
    if (response.status === 403 && !(await currentSession())) { // expired, or signed out elsewhere
      window.dispatchEvent(new Event(SIGNED_OUT));
      throw new ApiError("SessionEnded", "Your session has ended: sign in again.", 403);
    }
    throw error;
  }
  return response;
}

async function callXml(method, bucket, key, options) {
  const response = await call(method, bucket, key, options);
  return parseXml(await response.text());
}

/** The text of the first `selector` under `node` ("" when there is none). */
export function textOf(node, selector) {
  return node.querySelector(selector)?.textContent ?? "";
}

/** An XML document `<root>` with `children` ([name, text or nested children]) as text, escaped by the DOM. */
function xmlBody(root, children) {
  const document = new DOMParser().parseFromString(`<${root}/>`, "application/xml");
  const append = (parent, items) => {
    for (const [name, value] of items) {
      const element = document.createElement(name);
      if (Array.isArray(value)) append(element, value);
      else element.textContent = value;
      parent.append(element);
    }
  };
  append(document.documentElement, children);
  return `<?xml version="1.0" encoding="UTF-8"?>${new XMLSerializer().serializeToString(document)}`;
}

const decodeName = (text) => decodeURIComponent(text);

// ---- buckets ----------------------------------------------------------------------------------------------

export async function listBuckets() {
  const buckets = [];
  let marker = "";
  for (;;) {
    const document = await callXml("GET", null, null, { query: { marker, "max-keys": "1000" } });
    for (const bucket of document.querySelectorAll("Buckets > Bucket")) {
      buckets.push({
        name: textOf(bucket, "Name"),
        storageClass: textOf(bucket, "StorageClass"),
        created: textOf(bucket, "CreationDate"),
      });
    }
    if (textOf(document, "IsTruncated") !== "true") return buckets;
    marker = textOf(document, "NextMarker");
  }
}

export async function createBucket(name, acl, storageClass) {
  await call("PUT", name, null, {
    headers: { "x-oss-acl": acl, "Content-Type": "application/xml" },
    body: xmlBody("CreateBucketConfiguration", [["StorageClass", storageClass]]),
  });
}

export async function deleteBucket(name) {
  await call("DELETE", name, null);
}

/** The ACL an `AccessControlPolicy` document grants (bucket: private/public-read/...; object: also default). */
async function getAcl(bucket, key) {
  return textOf(await callXml("GET", bucket, key, { query: { acl: null } }), "AccessControlList > Grant");
}

export const getBucketAcl = (bucket) => getAcl(bucket, null);

export async function putBucketAcl(bucket, acl) {
  await call("PUT", bucket, null, { query: { acl: null }, headers: { "x-oss-acl": acl } });
}

/** "Enabled", "Suspended", or "" for a bucket whose versioning was never enabled. */
export async function getVersioning(bucket) {
  return textOf(await callXml("GET", bucket, null, { query: { versioning: null } }), "Status");
}

export async function putVersioning(bucket, status) {
  await call("PUT", bucket, null, {
    query: { versioning: null },
    headers: { "Content-Type": "application/xml" },
    body: xmlBody("VersioningConfiguration", [["Status", status]]),
  });
}

export async function getBucketInfo(bucket) {
  const document = await callXml("GET", bucket, null, { query: { bucketInfo: null } });
  return { storageClass: textOf(document, "Bucket > StorageClass") };
}

// ---- objects ----------------------------------------------------------------------------------------------

/** One page of the folder `prefix` (delimiter "/"): its subfolders and objects, and the next page's marker. */
export async function listObjects(bucket, prefix, marker, maxKeys) {
  const document = await callXml("GET", bucket, null, {
    query: { prefix, delimiter: "/", marker, "max-keys": String(maxKeys), "encoding-type": "url" },
  });
  const objects = [...document.querySelectorAll("ListBucketResult > Contents")].map((entry) => ({
    key: decodeName(textOf(entry, "Key")),
    size: Number(textOf(entry, "Size")),
    modified: textOf(entry, "LastModified"),
  }));
  const folders = [...document.querySelectorAll("ListBucketResult > CommonPrefixes > Prefix")].map((entry) =>
    decodeName(entry.textContent),
  );
  const truncated = textOf(document, "ListBucketResult > IsTruncated") === "true";
  const next = truncated ? decodeName(textOf(document, "ListBucketResult > NextMarker")) : null;
  return { objects, folders, next };
}

/** What HeadObject, GetObjectAcl and GetObjectTagging say of an object. */
export async function describeObject(bucket, key) {
  const head = await call("HEAD", bucket, key);
  const headers = head.headers;
  const meta = [];
  headers.forEach((value, name) => {
    if (name.startsWith("x-oss-meta-")) meta.push([name.slice("x-oss-meta-".length), value]);
  });
  const [acl, tagging] = await Promise.all([
    getAcl(bucket, key),
    callXml("GET", bucket, key, { query: { tagging: null } }),
  ]);
  const tags = [...tagging.querySelectorAll("TagSet > Tag")].map((tag) => [textOf(tag, "Key"), textOf(tag, "Value")]);
  return {
    size: Number(headers.get("Content-Length")),
    etag: headers.get("ETag") || "",
    crc64: headers.get("x-oss-hash-crc64ecma") || "",
    contentType: headers.get("Content-Type") || "",
    modified: headers.get("Last-Modified") || "",
    storageClass: headers.get("x-oss-storage-class") || "",
    versionId: headers.get("x-oss-version-id") || "",
    meta,
    acl,
    tags,
  };
}

/** Every version and delete marker of exactly `key`, newest first. */
export async function listVersions(bucket, key) {
  const versions = [];
  let keyMarker = "";
  let versionMarker = "";
  for (;;) {
    const document = await callXml("GET", bucket, null, {
      query: {
        versions: null, prefix: key, "key-marker": keyMarker, "version-id-marker": versionMarker,
        "max-keys": "1000", "encoding-type": "url",
      },
    });
    for (const entry of document.querySelectorAll("ListVersionsResult > Version, ListVersionsResult > DeleteMarker")) {
      if (decodeName(textOf(entry, "Key")) !== key) continue;
      versions.push({
        versionId: textOf(entry, "VersionId"),
        latest: textOf(entry, "IsLatest") === "true",
        deleteMarker: entry.tagName === "DeleteMarker",
        size: textOf(entry, "Size"),
        modified: textOf(entry, "LastModified"),
      });
    }
    if (textOf(document, "ListVersionsResult > IsTruncated") !== "true") return versions;
    keyMarker = decodeName(textOf(document, "NextKeyMarker"));
    versionMarker = textOf(document, "NextVersionIdMarker");
  }
}

export async function deleteObject(bucket, key) {
  await call("DELETE", bucket, key);
}

/** DeleteMultipleObjects with its Content-MD5; the keys it could not delete, as [key, "Code: message"]. */
export async function deleteObjects(bucket, keys) {
  const body = xmlBody("Delete", [["Quiet", "true"], ...keys.map((key) => ["Object", [["Key", key]]])]);
  const document = await callXml("POST", bucket, null, {
    query: { delete: null },
    headers: { "Content-Type": "application/xml", "Content-MD5": contentMd5(body) },
    body,
  });
  return [...document.querySelectorAll("DeleteResult > Error")].map((error) => [
    textOf(error, "Key"), `${textOf(error, "Code")}: ${textOf(error, "Message")}`,
  ]);
}

/** The URL that downloads the object as a file named `filename` (the browser sends the session cookie). */
export function downloadUrl(bucket, key, filename) {
  // RFC 5987: what encodeURIComponent leaves of ' ( ) * is not allowed either
  const encoded = encodeURIComponent(filename).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16)}`);
  return apiUrl(bucket, key, { "response-content-disposition": `attachment; filename*=UTF-8''${encoded}` });
}

// ---- uploads ----------------------------------------------------------------------------------------------

/** A request sent with XMLHttpRequest, whose upload reports progress (fetch cannot); resolves with the XHR. */
export function send(method, bucket, key, query, body, headers, onProgress) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open(method, apiUrl(bucket, key, query));
    request.setRequestHeader(CSRF_HEADER, csrfToken);
    for (const [name, value] of Object.entries(headers)) request.setRequestHeader(name, value);
    request.upload.addEventListener("progress", (event) => onProgress(event.loaded));
    request.addEventListener("load", () => {
      if (request.status >= 200 && request.status < 300) resolve(request);
      else reject(errorOf(request.status, request.responseText, null));
    });
    request.addEventListener("error", () => reject(new ApiError("NetworkError", "The upload was interrupted.", 0)));
    request.send(body);
  });
}

export async function initiateMultipartUpload(bucket, key, contentType) {
  const headers = contentType ? { "Content-Type": contentType } : {};
  const document = await callXml("POST", bucket, key, { query: { uploads: null }, headers });
  return textOf(document, "UploadId");
}

export async function completeMultipartUpload(bucket, key, uploadId, etags) {
  const parts = etags.map((etag, index) => ["Part", [["PartNumber", String(index + 1)], ["ETag", etag]]]);
  await call("POST", bucket, key, {
    query: { uploadId },
    headers: { "Content-Type": "application/xml" },
    body: xmlBody("CompleteMultipartUpload", parts),
  });
}

export async function abortMultipartUpload(bucket, key, uploadId) {
  await call("DELETE", bucket, key, { query: { uploadId } });
}
