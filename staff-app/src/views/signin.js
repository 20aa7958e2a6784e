// Sign in: email and password, then whatever Cognito asks next (a new password the first time, setting up or
// typing a two-step code).
import { authSentence, confirmMfaSetup, sendTotp, setNewPassword, signIn } from "../auth.js";
import { alertBox, field, h, show } from "../dom.js";

export function signInView(config, done) {
  const panel = h("section", { class: "panel narrow", "aria-labelledby": "signin-title" });

  function step(title, intro, fields, buttonLabel, action) {
    const error = h("div");
    const button = h("button", { type: "submit" }, buttonLabel);
    const form = h("form", { novalidate: true }, ...fields, error, h("div", { class: "row" }, button));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      button.disabled = true;
      show(error);
      try {
        const next = await action();
        if (next.step === "done") done();
        else render(next);
      } catch (failure) {
        show(error, alertBox(authSentence(failure)));
        button.disabled = false;
      }
    });
    show(panel, h("h1", { id: "signin-title" }, title), intro && h("p", {}, intro), form);
    const first = form.querySelector("input");
    if (first) first.focus();
  }

  function render(state) {
    if (state.step === "start") {
      const email = h("input", { type: "email", autocomplete: "username", required: true });
      const password = h("input", { type: "password", autocomplete: "current-password", required: true });
      step("Sign in", `Greeter for ${config.storeName || "your store"}.`, [field("Email", email), field("Password", password)], "Sign in", () =>
        signIn(email.value, password.value),
      );
    } else if (state.step === "new-password") {
      const password = h("input", { type: "password", autocomplete: "new-password", required: true, minlength: "12" });
      step(
        "Choose your password",
        "This is your first sign-in: replace the temporary password.",
        [field("New password", password, "At least 12 characters, with upper- and lower-case letters and a digit.")],
        "Save password",
        () => setNewPassword(password.value),
      );
    } else if (state.step === "mfa-setup") {
      const code = h("input", { inputmode: "numeric", autocomplete: "one-time-code", pattern: "[0-9]{6}", maxlength: "6", required: true });
      const key = h("code", { id: "totp-secret" }, state.secret);
      step(
        "Set up two-step sign-in",
        null,
        [
          h("p", {}, "Add Greeter to an authenticator app on your phone (for example Google Authenticator or Microsoft Authenticator): choose \"enter a setup key\" and type this key:"),
          h("p", { class: "panel" }, key),
          field("6-digit code from the app", code),
        ],
        "Confirm",
        () => confirmMfaSetup(code.value),
      );
    } else if (state.step === "totp") {
      const code = h("input", { inputmode: "numeric", autocomplete: "one-time-code", pattern: "[0-9]{6}", maxlength: "6", required: true });
      step("Two-step sign-in", "Type the code your authenticator app shows for Greeter.", [field("6-digit code", code)], "Sign in", () =>
        sendTotp(code.value),
      );
    }
  }

  render({ step: "start" });
  return panel;
}
