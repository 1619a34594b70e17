// Application settings: GET/PATCH /api/settings (`meta`).
import { forgetAppMeta } from "./app_meta.js";
import { field, h } from "./dom.js";
import { checkbox, loadSettings, settingsForm, settingsNav } from "./settings_form.js";

export async function settingsPage(root) {
  const meta = (await loadSettings()).meta || {};
  const appName = h("input", { type: "text", value: meta.appName || "", required: true });
  const appURL = h("input", { type: "url", value: meta.appURL || "", required: true });
  const senderName = h("input", { type: "text", value: meta.senderName || "" });
  const senderAddress = h("input", { type: "email", value: meta.senderAddress || "" });
  const hide = checkbox("Hide collection create and edit controls", meta.hideControls);
  const fields = {
    appName: field("Application name", appName),
    appURL: field("Application URL", appURL),
    senderName: field("Sender name", senderName),
    senderAddress: field("Sender address", senderAddress),
    hideControls: hide,
  };
  root.append(
    h("h1", {}, "Settings"),
    settingsNav(""),
    settingsForm({
      title: "Application",
      group: "meta",
      fields,
      saveLabel: "Save settings",
      read: () => (forgetAppMeta(), { meta: { appName: appName.value, appURL: appURL.value, senderName: senderName.value, senderAddress: senderAddress.value, hideControls: hide.control.checked } }),
    }),
  );
}
