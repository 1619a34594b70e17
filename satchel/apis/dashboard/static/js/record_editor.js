// The record editor: a modal <dialog> with one control per field type. Sent as multipart with
// `@jsonPayload` (as the SDK does) so new files and the other values go in one request.
import { ApiError, collectionPath, request } from "./api.js";
import { field, h, nextId, notice } from "./dom.js";
import { relationPicker } from "./relation_picker.js";

const SKIP = new Set(["autodate"]);

function toLocalInput(value) {
  if (!value) return "";
  const date = new Date(String(value).replace(" ", "T"));
  if (Number.isNaN(date.getTime())) return "";
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

function fromLocalInput(value) {
  if (!value) return "";
  return new Date(value).toISOString().replace("T", " ");
}

/** [control wrapper, read(formData, json)] for one field. */
async function control(collection, record, f) {
  const value = record ? record[f.name] : undefined;
  const multi = (f.maxSelect || 1) > 1;
  switch (f.type) {
    case "bool": {
      const box = h("input", { type: "checkbox", id: nextId("rec"), checked: !!value });
      return [h("div", { class: "check" }, box, h("label", { for: box.id }, f.name)), (fd, json) => { json[f.name] = box.checked; }];
    }
    case "number": {
      const input = h("input", { type: "number", step: f.onlyInt ? "1" : "any", value: value ?? "" });
      return [field(f.name, input), (fd, json) => { json[f.name] = input.value === "" ? null : Number(input.value); }];
    }
    case "email":
    case "url": {
      const input = h("input", { type: f.type, value: value ?? "" });
      return [field(f.name, input), (fd, json) => { json[f.name] = input.value; }];
    }
    case "date": {
      const shown = toLocalInput(value);
      const input = h("input", { type: "datetime-local", step: "1", value: shown });
      // the box has whole seconds: an untouched date is sent back as stored, milliseconds included
      return [field(f.name, input, { hint: "Your local time; stored in UTC." }), (fd, json) => {
        json[f.name] = value && input.value === shown ? value : fromLocalInput(input.value);
      }];
    }
    case "select": {
      const chosen = new Set(Array.isArray(value) ? value : value ? [value] : []);
      const select = h("select", { multiple: multi }, multi ? null : h("option", { value: "" }, "(none)"),
        (f.values || []).map((v) => h("option", { value: v, selected: chosen.has(v) }, v)));
      return [field(f.name, select), (fd, json) => {
        const picked = [...select.selectedOptions].map((o) => o.value).filter(Boolean);
        json[f.name] = multi ? picked : picked[0] || "";
      }];
    }
    case "json": {
      const area = h("textarea", { rows: 4, class: "mono" }, value === undefined || value === null ? "" : JSON.stringify(value, null, 2));
      const wrap = field(f.name, area, { hint: "JSON" });
      return [wrap, (fd, json) => {
        if (area.value.trim() === "") { json[f.name] = null; return; }
        try { json[f.name] = JSON.parse(area.value); } catch { throw Object.assign(new Error("Invalid JSON."), { field: f.name, wrap }); }
      }];
    }
    case "relation":
      return relationPicker(f, value);
    case "file": {
      const names = Array.isArray(value) ? value : value ? [value] : [];
      const removed = new Set();
      const existing = h("ul", { class: "files" }, names.map((n) => {
        const box = h("input", { type: "checkbox", id: nextId("rm"), onchange: () => (box.checked ? removed.add(n) : removed.delete(n)) });
        const thumb = /\.(png|jpe?g|gif|webp)$/i.test(n)
          ? h("img", { class: "thumb", alt: "", width: 48, height: 48, src: `/api/files/${encodeURIComponent(collection.id)}/${encodeURIComponent(record.id)}/${encodeURIComponent(n)}?thumb=100x100` })
          : null;
        return h("li", {}, thumb, h("span", {}, n), box, h("label", { for: box.id }, "Remove"));
      }));
      const input = h("input", { type: "file", multiple: multi });
      const previews = h("div", { class: "previews" });
      input.addEventListener("change", () => {
        previews.replaceChildren(...[...input.files].filter((file) => file.type.startsWith("image/")).map((file) =>
          h("img", { class: "thumb", alt: file.name, width: 48, height: 48, src: URL.createObjectURL(file) })));
      });
      const wrap = field(f.name, input);
      wrap.append(existing, previews);
      return [wrap, (fd, json) => {
        for (const file of input.files) fd.append(record ? `${f.name}+` : f.name, file);
        if (removed.size) json[`${f.name}-`] = [...removed];
      }];
    }
    case "geoPoint": {
      // an object, not text: a text box would show "[object Object]", which the server reads as (0, 0)
      const point = value && typeof value === "object" ? value : { lon: 0, lat: 0 };
      const lon = h("input", { type: "number", step: "any", value: String(point.lon ?? 0) });
      const lat = h("input", { type: "number", step: "any", value: String(point.lat ?? 0) });
      const lonWrap = field(`${f.name} longitude`, lon);
      const latWrap = field(`${f.name} latitude`, lat);
      const wrap = h("fieldset", { class: "choices" }, h("legend", {}, f.name), lonWrap, latWrap);
      wrap.setError = (message) => lonWrap.setError(message);
      const number = (input) => (input.value === "" ? 0 : Number(input.value));
      return [wrap, (fd, json) => { json[f.name] = { lon: number(lon), lat: number(lat) }; }];
    }
    case "editor": {
      const area = h("textarea", { rows: 6 }, value ?? "");
      return [field(f.name, area, { hint: "HTML, stored as written" }), (fd, json) => { json[f.name] = area.value; }];
    }
    default: {
      const input = h("input", { type: f.type === "password" ? "password" : "text", value: f.type === "password" ? "" : value ?? "", autocomplete: "off" });
      return [field(f.name, input), (fd, json) => { if (f.type !== "password" || input.value) json[f.name] = input.value; }];
    }
  }
}

export async function openEditor(collection, record, onSaved) {
  const opener = document.activeElement;
  const editable = collection.fields.filter((f) => !SKIP.has(f.type) && !(f.system && f.name === "tokenKey") && !(f.name === "id" && record));
  const parts = [];
  for (const f of editable) parts.push([f, ...(await control(collection, record, f))]);
  if (collection.type === "auth") {
    const confirm = h("input", { type: "password", autocomplete: "new-password" });
    parts.push([{ name: "passwordConfirm" }, field("passwordConfirm", confirm), (fd, json) => { if (confirm.value) json.passwordConfirm = confirm.value; }]);
  }
  const status = h("div", { class: "status" });
  const titleId = nextId("dlg");
  const dialog = h("dialog", { class: "dialog", "aria-labelledby": titleId });
  const close = () => { dialog.close(); dialog.remove(); if (opener && opener.focus) opener.focus(); };
  const form = h("form", {
    class: "stack",
    onsubmit: async (event) => {
      event.preventDefault();
      status.replaceChildren();
      parts.forEach(([, wrap]) => wrap.setError && wrap.setError(""));
      const fd = new FormData();
      const json = {};
      try {
        parts.forEach(([, , read]) => read(fd, json));
      } catch (error) {
        if (error.wrap) error.wrap.setError(error.message);
        return;
      }
      fd.append("@jsonPayload", JSON.stringify(json));
      const base = `${collectionPath(collection.name)}/records`;
      try {
        if (record) await request("PATCH", `${base}/${encodeURIComponent(record.id)}`, { body: fd });
        else await request("POST", base, { body: fd });
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        for (const [f, wrap] of parts) if (wrap.setError) wrap.setError(error.fieldMessage(f.name));
        status.append(notice(error.message, "error"));
        return;
      }
      close();
      await onSaved();
    },
  },
  h("h2", { id: titleId }, record ? `Edit record ${record.id}` : `New ${collection.name} record`),
  parts.map(([, wrap]) => wrap),
  status,
  h("div", { class: "actions" },
    h("button", { type: "submit", class: "btn btn-primary" }, record ? "Save record" : "Create record"),
    h("button", { type: "button", class: "btn", onclick: close }, "Cancel")));
  dialog.append(form);
  dialog.addEventListener("cancel", (event) => { event.preventDefault(); close(); });
  document.body.append(dialog);
  dialog.showModal();
}
