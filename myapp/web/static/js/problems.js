// Every API error reaches the user: the problem's title and detail, and each
// validation message next to the field its JSON Pointer names.
import { h } from "./dom.js";

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
  const problem = error.problem || { title: "Something went wrong", detail: String(error.message || error) };
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
    h("strong", {}, problem.title || "Error"),
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
