// OAuth2 providers of an auth collection. The client secret is never sent back by the API:
// its box starts empty and an empty box keeps the stored secret.
import { field, h, nextId } from "./dom.js";

const KNOWN = ["apple", "discord", "github", "gitlab", "google", "microsoft", "oidc", "oidc2", "oidc3"];
const TEXT = [
  ["clientId", "Client id"],
  ["authURL", "Auth URL (OpenID Connect and custom providers)"],
  ["tokenURL", "Token URL"],
  ["userInfoURL", "User info URL"],
  ["displayName", "Display name"],
];

function providerEditor(entry, remove, listId) {
  const name = h("input", { type: "text", value: entry.name || "", list: listId, required: true, autocomplete: "off" });
  const inputs = Object.fromEntries(TEXT.map(([key]) => [key, h("input", { type: key.endsWith("URL") ? "url" : "text", value: entry[key] || "", autocomplete: "off" })]));
  const secret = h("input", { type: "password", value: "", autocomplete: "new-password", placeholder: entry.name ? "unchanged" : "" });
  const pkce = h("input", { type: "checkbox", checked: entry.pkce !== false, id: nextId("pkce") });
  const nameField = field("Provider", name);
  const row = h("fieldset", { class: "template-row" },
    h("legend", {}, entry.name ? `Provider “${entry.name}”` : "New provider"),
    nameField,
    field(TEXT[0][1], inputs.clientId),
    field("Client secret", secret, { hint: entry.name ? "Leave empty to keep the stored secret." : "" }),
    TEXT.slice(1).map(([key, label]) => field(label, inputs[key])),
    h("div", { class: "check" }, pkce, h("label", { for: pkce.id }, "PKCE")),
    h("button", { type: "button", class: "btn btn-small btn-danger", onclick: () => remove(row) }, "Remove provider"));
  row.read = () => {
    const out = { ...entry, name: name.value.trim(), pkce: pkce.checked };
    for (const [key] of TEXT) out[key] = inputs[key].value.trim();
    if (secret.value) out.clientSecret = secret.value;
    else delete out.clientSecret;
    return out;
  };
  row.setError = (errors) => {
    nameField.setError(Object.values(errors || {}).map((e) => e && e.message).filter(Boolean).join(" "));
  };
  return row;
}

export function oauth2Providers(providers) {
  const listId = nextId("providers");
  const list = h("div", { class: "stack" });
  const remove = (row) => row.remove();
  (providers || []).forEach((p) => list.append(providerEditor(p, remove, listId)));
  const add = () => {
    const row = providerEditor({}, remove, listId);
    list.append(row);
    row.querySelector("input").focus();
  };
  const section = h("details", {},
    h("summary", {}, "OAuth2 providers"),
    h("datalist", { id: listId }, KNOWN.map((n) => h("option", { value: n }))),
    list,
    h("button", { type: "button", class: "btn", onclick: add }, "Add provider"));
  const read = () => [...list.children].map((row) => row.read());
  const showErrors = (errors) => {
    [...list.children].forEach((row, i) => row.setError((errors || {})[String(i)]));
  };
  return { section, read, showErrors };
}
