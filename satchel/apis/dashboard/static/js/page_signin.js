// Superuser sign-in with email and password (the same call as the SDK's authWithPassword).
import { auth, request } from "./api.js";
import { field, h, notice } from "./dom.js";
import { go } from "./router.js";
import { secondFactor } from "./signin_mfa.js";

export async function signIn(identity, password) {
  const result = await request("POST", "/api/collections/_superusers/auth-with-password", {
    body: { identity, password },
    token: "",
  });
  auth.save(result.token, result.record);
}

export function signinPage(root) {
  const email = h("input", { type: "email", name: "email", autocomplete: "username", required: true });
  const password = h("input", { type: "password", name: "password", autocomplete: "current-password", required: true });
  const status = h("div", { class: "status" });
  const form = h(
    "form",
    {
      class: "card card-narrow",
      "aria-labelledby": "signin-title",
      onsubmit: async (event) => {
        event.preventDefault();
        status.replaceChildren();
        try {
          await signIn(email.value, password.value);
          go("/collections");
        } catch (error) {
          if (error.status === 401 && typeof error.body?.mfaId === "string") {
            secondFactor(form.parentElement, email.value, error.body.mfaId); // MFA: a second factor
            return;
          }
          status.append(notice(error.message, "error"));
          password.focus();
        }
      },
    },
    h("h1", { id: "signin-title" }, "Superuser sign in"),
    field("Email", email),
    field("Password", password),
    status,
    h("button", { type: "submit", class: "btn btn-primary" }, "Sign in"),
  );
  root.append(h("main", { id: "main", class: "center" }, form));
}
