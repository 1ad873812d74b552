// Every API error reaches the user: a heading saying what happened, the problem's
// detail, and each validation message next to the field its JSON Pointer names.
import { h } from "./dom.js";

// What happened, in words, for the banner: the problem's title is the HTTP phrase.
const HEADINGS = {
  0: "No connection to the server",
  400: "Check the form",
  401: "Sign in again",
  403: "Not allowed",
  404: "Not found: it may have been deleted",
  405: "Not possible here",
  409: "That clashes with what is already there",
  413: "Too much to send at once",
  415: "The server could not read this",
  429: "Too many requests: wait a moment, then try again",
  500: "Something went wrong on the server",
  503: "The server is unavailable: try again shortly",
};

/** The banner's heading for a problem: what happened, not the status line. */
export function headingFor(problem) {
  if (problem.status === 400 && !(problem.errors || []).length) return "The server did not accept this";
  return HEADINGS[problem.status] || (problem.status >= 500 ? HEADINGS[500] : "Something went wrong");
}

/** An error the page found itself, shown like the API's: message at pointer's field. */
export function formError(pointer, message) {
  const error = new Error(message);
  error.problem = {
    status: 400,
    title: "Bad Request",
    detail: "Nothing was sent: correct the marked field.",
    errors: [{ pointer, message }],
  };
  return error;
}

/** Clear what showProblem left in container. */
function clearProblem(container) {
  for (const slot of container.querySelectorAll(".field-error")) {
    slot.hidden = true;
    slot.textContent = "";
  }
  for (const control of container.querySelectorAll("[aria-invalid]")) control.removeAttribute("aria-invalid");
  for (const box of container.querySelectorAll(":scope > .problem")) box.remove();
}

/** Show error (an ApiError or any Error) at the top of container and at its fields. */
function showProblem(container, error) {
  clearProblem(container);
  const problem = error.problem || { status: -1, detail: String(error.message || error) };
  const unplaced = [];
  let firstField = null;
  for (const item of problem.errors || []) {
    const control = item.pointer !== undefined ? controlFor(container, item.pointer) : queryControl(container, item.query);
    if (control) {
      markInvalid(control, placed(control, item));
      firstField = firstField || control;
    } else {
      unplaced.push(item);
    }
  }
  const box = h(
    "div",
    { class: "problem", role: "alert", tabindex: "-1" },
    h("strong", {}, headingFor(problem)),
    problem.detail ? h("span", {}, " ", problem.detail) : null,
    unplaced.length ? h("ul", {}, unplaced.map((item) => h("li", {}, describe(item)))) : null,
  );
  container.prepend(box);
  (firstField || box).focus();
  return box;
}

/** The control for pointer, or for its nearest parent (/condition/above -> /condition). */
function controlFor(container, pointer) {
  let path = pointer;
  while (true) {
    const found = container.querySelector(`[data-pointer="${CSS.escape(path)}"]`);
    if (found) return found;
    if (!path) return null;
    path = path.slice(0, path.lastIndexOf("/"));
  }
}

/** The message as shown at control: a list item in a textarea (one a line) names its line. */
function placed(control, item) {
  const rest = item.pointer ? item.pointer.slice(control.dataset.pointer.length) : "";
  const index = /^\/(\d+)$/.exec(rest);
  if (index && control.tagName === "TEXTAREA") return `Line ${Number(index[1]) + 1}: ${item.message}`;
  return rest ? `${rest.slice(1)}: ${item.message}` : item.message;
}

function queryControl(container, name) {
  return name === undefined ? null : container.querySelector(`[data-query="${CSS.escape(name)}"]`);
}

function markInvalid(control, message) {
  control.setAttribute("aria-invalid", "true");
  const slot = document.getElementById(`${control.id}-error`);
  if (!slot) return;
  slot.textContent = slot.textContent ? `${slot.textContent} ${message}` : message;
  slot.hidden = false;
}

function describe(item) {
  if (item.query !== undefined) return `Query parameter ${item.query}: ${item.message}`;
  if (item.pointer) return `${item.pointer}: ${item.message}`;
  return item.message;
}

/** Run action(); show any error in container; true when it succeeded. */
export async function attempt(container, action) {
  try {
    clearProblem(container);
    await action();
    return true;
  } catch (error) {
    if (error.sessionEnded) return false; // the app shows the sign-in page and says why
    showProblem(container, error);
    return false;
  }
}

/** On submit: run action, showing errors in the form; the button is off meanwhile. */
export function onSubmit(form, action) {
  form.noValidate = true; // the API's messages are the ones shown, at their fields
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("[type=submit]");
    if (button) button.disabled = true;
    try {
      await attempt(form, () => action(event));
    } finally {
      if (button && button.isConnected) button.disabled = false;
    }
  });
  return form;
}
