// Mail settings (`smtp`) and a test mail (POST /api/settings/test/email). The stored password is
// never sent back: leaving the box empty keeps it.
import { ApiError, request } from "./api.js";
import { field, h, notice } from "./dom.js";
import { checkbox, loadSettings, settingsForm, settingsNav } from "./settings_form.js";

const TEMPLATES = [["verification", "Verification"], ["password-reset", "Password reset"], ["email-change", "Email change"], ["otp", "One-time password"], ["login-alert", "Login alert"]];

function testMailForm() {
  const to = h("input", { type: "email", required: true, autocomplete: "email" });
  const template = h("select", {}, TEMPLATES.map(([value, label]) => h("option", { value }, label)));
  const toField = field("Send a test mail to", to);
  const status = h("div", { class: "status" });
  return h("form", {
    class: "card stack",
    onsubmit: async (event) => {
      event.preventDefault();
      status.replaceChildren();
      toField.setError("");
      try {
        await request("POST", "/api/settings/test/email", { body: { email: to.value, template: template.value } });
        status.append(notice(`Test mail sent to ${to.value}.`, "success"));
      } catch (error) {
        if (error instanceof ApiError) toField.setError(error.fieldMessage("email"));
        status.append(notice(`Test mail failed: ${error.message}`, "error"));
      }
    },
  }, h("h2", {}, "Test mail"), toField, field("Template", template), status,
  h("button", { type: "submit", class: "btn" }, "Send test mail"));
}

export async function mailSettingsPage(root) {
  const smtp = (await loadSettings()).smtp || {};
  const enabled = checkbox("Send mail through this SMTP server (otherwise: the local sendmail)", smtp.enabled);
  const host = h("input", { type: "text", value: smtp.host || "" });
  const port = h("input", { type: "number", min: 1, max: 65535, value: smtp.port ?? 587 });
  const username = h("input", { type: "text", value: smtp.username || "", autocomplete: "off" });
  const password = h("input", { type: "password", value: "", autocomplete: "new-password", placeholder: "unchanged" });
  const tls = checkbox("Implicit TLS (usually port 465)", smtp.tls);
  const authMethod = h("select", {}, [["", "Default (PLAIN)"], ["PLAIN", "PLAIN"], ["LOGIN", "LOGIN"]].map(([v, l]) => h("option", { value: v, selected: v === (smtp.authMethod || "") }, l)));
  const localName = h("input", { type: "text", value: smtp.localName || "" });
  const fields = {
    enabled,
    host: field("SMTP host", host),
    port: field("Port", port),
    username: field("Username", username),
    password: field("Password", password, { hint: "Leave empty to keep the stored password." }),
    tls,
    authMethod: field("Auth method", authMethod),
    localName: field("EHLO/HELO name", localName),
  };
  root.append(
    h("h1", {}, "Settings"),
    settingsNav("/mail"),
    settingsForm({
      title: "Mail (SMTP)",
      group: "smtp",
      fields,
      saveLabel: "Save mail settings",
      read: () => {
        const body = { enabled: enabled.control.checked, host: host.value, port: Number(port.value), username: username.value, tls: tls.control.checked, authMethod: authMethod.value, localName: localName.value };
        if (password.value) body.password = password.value;
        return { smtp: body };
      },
    }),
    testMailForm(),
  );
}
