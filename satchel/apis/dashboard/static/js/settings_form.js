// Shared pieces of the settings pages: the section nav, and a form that PATCHes /api/settings
// and shows the server's field errors (`data.<group>.<key>`) under their controls.
import { ApiError, request } from "./api.js";
import { h, nextId, notice } from "./dom.js";
import { link } from "./router.js";

const SECTIONS = [
  ["", "Application"],
  ["/mail", "Mail"],
  ["/storage", "File storage"],
  ["/backups", "Backups"],
  ["/rate-limits", "Rate limits"],
  ["/logs", "Logs"],
  ["/crons", "Crons"],
];

export function settingsNav(current) {
  return h("nav", { class: "subnav", "aria-label": "Settings sections" }, h("ul", {},
    SECTIONS.map(([path, label]) => h("li", {}, h("a", { href: link(`/settings${path}`), "aria-current": path === current ? "page" : null }, label)))));
}

export function loadSettings() {
  return request("GET", "/api/settings");
}

/**
 * A form over one settings group. `fields`: {key: field wrapper}; `read()` returns the PATCH body.
 * Errors come back as data[group][key] (or deeper for nested groups: `path(key)` maps them).
 */
export function settingsForm({ title, group, fields, read, extra = [], saveLabel = "Save" }) {
  const status = h("div", { class: "status" });
  const form = h("form", {
    class: "card stack",
    onsubmit: async (event) => {
      event.preventDefault();
      status.replaceChildren();
      Object.values(fields).forEach((f) => f.setError(""));
      try {
        await request("PATCH", "/api/settings", { body: read() });
        status.append(notice("Settings saved.", "success"));
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        const groupErrors = error.data[group] || {};
        for (const [key, wrap] of Object.entries(fields)) wrap.setError(groupErrors[key]?.message || "");
        status.append(notice(error.message, "error"));
        const invalid = form.querySelector("[aria-invalid=true]");
        if (invalid) invalid.focus();
      }
    },
  },
  h("h2", {}, title),
  Object.values(fields),
  extra,
  status,
  h("button", { type: "submit", class: "btn btn-primary" }, saveLabel));
  return form;
}

export function checkbox(label, checked) {
  const box = h("input", { type: "checkbox", checked: !!checked, id: nextId("chk") });
  const wrap = h("div", { class: "check" }, box, h("label", { for: box.id }, label));
  wrap.setError = () => {};
  wrap.control = box;
  return wrap;
}
