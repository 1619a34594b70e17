// The form of one webhook (new or existing): URL, name, collections and events filters, active,
// and the signing secret. The API never answers the secret, so an existing webhook's box starts
// empty (empty keeps it); a new one gets a random secret the page shows once after saving.
import { ApiError, request } from "./api.js";
import { field, h, nextId, notice } from "./dom.js";

const ACTIONS = ["create", "update", "delete"];

export function randomSecret() {
  const bytes = new Uint8Array(24);
  crypto.getRandomValues(bytes);
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** A fieldset of checkboxes with a `setError` like field()'s; `values()` lists the ticked ones. */
function choices(legend, hint, options, chosen) {
  const errorId = nextId("err");
  const error = h("p", { class: "field-error", id: errorId, role: "alert", hidden: true });
  const boxes = options.map((value) => {
    const box = h("input", { type: "checkbox", id: nextId("chk"), value, checked: chosen.includes(value), "aria-describedby": errorId });
    return [value, box, h("div", { class: "check" }, box, h("label", { for: box.id }, value))];
  });
  const wrap = h("fieldset", { class: "choices" }, h("legend", {}, legend), h("p", { class: "hint" }, hint),
    h("div", { class: "choice-list" }, boxes.map(([, , row]) => row)), error);
  wrap.values = () => boxes.filter(([, box]) => box.checked).map(([value]) => value);
  wrap.setError = (message) => {
    error.textContent = message || "";
    error.hidden = !message;
  };
  return wrap;
}

/**
 * The form; `onSaved(hook, secret)` gets the saved webhook and the secret it was given ("" when
 * an edit kept the old one).
 */
export function webhookForm(hook, collectionNames, onSaved) {
  const isNew = !hook;
  const url = h("input", { type: "url", required: true, value: hook?.url || "", placeholder: "https://example.com/hooks/satchel", autocomplete: "off" });
  const name = h("input", { type: "text", value: hook?.name || "", maxlength: 100, autocomplete: "off" });
  const secret = h("input", { type: "text", class: "mono", value: isNew ? randomSecret() : "", required: isNew, minlength: 16, maxlength: 256, autocomplete: "off", spellcheck: "false" });
  const active = h("input", { type: "checkbox", id: nextId("act"), checked: hook ? hook.active : true });
  const names = [...new Set([...collectionNames, ...(hook?.collections || [])])];
  const fields = {
    url: field("Receiver URL", url),
    name: field("Name", name, { hint: "For people; optional." }),
    secret: field(isNew ? "Signing secret" : "New signing secret", secret, {
      hint: isNew
        ? "16 to 256 characters; signs every request. Shown once after saving, never again."
        : "Leave empty to keep the current secret (it is never shown).",
    }),
    collections: choices("Collections", "None ticked: every collection.", names, hook?.collections || []),
    actions: choices("Events", "None ticked: create, update and delete.", ACTIONS, hook?.actions || []),
  };
  const activeRow = h("div", { class: "check" }, active, h("label", { for: active.id }, "Active (a paused webhook skips what happens meanwhile)"));
  const generate = h("button", { type: "button", class: "btn btn-small", onclick: () => { secret.value = randomSecret(); secret.focus(); } }, "Generate a secret");
  fields.secret.append(h("div", { class: "actions" }, generate));
  const status = h("div", { class: "status" });
  const form = h("form", {
    class: "card stack",
    onsubmit: async (event) => {
      event.preventDefault();
      status.replaceChildren();
      Object.values(fields).forEach((f) => f.setError(""));
      const body = { url: url.value.trim(), name: name.value, collections: fields.collections.values(), actions: fields.actions.values(), active: active.checked };
      if (secret.value) body.secret = secret.value;
      let saved;
      try {
        saved = isNew
          ? await request("POST", "/api/webhooks", { body })
          : await request("PATCH", `/api/webhooks/${encodeURIComponent(hook.id)}`, { body });
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        for (const [key, wrap] of Object.entries(fields)) wrap.setError(error.fieldMessage(key));
        status.append(notice(error.message, "error"));
        const invalid = form.querySelector("[aria-invalid=true]");
        if (invalid) invalid.focus();
        return;
      }
      await onSaved(saved, body.secret || "", status);
    },
  },
  h("h2", {}, isNew ? "Receiver and filters" : "Settings"),
  fields.url, fields.name, fields.secret, fields.collections, fields.actions, activeRow,
  status,
  h("button", { type: "submit", class: "btn btn-primary" }, isNew ? "Create webhook" : "Save webhook"));
  return form;
}
