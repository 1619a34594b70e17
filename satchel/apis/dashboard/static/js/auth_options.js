// The options of an auth collection: its two extra rules, sign-in methods (password, OTP, MFA),
// OAuth2 providers, the new-location alert, token lifetimes and mail templates.
import { field, h, nextId } from "./dom.js";
import { oauth2Providers } from "./oauth2_providers.js";
import { attachRuleEditor } from "./rule_editor.js";

// [group, key, kind, label]; kind: "bool" | "int" | "list" (comma separated) | "text" | "rule" (the rule editor)
const OPTIONS = [
  ["passwordAuth", "enabled", "bool", "Sign in with a password"],
  ["passwordAuth", "identityFields", "list", "Password identity fields (comma separated, unique fields)"],
  ["oauth2", "enabled", "bool", "Sign in with OAuth2"],
  ["otp", "enabled", "bool", "One-time passwords by mail"],
  ["otp", "duration", "int", "OTP lifetime (seconds)"],
  ["otp", "length", "int", "OTP length"],
  ["mfa", "enabled", "bool", "Multi-factor authentication (two methods)"],
  ["mfa", "duration", "int", "MFA window (seconds)"],
  ["mfa", "rule", "rule", "MFA rule (who needs a second factor; empty: everyone)"],
  ["authAlert", "enabled", "bool", "Mail an alert on sign-in from a new location"],
  ["authToken", "duration", "int", "Auth token lifetime (seconds)"],
  ["passwordResetToken", "duration", "int", "Password reset token lifetime (seconds)"],
  ["emailChangeToken", "duration", "int", "Email change token lifetime (seconds)"],
  ["verificationToken", "duration", "int", "Verification token lifetime (seconds)"],
  ["fileToken", "duration", "int", "File token lifetime (seconds)"],
];

// [path to the template object, label]; each has a subject and an HTML body
const TEMPLATES = [
  [["verificationTemplate"], "Verification"],
  [["resetPasswordTemplate"], "Password reset"],
  [["confirmEmailChangeTemplate"], "Email change"],
  [["otp", "emailTemplate"], "One-time password"],
  [["authAlert", "emailTemplate"], "New-location alert"],
];

function templateEditor(model, path, label) {
  const current = path.reduce((o, k) => (o || {})[k], model) || {};
  const subject = h("input", { type: "text", value: current.subject || "" });
  const body = h("textarea", { rows: 6, class: "mono" }, current.body || "");
  const subjectField = field(`${label}: subject`, subject);
  const bodyField = field(`${label}: body (HTML; {APP_NAME}, {APP_URL}, {TOKEN}, {OTP}...)`, body);
  const wrap = h("fieldset", { class: "template-row" }, h("legend", {}, label), subjectField, bodyField);
  const write = (out) => {
    const [group, key] = path.length === 1 ? [null, path[0]] : path;
    const value = { ...current, subject: subject.value, body: body.value };
    if (group === null) out[key] = value;
    else out[group] = { ...(model[group] || {}), ...(out[group] || {}), [key]: value };
  };
  const showErrors = (data) => {
    const errors = path.reduce((o, k) => (o || {})[k], data) || {};
    subjectField.setError(errors.subject?.message || "");
    bodyField.setError(errors.body?.message || "");
  };
  return { wrap, write, showErrors };
}

const RULES = [
  ["authRule", "Auth rule (who may sign in; empty: everyone)"],
  ["manageRule", "Manage rule (who may manage other users' records)"],
];

export function authOptionsSection(model, ruleContext = null) {
  const controls = [];
  const rules = RULES.map(([key, label]) => {
    const locked = model[key] === null || model[key] === undefined;
    const text = h("textarea", { rows: 2, class: "mono", disabled: locked }, locked ? "" : model[key]);
    const lock = h("input", { type: "checkbox", checked: locked, id: nextId("lock"), onchange: () => { text.disabled = lock.checked; } });
    const wrap = field(label, text);
    if (ruleContext) attachRuleEditor(wrap, text, ruleContext);
    wrap.prepend(h("div", { class: "check" }, lock, h("label", { for: lock.id }, `${label.split(" (")[0]}: superusers only`)));
    return { key, text, lock, wrap };
  });
  const options = OPTIONS.map(([group, key, kind, label]) => {
    const value = (model[group] || {})[key];
    let control;
    let wrap;
    if (kind === "bool") {
      control = h("input", { type: "checkbox", checked: !!value, id: nextId("ao") });
      wrap = h("div", { class: "check" }, control, h("label", { for: control.id }, label));
      wrap.setError = () => {};
    } else if (kind === "rule") {
      control = h("textarea", { rows: 2, class: "mono" }, value ?? "");
      wrap = field(label, control);
      if (ruleContext) attachRuleEditor(wrap, control, ruleContext);
    } else {
      const attrs = kind === "int" ? { type: "number", min: 0, step: 1, value: value ?? "" } : { type: "text", value: kind === "list" ? (value || []).join(", ") : value ?? "" };
      control = h("input", attrs);
      wrap = field(label, control);
    }
    controls.push({ group, key, kind, control, wrap });
    return wrap;
  });
  const providers = oauth2Providers((model.oauth2 || {}).providers);
  const templates = TEMPLATES.map(([path, label]) => templateEditor(model, path, label));
  const section = h("section", { class: "card", "aria-labelledby": "sec-auth" },
    h("h2", { id: "sec-auth" }, "Auth options"), rules.map((r) => r.wrap), h("div", { class: "options" }, options),
    providers.section,
    h("details", {}, h("summary", {}, "Mail templates"), h("div", { class: "stack" }, templates.map((t) => t.wrap))));
  const read = () => {
    const out = {};
    for (const r of rules) out[r.key] = r.lock.checked ? null : r.text.value;
    for (const { group, key, kind, control } of controls) {
      out[group] = { ...(model[group] || {}), ...(out[group] || {}) };
      if (kind === "bool") out[group][key] = control.checked;
      else if (kind === "int") out[group][key] = control.value === "" ? 0 : Number(control.value);
      else if (kind === "list") out[group][key] = control.value.split(",").map((s) => s.trim()).filter(Boolean);
      else out[group][key] = control.value;
    }
    for (const t of templates) t.write(out);
    out.oauth2 = { ...out.oauth2, providers: providers.read() };
    return out;
  };
  const showErrors = (data) => {
    for (const r of rules) r.wrap.setError(data[r.key]?.message || "");
    for (const { group, key, wrap } of controls) wrap.setError((data[group] || {})[key]?.message || "");
    for (const t of templates) t.showErrors(data);
    providers.showErrors((data.oauth2 || {}).providers);
  };
  return { section, read, showErrors };
}
