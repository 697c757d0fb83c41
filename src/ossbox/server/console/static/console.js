// The console's entry point: signing in and out, and which view the address shows. The address's fragment
// says it (`#b=<bucket>&p=<folder>` for a bucket's folder, nothing for the bucket list), so the browser's
// back and forward buttons and bookmarks work.

import * as api from "./api.js";
import { setUpBuckets, showBuckets } from "./buckets.js";
import { setUpDialogs } from "./dialogs.js";
import { $, announce, clearMessages, showError } from "./dom.js";
import { leaveBucket, setUpObjects, showBucket } from "./objects.js";

const VIEWS = ["sign-in-view", "buckets-view", "bucket-view"];

function showView(id) {
  for (const view of VIEWS) $(view).hidden = view !== id;
}

function signedInAs(keyId) {
  $("who").textContent = keyId ? `Signed in as ${keyId}` : "";
  $("sign-out").hidden = !keyId;
}

async function route() {
  const params = new URLSearchParams(location.hash.slice(1));
  const bucket = params.get("b");
  try {
    if (bucket) {
      showView("bucket-view");
      await showBucket(bucket, params.get("p") || "");
    } else {
      showView("buckets-view");
      leaveBucket();
      await showBuckets();
    }
  } catch (error) {
    showError(error);
  }
}

function askToSignIn() {
  signedInAs(null);
  showView("sign-in-view");
  $("access-key-id").focus();
}

async function signIn(event) {
  event.preventDefault();
  const form = event.target;
  try {
    const keyId = await api.signIn(form.elements.accessKeyId.value.trim(), form.elements.accessKeySecret.value);
    form.reset();
    clearMessages();
    signedInAs(keyId);
    await route();
  } catch (error) {
    showError(error.status === 401 ? new Error(error.message) : error);
    form.elements.accessKeySecret.select();
  }
}

async function signOut() {
  try {
    await api.signOut();
  } catch (error) {
    if (error.status !== 401) {
      showError(error);
      return;
    }
  }
  askToSignIn();
  announce("You are signed out.");
}

async function start() {
  setUpDialogs();
  setUpBuckets();
  setUpObjects();
  $("sign-in-form").addEventListener("submit", signIn);
  $("sign-out").addEventListener("click", signOut);
  window.addEventListener(api.SIGNED_OUT, askToSignIn);
  window.addEventListener("hashchange", async () => {
    if (!$("sign-out").hidden) {
      clearMessages();
      await route();
    }
  });
  try {
    const keyId = await api.currentSession();
    if (!keyId) {
      askToSignIn();
      return;
    }
    signedInAs(keyId);
    await route();
  } catch (error) {
    showError(error);
  }
}

start();
