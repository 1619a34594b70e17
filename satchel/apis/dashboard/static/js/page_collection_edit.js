// Create or edit a collection: name, type, fields (add, remove, reorder, rename, options), the
// five API rules (the server's rule errors shown under each rule), indexes, view query, delete.
import { ApiError, request } from "./api.js";
import { appMeta } from "./app_meta.js";
import { field, h, nextId, notice } from "./dom.js";
import { authOptionsSection } from "./auth_options.js";
import { COMMON, FIELD_TYPES, OPTIONS, readOption, showOption } from "./field_options.js";
import { listCollections } from "./page_collections.js";
import { attachRuleEditor } from "./rule_editor.js";
import { go, link } from "./router.js";

const RULES = [
  ["listRule", "List/Search rule"],
  ["viewRule", "View rule"],
  ["createRule", "Create rule"],
  ["updateRule", "Update rule"],
  ["deleteRule", "Delete rule"],
];

function optionControl(kind, value, collections) {
  if (kind === "bool") return h("input", { type: "checkbox", checked: !!value });
  if (kind === "number" || kind === "optnumber") return h("input", { type: "number", value: showOption(kind, value), step: "any" });
  if (kind === "collection") {
    return h("select", {}, h("option", { value: "" }, "Choose a collection"),
      collections.map((c) => h("option", { value: c.id, selected: c.id === value }, c.name)));
  }
  return h("input", { type: "text", value: showOption(kind, value) });
}

function fieldEditor(spec, collections, actions) {
  const nameInput = h("input", { type: "text", value: spec.name || "", required: true, autocomplete: "off" });
  const typeSelect = h("select", { disabled: !!spec.id }, FIELD_TYPES.map((t) => h("option", { value: t, selected: t === spec.type }, t)));
  const options = h("div", { class: "options" });
  const controls = [];
  const drawOptions = () => {
    controls.length = 0;
    const type = typeSelect.value;
    options.replaceChildren(
      ...[...(OPTIONS[type] || []), ...COMMON].map(([key, kind, label]) => {
        const control = optionControl(kind, spec[key], collections);
        controls.push([key, kind, control]);
        if (kind === "bool") {
          control.id = nextId("opt");
          return h("div", { class: "check" }, control, h("label", { for: control.id }, label));
        }
        return field(label, control);
      }),
    );
  };
  typeSelect.addEventListener("change", drawOptions);
  drawOptions();
  const nameField = field("Field name", nameInput);
  const row = h("fieldset", { class: "field-row" },
    h("legend", {}, spec.name ? `Field “${spec.name}”` : "New field"),
    h("div", { class: "field-row-main" }, nameField, field("Type", typeSelect)),
    h("details", {}, h("summary", {}, "Options"), options),
    h("div", { class: "actions" },
      h("button", { type: "button", class: "btn btn-small", onclick: () => actions.move(row, -1) }, "Move up"),
      h("button", { type: "button", class: "btn btn-small", onclick: () => actions.move(row, 1) }, "Move down"),
      h("button", { type: "button", class: "btn btn-small btn-danger", onclick: () => actions.remove(row) }, "Remove field"),
    ),
  );
  row.nameField = nameField;
  row.read = () => {
    const out = { ...spec, name: nameInput.value.trim(), type: typeSelect.value };
    for (const [key, kind, control] of controls) out[key] = readOption(kind, control);
    return out;
  };
  return row;
}

/** The server's errors per statement (`indexes.<i>`) as one message, numbered as sent. */
function indexErrors(tree) {
  if (!tree || typeof tree !== "object") return "";
  return Object.entries(tree)
    .filter(([, item]) => item && typeof item.message === "string")
    .map(([i, item]) => `Index ${Number(i) + 1}: ${item.message}`)
    .join(" ");
}

