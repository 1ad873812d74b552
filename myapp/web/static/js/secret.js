// A secret the API shows once (a device key, a webhook secret): copy it now.
import { copyText, h } from "./dom.js";

/** A panel with the secret, a copy button and a warning; focus lands on it. */
export function secretPanel(title, secret, warning) {
  const copy = h("button", { type: "button", class: "primary" }, "Copy");
  const done = h("button", { type: "button" }, "I have stored it");
  const panel = h(
    "section",
    { class: "secret", role: "region", "aria-label": title, tabindex: "-1" },
    h("h3", {}, title),
    h("p", { class: "warning" }, h("strong", {}, "Shown only once. "), warning),
    h("p", {}, h("code", { class: "secret-value" }, secret)),
    h("div", { class: "actions" }, copy, done),
  );
  copy.addEventListener("click", () => copyText(secret, copy));
  done.addEventListener("click", () => panel.remove());
  return panel;
}

/** Put panel at the top of container and move focus to it. */
export function revealSecret(container, panel) {
  for (const old of container.querySelectorAll(":scope > .secret")) old.remove();
  container.prepend(panel);
  panel.focus();
}
