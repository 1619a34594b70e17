// First run: `satchel serve` prints a link with a 30-minute token of a placeholder superuser.
// The form creates the first real superuser with it, signs in, then deletes the placeholder.
import { ApiError, auth, request, tokenClaims } from "./api.js";
import { field, h, notice } from "./dom.js";
import { go } from "./router.js";
import { signIn } from "./page_signin.js";

const SUPERUSERS = "/api/collections/_superusers/records";

export function installPage(root, route) {
  const setupToken = route.params.token;
  const email = h("input", { type: "email", name: "email", autocomplete: "username", required: true });
  const password = h("input", { type: "password", name: "password", autocomplete: "new-password", required: true, minlength: 8 });
  const confirm = h("input", { type: "password", name: "passwordConfirm", autocomplete: "new-password", required: true });
  const fields = { email: field("Email", email), password: field("Password", password, { hint: "At least 8 characters." }), passwordConfirm: field("Confirm password", confirm) };
  const status = h("div", { class: "status" });
  const form = h(
    "form",
    {
      class: "card card-narrow",
      "aria-labelledby": "install-title",
      onsubmit: async (event) => {
        event.preventDefault();
        status.replaceChildren();
        Object.values(fields).forEach((f) => f.setError(""));
        try {
          await request("POST", SUPERUSERS, {
            body: { email: email.value, password: password.value, passwordConfirm: confirm.value },
            token: setupToken,
          });
        } catch (error) {
          if (error instanceof ApiError) {
            for (const [name, wrap] of Object.entries(fields)) wrap.setError(error.fieldMessage(name));
          }
          const expired = error.status === 401 || error.status === 403;
          status.append(notice(expired ? "This setup link has expired or was already used: restart `satchel serve` for a new one." : error.message, "error"));
          return;
        }
        await signIn(email.value, password.value);
        const placeholder = tokenClaims(setupToken).id;
        if (placeholder) {
          try {
            await request("DELETE", `${SUPERUSERS}/${encodeURIComponent(placeholder)}`);
          } catch {
            // removed at the next start anyway
          }
        }
        go("/collections");
      },
    },
    h("h1", { id: "install-title" }, "Create your first superuser"),
    h("p", {}, "This account manages collections, records and settings."),
    fields.email,
    fields.password,
    fields.passwordConfirm,
    status,
    h("button", { type: "submit", class: "btn btn-primary" }, "Create superuser and sign in"),
  );
  auth.clear();
  root.append(h("main", { id: "main", class: "center" }, form));
}
