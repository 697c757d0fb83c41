// Uploading files: small ones with one PutObject, large ones in parts (InitiateMultipartUpload, UploadPart for
// each slice of the file, CompleteMultipartUpload), so a big file never has to be one request's body; a
// failed multipart upload is aborted, so its parts do not linger. Parts go one after the other, each an
// XMLHttpRequest, whose upload progress the caller is told as bytes sent of the whole file.

import * as api from "./api.js";

export const MULTIPART_THRESHOLD = 8 * 1024 * 1024;
const MAX_PARTS = 10000;

function partSize(size) {
  return Math.max(MULTIPART_THRESHOLD, Math.ceil(size / MAX_PARTS));
}

/** Uploads `file` as `key`; `onProgress(bytesSent)` is called as it goes. */
export async function uploadFile(bucket, key, file, onProgress) {
  const contentType = file.type ? { "Content-Type": file.type } : {};
  if (file.size <= MULTIPART_THRESHOLD) {
    await api.send("PUT", bucket, key, {}, file, contentType, onProgress);
    onProgress(file.size);
    return;
  }
  const uploadId = await api.initiateMultipartUpload(bucket, key, file.type);
  try {
    const size = partSize(file.size);
    const etags = [];
    for (let start = 0, number = 1; start < file.size; start += size, number += 1) {
      const request = await api.send("PUT", bucket, key, { partNumber: String(number), uploadId },
        file.slice(start, start + size), {}, (sent) => onProgress(start + sent));
      etags.push(request.getResponseHeader("ETag"));
    }
    await api.completeMultipartUpload(bucket, key, uploadId, etags);
    onProgress(file.size);
  } catch (error) {
    await api.abortMultipartUpload(bucket, key, uploadId).catch(() => {});
    throw error;
  }
}
