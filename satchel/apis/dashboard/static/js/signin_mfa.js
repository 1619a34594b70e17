// The second factor of a superuser sign-in. With MFA on `_superusers`, the password answers
// 401 {mfaId}; the sign-in is then finished with a code mailed on request (`request-otp` +
// `auth-with-otp`) or one from an authenticator app (`auth-with-totp`, Satchel's; docs/auth-totp.md),
// each sent with the mfaId.
import { auth, request } from "./api.js";
import { field, h, notice } from "./dom.js";
import { go } from "./router.js";

const BASE = "/api/collections/_superusers";

async function finish(path, body) {
  const result = await request("POST", `${BASE}/${path}`, { body, token: "" });
  auth.save(result.token, result.record);
  go("/collections");
}

/** Replaces the sign-in form's content with the second step for `email`. */
export function secondFactor(root, email, mfaId) {
  const status = h("div", { class: "status" });
  const fail = (error, focus) => {
    status.replaceChildren(notice(error.message, "error"));
    if (focus) focus.focus();
  };

  const appCode = h("input", { type: "text", inputmode: "numeric", autocomplete: "one-time-code", required: true, maxlength: 32 });
  const appForm = h("form", {
    class: "stack",
    "aria-labelledby": "mfa-app",
    onsubmit: async (event) => {
      event.preventDefault();
      status.replaceChildren();
      try {
        await finish("auth-with-totp", { mfaId, code: appCode.value.trim() });
      } catch (error) {
        fail(error, appCode);
      }
    },
  },
  h("h2", { id: "mfa-app" }, "Authenticator app"),
  field("Code from your authenticator app", appCode, { hint: "Or one of your recovery codes." }),
  h("button", { type: "submit", class: "btn btn-primary" }, "Verify app code"));

  let otpId = "";
  const mailCode = h("input", { type: "text", inputmode: "numeric", autocomplete: "one-time-code", required: true, maxlength: 32 });
  const mailCodeField = field("Code from the email", mailCode);
  const verifyMail = h("button", { type: "submit", class: "btn btn-primary" }, "Verify emailed code");
  const codeStep = h("div", { hidden: true }, mailCodeField, verifyMail);
  const send = h("button", {
    type: "button",
    class: "btn",
    onclick: async () => {
      status.replaceChildren();
      try {
        otpId = (await request("POST", `${BASE}/request-otp`, { body: { email }, token: "" })).otpId;
      } catch (error) {
        fail(error, null);
        return;
      }
      codeStep.hidden = false;
      send.textContent = "Send another code";
      status.replaceChildren(notice(`A code was sent to ${email}.`, "success"));
      mailCode.focus();
    },
  }, "Email me a code");
  const mailForm = h("form", {
    class: "stack",
    "aria-labelledby": "mfa-mail",
    onsubmit: async (event) => {
      event.preventDefault();
      status.replaceChildren();
      try {
        await finish("auth-with-otp", { otpId, password: mailCode.value.trim(), mfaId });
      } catch (error) {
        fail(error, mailCode);
      }
    },
  },
  h("h2", { id: "mfa-mail" }, "Code by email"),
  h("div", { class: "actions" }, send),
  codeStep);

  root.replaceChildren(h("div", { class: "card card-narrow stack" },
    h("h1", { tabindex: -1 }, "Second step"),
    h("p", {}, `Your password was right. Finish signing in as ${email} with a second factor.`),
    status,
    appForm,
    mailForm,
    h("button", { type: "button", class: "btn btn-ghost", onclick: () => { go("/login"); } }, "Start over")));
  root.querySelector("h1").focus();
}