export async function collectionEditor(root, route) {
  if ((await appMeta()).hideControls === true) {
    root.append(h("h1", {}, "Collection changes are off"),
      notice("“Hide collection create and edit controls” is on in Settings › Application.", "info"));
    return;
  }
  const editing = route.params.name || "";
  const [collections, existing] = await Promise.all([
    listCollections(),
    editing ? request("GET", `/api/collections/${encodeURIComponent(editing)}`) : Promise.resolve(null),
  ]);
  // like PocketBase's dashboard, a new collection starts with the `created` and `updated` dates
  const model = existing || { name: "", type: "base", fields: [
    { name: "created", type: "autodate", onCreate: true, onUpdate: false },
    { name: "updated", type: "autodate", onCreate: true, onUpdate: true },
  ], indexes: [], listRule: null, viewRule: null, createRule: null, updateRule: null, deleteRule: null };
  const status = h("div", { class: "status" });
  const name = h("input", { type: "text", value: model.name, required: true, autocomplete: "off" });
  const type = h("select", { disabled: !!existing }, ["base", "auth", "view"].map((t) => h("option", { value: t, selected: t === model.type }, t)));
  const nameField = field("Name", name);
  const viewQuery = h("textarea", { rows: 4, class: "mono" }, model.viewQuery || "");
  const viewField = field("View query (SELECT ...)", viewQuery);
  const indexes = h("textarea", { rows: 3, class: "mono" }, (model.indexes || []).join("\n"));
  const indexesField = field("Indexes (one CREATE INDEX statement per line)", indexes);

  const list = h("div", { class: "fields" });
  const actions = {
    move(row, step) {
      const rows = [...list.children];
      const i = rows.indexOf(row) + step;
      if (i < 0 || i >= rows.length) return;
      if (step < 0) list.insertBefore(row, rows[i]);
      else list.insertBefore(rows[i], row);
      row.querySelector("button").focus();
    },
    remove(row) {
      row.remove();
    },
  };
  const shown = (model.fields || []).filter((f) => !(f.system && ["id", "password", "tokenKey"].includes(f.name)));
  const hiddenSystem = (model.fields || []).filter((f) => !shown.includes(f));
  shown.forEach((f) => list.append(fieldEditor(f, collections, actions)));
  const addField = () => {
    const row = fieldEditor({ name: "", type: "text" }, collections, actions);
    list.append(row);
    row.querySelector("input").focus();
  };

  // what the rule editors complete and what the server checks their rules against: the form as it is now
  const draftFields = () => [...hiddenSystem, ...[...list.children].map((r) => r.read())];
  const ruleContext = {
    collections,
    fields: () => {
      const fields = existing && existing.type === "view" ? existing.fields : draftFields();
      const system = ["id", ...(type.value === "auth" ? ["email", "emailVisibility", "verified"] : [])];
      return [...system.filter((n) => !fields.some((f) => f.name === n)).map((n) => ({ name: n })), ...fields];
    },
    checkable: () => type.value !== "view" || (!!existing && viewQuery.value === (existing.viewQuery || "")),
    draft: () => ({ id: existing ? existing.id : undefined, name: name.value.trim(), type: type.value,
      fields: type.value === "view" ? undefined : draftFields() }),
  };
  const ruleFields = {};
  const ruleInputs = RULES.map(([key, label]) => {
    const locked = model[key] === null || model[key] === undefined;
    const text = h("textarea", { rows: 2, class: "mono", disabled: locked, placeholder: "empty: everyone; e.g. @request.auth.id != \"\"" }, locked ? "" : model[key]);
    const lock = h("input", { type: "checkbox", checked: locked, id: nextId("lock"), onchange: () => { text.disabled = lock.checked; } });
    ruleFields[key] = field(label, text);
    attachRuleEditor(ruleFields[key], text, ruleContext);
    ruleFields[key].prepend(h("div", { class: "check" }, lock, h("label", { for: lock.id }, `${label}: superusers only`)));
    return [key, text, lock];
  });

  // a new collection's auth options start from the server's scaffold (PocketBase's defaults)
  const scaffolds = existing ? null : await request("GET", "/api/collections/meta/scaffolds").catch(() => null);
  const auth = authOptionsSection(existing || { ...((scaffolds && scaffolds.auth) || {}), ...model, authRule: scaffolds?.auth?.authRule ?? "", manageRule: null }, ruleContext);
  const syncType = () => {
    viewField.hidden = type.value !== "view";
    auth.section.hidden = type.value !== "auth";
  };
  type.addEventListener("change", syncType);
  syncType();

  const form = h("form", {
    class: "stack",
    onsubmit: async (event) => {
      event.preventDefault();
      status.replaceChildren();
      [nameField, viewField, indexesField, ...Object.values(ruleFields)].forEach((f) => f.setError(""));
      const rows = [...list.children];
      rows.forEach((r) => r.nameField.setError(""));
      const body = {
        name: name.value.trim(),
        type: type.value,
        fields: type.value === "view" ? undefined : [...hiddenSystem, ...rows.map((r) => r.read())],
        indexes: indexes.value.split("\n").map((s) => s.trim()).filter(Boolean),
      };
      if (type.value === "view") body.viewQuery = viewQuery.value;
      for (const [key, text, lock] of ruleInputs) body[key] = lock.checked ? null : text.value;
      if (type.value === "auth") Object.assign(body, auth.read());
      try {
        const saved = existing
          ? await request("PATCH", `/api/collections/${encodeURIComponent(existing.id)}`, { body })
          : await request("POST", "/api/collections", { body });
        go(`/collections/${encodeURIComponent(saved.name)}`);
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        nameField.setError(error.fieldMessage("name"));
        viewField.setError(error.fieldMessage("viewQuery"));
        indexesField.setError(error.fieldMessage("indexes") || indexErrors(error.data.indexes));
        for (const [key] of RULES) ruleFields[key].setError(error.fieldMessage(key));
        auth.showErrors(error.data);
        const fieldErrors = error.data.fields || {};
        rows.forEach((r, i) => {
          const item = fieldErrors[String(i + hiddenSystem.length)];
          if (item) r.nameField.setError(Object.values(item).map((e) => e.message).filter(Boolean).join(" ") || "Invalid field.");
        });
        status.append(notice(error.message, "error"));
        const invalid = form.querySelector("[aria-invalid=true]");
        if (invalid) invalid.focus();
      }
    },
  },
  h("section", { class: "card", "aria-labelledby": "sec-basics" }, h("h2", { id: "sec-basics" }, "Collection"), nameField, field("Type", type), viewField),
  h("section", { class: "card", "aria-labelledby": "sec-fields" }, h("h2", { id: "sec-fields" }, "Fields"), list,
    h("button", { type: "button", class: "btn", onclick: addField }, "Add field")),
  h("section", { class: "card", "aria-labelledby": "sec-rules" }, h("h2", { id: "sec-rules" }, "API rules"), ...Object.values(ruleFields)),
  auth.section,
  h("section", { class: "card", "aria-labelledby": "sec-indexes" }, h("h2", { id: "sec-indexes" }, "Indexes"), indexesField),
  status,
  h("div", { class: "actions" },
    h("button", { type: "submit", class: "btn btn-primary" }, existing ? "Save changes" : "Create collection"),
    h("a", { class: "btn", href: link(existing ? `/collections/${encodeURIComponent(existing.name)}` : "/collections") }, "Cancel"),
    existing && !existing.system ? h("button", {
      type: "button", class: "btn btn-danger",
      onclick: async () => {
        if (!window.confirm(`Delete the collection "${existing.name}" and all its records?`)) return;
        try {
          await request("DELETE", `/api/collections/${encodeURIComponent(existing.id)}`);
          go("/collections");
        } catch (error) {
          status.replaceChildren(notice(error.message, "error"));
        }
      },
    }, "Delete collection") : null,
  ));
  root.append(h("h1", {}, existing ? `Edit collection ${existing.name}` : "New collection"), form);
}
