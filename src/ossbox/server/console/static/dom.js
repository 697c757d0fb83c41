// Small DOM helpers: building elements, the page's live regions, and how sizes and dates are written.

/** An element: `h("a", {href: "#"}, "text", child)`; props go to properties, `aria-*`/`data-*` to attributes. */
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("aria-") || name.startsWith("data-") || name === "role" || name === "scope") {
      element.setAttribute(name, value);
    } else if (name.startsWith("on")) {
      element.addEventListener(name.slice(2), value);
    } else {
      element[name] = value;
    }
  }
  element.append(...children.filter((child) => child !== null && child !== undefined));
  return element;
}

export function $(id) {
  return document.getElementById(id);
}

// A modal dialog makes the rest of the page inert, its live regions too: while one is open, messages go to
// the dialog's own.
function openDialogMessage() {
  return document.querySelector("dialog[open] .dialog-message");
}

/** Says `text` in the polite status region (and clears any error). */
export function announce(text) {
  $("alert").textContent = "";
  (openDialogMessage() || $("status")).textContent = text;
}

/** Shows an error (an ApiError says its OSS code and message) in the assertive alert region. */
export function showError(error) {
  const text = error.code ? `${error.code}: ${error.message}` : String(error.message || error);
  $("status").textContent = "";
  (openDialogMessage() || $("alert")).textContent = text;
}

export function clearMessages() {
  $("alert").textContent = "";
  $("status").textContent = "";
}

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];

export function formatBytes(bytes) {
  let value = Number(bytes);
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${UNITS[unit]}`;
}

export function formatDate(text) {
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? text : date.toLocaleString();
}
