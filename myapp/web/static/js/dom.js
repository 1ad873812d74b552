// DOM building without HTML strings: the page's CSP enforces Trusted Types.

const PROPERTIES = new Set(["value", "checked", "disabled", "hidden", "selected", "open"]);
let counter = 0;

/** h("button", {type: "button", onclick}, "Save"): an element with attributes and children. */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (PROPERTIES.has(key)) el[key] = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

export function uid(prefix = "id") {
  counter += 1;
  return `${prefix}-${counter}`;
}

/** A labelled control with a hint and a slot for the API's messages at a body `pointer` or `query` parameter. */
export function field(labelText, control, { hint, pointer, query } = {}) {
  control.id = control.id || uid("field");
  const describedBy = [];
  const hintEl = hint ? h("p", { class: "hint", id: `${control.id}-hint` }, hint) : null;
  if (hintEl) describedBy.push(hintEl.id);
  const error = h("p", { class: "field-error", id: `${control.id}-error`, hidden: true });
  describedBy.push(error.id);
  control.setAttribute("aria-describedby", describedBy.join(" "));
  if (pointer !== undefined) control.dataset.pointer = pointer;
  if (query) control.dataset.query = query;
  return h("div", { class: "field" }, h("label", { for: control.id }, labelText), hintEl, control, error);
}

/** A <select> of [value, label] pairs. */
export function select(options, selected, attrs = {}) {
  return h(
    "select",
    attrs,
    options.map(([value, label]) => h("option", { value, selected: value === selected }, label)),
  );
}

/** Say something to screen-reader users without moving focus. */
export function announce(text) {
  const status = document.getElementById("status");
  status.textContent = "";
  window.setTimeout(() => {
    status.textContent = text;
  }, 50);
}

/** Text for screen readers only, e.g. which row a button acts on. */
export function hidden(text) {
  return h("span", { class: "visually-hidden" }, text);
}

/** A button whose visible words are part of its name: "Edit" + hidden " Trip". */
export function rowButton(visible, object, attrs = {}) {
  return h("button", { type: "button", ...attrs }, visible, hidden(` ${object}`));
}

/** A page heading that takes focus after navigation. */
export function heading(text) {
  return h("h1", { tabindex: "-1" }, text);
}

// Times are shown in the user's zone (format.js), everywhere the same way.
import { formatTime } from "./format.js";

export { formatTime };

const UNITS = [
  ["year", 31536000],
  ["month", 2592000],
  ["day", 86400],
  ["hour", 3600],
  ["minute", 60],
  ["second", 1],
];
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });

function timeAgo(iso) {
  const seconds = (Date.parse(iso) - Date.now()) / 1000;
  for (const [unit, size] of UNITS) {
    if (Math.abs(seconds) >= size || unit === "second") {
      return relative.format(Math.round(seconds / size), unit);
    }
  }
  return "";
}

/** <time> showing how long ago, with the exact time as its tooltip. */
export function ago(iso) {
  if (!iso) return "never";
  return h("time", { datetime: iso, title: formatTime(iso) }, timeAgo(iso));
}

/** A horizontally scrollable region for a wide table, reachable by keyboard. */
export function tableRegion(label, table) {
  return h("div", { class: "table-wrap", role: "region", "aria-label": label, tabindex: "0" }, table);
}

/** A table whose cells name their column, so a phone can stack each row (app.css). */
export function table(headers, rows, caption) {
  const body = h("tbody", {}, rows);
  const labelRows = () => {
    for (const row of body.rows) {
      [...row.cells].forEach((cell, index) => {
        if (cell.tagName === "TD" && headers[index]) cell.dataset.label = headers[index];
      });
    }
  };
  labelRows();
  new MutationObserver(labelRows).observe(body, { childList: true, subtree: true });
  return h(
    "table",
    { class: "stackable" },
    caption ? h("caption", {}, caption) : null,
    h("thead", {}, h("tr", {}, headers.map((text) => h("th", { scope: "col" }, text)))),
    body,
  );
}

/** A readable text for a JSON value (readings' data). */
export function compactJson(value) {
  return JSON.stringify(value);
}

/** Copy text, then say so; a refused clipboard is reported, not ignored. */
export async function copyText(text, button) {
  try {
    await navigator.clipboard.writeText(text);
    button.textContent = "Copied";
    announce("Copied to the clipboard");
  } catch (error) {
    button.textContent = "Copy failed: select the text and copy it";
    announce("Copying failed; select the text and copy it yourself");
  }
}
