// Sign in and register. The API's validation messages appear at their fields.
import { hasSession, register, signIn, verifyEmail } from "../api.js";
import { append, field, h, heading } from "../dom.js";
import { attempt, onSubmit } from "../problems.js";

function noticeBox(notice) {
  if (!notice) return null;
  const role = notice.kind === "info" ? "status" : "alert";
  return h("div", { class: `notice notice-${notice.kind}`, role }, notice.text);
}

function submitButton(text) {
  return h("button", { type: "submit", class: "primary" }, text);
}

export function signInPage(main, params, query, notice) {
  const username = h("input", { name: "username", autocomplete: "username", required: true });
  const password = h("input", { name: "password", type: "password", autocomplete: "current-password", required: true });
  const form = onSubmit(
    h(
      "form",
      { class: "card narrow", "aria-labelledby": "signin-title" },
      field("Username or email", username, { pointer: "/username" }),
      field("Password", password, { pointer: "/password" }),
      submitButton("Sign in"),
    ),
    () => signIn(username.value.trim(), password.value),
  );
  // append() skips a missing notice; Element.append would print "null".
  append(main, [
    h("h1", { tabindex: "-1", id: "signin-title" }, "Sign in"),
    h(
      "p",
      { class: "intro" },
      "Keep your sensors' readings, see them charted in your time zone, get alerted when a value " +
        "crosses a line, and track goals and habits that your readings fulfil.",
    ),
    noticeBox(notice),
    form,
    h("p", {}, "No account yet? ", h("a", { href: "#/register" }, "Register")),
  ]);
}

export function registerPage(main) {
  const username = h("input", { name: "username", autocomplete: "username", required: true });
  const email = h("input", { name: "email", type: "email", autocomplete: "email", required: true });
  const password = h("input", { name: "password", type: "password", autocomplete: "new-password", required: true });
  const form = onSubmit(
    h(
      "form",
      { class: "card narrow", "aria-labelledby": "register-title" },
      field("Username", username, {
        pointer: "/username",
        hint: "3 to 32 letters, digits, dots, dashes or underscores.",
      }),
      field("Email", email, { pointer: "/email" }),
      field("Password", password, { pointer: "/password", hint: "8 to 128 characters, not your username." }),
      submitButton("Create account"),
    ),
    () => register({ username: username.value.trim(), email: email.value.trim(), password: password.value }),
  );
  main.append(
    heading("Register"),
    form,
    h("p", {}, "Already registered? ", h("a", { href: "#/signin" }, "Sign in")),
  );
  main.querySelector("h1").id = "register-title";
}

/** The page an email's verification link opens: it posts the link's token once. */
export async function verifyEmailPage(main, params, query) {
  const box = h("div", { class: "card narrow" });
  main.append(heading("Verify your email address"), box);
  const token = query.get("token") || "";
  const verified = await attempt(box, () => verifyEmail(token));
  if (!verified) {
    box.append(h("p", {}, "Ask for a new link with \"Send the link again\" beside \"Email me\" when you create or edit an alert rule."));
    return;
  }
  const next = hasSession() ? h("a", { href: "#/alerts" }, "Go to your alert rules") : h("a", { href: "#/signin" }, "Sign in");
  box.append(h("p", { role: "status" }, "Your email address is verified: alert rules may now email you. "), next);
}
