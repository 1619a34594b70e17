// Rate limits (`rateLimits`): on/off, rules (label, audience, seconds, max requests), excluded IPs.
import { h, nextId } from "./dom.js";
import { checkbox, loadSettings, settingsForm, settingsNav } from "./settings_form.js";

const AUDIENCES = [["", "Everyone"], ["@guest", "Guests"], ["@auth", "Signed-in users"]];

function ruleRow(rule, remove) {
  const id = nextId("rl");
  const label = h("input", { type: "text", value: rule.label || "", id: `${id}-label`, class: "mono", required: true });
  const audience = h("select", { id: `${id}-aud` }, AUDIENCES.map(([v, l]) => h("option", { value: v, selected: v === (rule.audience || "") }, l)));
  const duration = h("input", { type: "number", min: 1, value: rule.duration ?? 10, id: `${id}-dur` });
  const max = h("input", { type: "number", min: 1, value: rule.maxRequests ?? 100, id: `${id}-max` });
  const row = h("tr", {},
    h("td", {}, h("label", { class: "sr-only", for: label.id }, "Label"), label),
    h("td", {}, h("label", { class: "sr-only", for: audience.id }, "Audience"), audience),
    h("td", {}, h("label", { class: "sr-only", for: duration.id }, "Seconds"), duration),
    h("td", {}, h("label", { class: "sr-only", for: max.id }, "Max requests"), max),
    h("td", {}, h("button", { type: "button", class: "btn btn-small btn-danger", onclick: () => remove(row) }, "Remove rule")));
  row.read = () => ({ label: label.value.trim(), audience: audience.value, duration: Number(duration.value), maxRequests: Number(max.value) });
  return row;
}

export async function rateLimitsSettingsPage(root) {
  const limits = (await loadSettings()).rateLimits || {};
  const enabled = checkbox("Enable rate limits", limits.enabled);
  const excluded = h("input", { type: "text", value: (limits.excludedIPs || []).join(", ") });
  const tbody = h("tbody");
  const remove = (row) => row.remove();
  (limits.rules || []).forEach((r) => tbody.append(ruleRow(r, remove)));
  const errors = h("p", { class: "field-error", role: "alert", hidden: true });
  const rules = h("div", { class: "stack" },
    h("div", { class: "table-wrap" }, h("table", { class: "table" },
      h("caption", {}, "Rules: a label is a path prefix (/api/), or collection:action (posts:create, *:auth)"),
      h("thead", {}, h("tr", {}, ["Label", "Audience", "Seconds", "Max requests", ""].map((t) => h("th", { scope: "col" }, t)))),
      tbody)),
    errors,
    h("button", { type: "button", class: "btn", onclick: () => { const row = ruleRow({}, remove); tbody.append(row); row.querySelector("input").focus(); } }, "Add rule"));
  rules.setError = (message) => { errors.textContent = message || ""; errors.hidden = !message; };
  const fields = { enabled, excludedIPs: Object.assign(h("div", {}, h("label", { for: (excluded.id = nextId("ex")) }, "Excluded IPs (comma separated)"), excluded), { setError: () => {} }), rules };
  root.append(
    h("h1", {}, "Settings"),
    settingsNav("/rate-limits"),
    settingsForm({
      title: "Rate limits",
      group: "rateLimits",
      fields,
      saveLabel: "Save rate limits",
      read: () => ({ rateLimits: { enabled: enabled.control.checked, excludedIPs: excluded.value.split(",").map((s) => s.trim()).filter(Boolean), rules: [...tbody.children].map((r) => r.read()) } }),
    }),
  );
}
