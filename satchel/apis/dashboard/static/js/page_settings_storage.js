// File storage (`s3`): local disk or an S3-compatible bucket, with a connection test
// (POST /api/settings/test/s3). The stored secret is never sent back: empty keeps it.
import { ApiError, request } from "./api.js";
import { field, h, notice } from "./dom.js";
import { checkbox, loadSettings, settingsForm, settingsNav } from "./settings_form.js";

/** Controls for an S3 config; shared with the backups page (`backups.s3`). */
export function s3Fields(s3) {
  const enabled = checkbox("Use S3-compatible storage", s3.enabled);
  const inputs = {
    bucket: h("input", { type: "text", value: s3.bucket || "" }),
    region: h("input", { type: "text", value: s3.region || "" }),
    endpoint: h("input", { type: "url", value: s3.endpoint || "" }),
    accessKey: h("input", { type: "text", value: s3.accessKey || "", autocomplete: "off" }),
    secret: h("input", { type: "password", value: "", autocomplete: "new-password", placeholder: "unchanged" }),
  };
  const forcePathStyle = checkbox("Force path-style addressing", s3.forcePathStyle);
  const fields = {
    enabled,
    bucket: field("Bucket", inputs.bucket),
    region: field("Region", inputs.region),
    endpoint: field("Endpoint", inputs.endpoint),
    accessKey: field("Access key", inputs.accessKey),
    secret: field("Secret", inputs.secret, { hint: "Leave empty to keep the stored secret." }),
    forcePathStyle,
  };
  const read = () => {
    const out = { enabled: enabled.control.checked, forcePathStyle: forcePathStyle.control.checked };
    for (const [key, input] of Object.entries(inputs)) if (key !== "secret" || input.value) out[key] = input.value;
    return out;
  };
  return { fields, read };
}

export function s3TestButton(filesystem) {
  const status = h("div", { class: "status" });
  const button = h("button", {
    type: "button",
    class: "btn",
    onclick: async () => {
      status.replaceChildren();
      try {
        await request("POST", "/api/settings/test/s3", { body: { filesystem } });
        status.append(notice("S3 connection works.", "success"));
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        status.append(notice(`S3 test failed: ${error.message}`, "error"));
      }
    },
  }, "Test S3 connection");
  return h("div", { class: "stack" }, h("p", { class: "hint" }, "Save first: the test uses the stored settings."), button, status);
}

export async function storageSettingsPage(root) {
  const { fields, read } = s3Fields((await loadSettings()).s3 || {});
  root.append(
    h("h1", {}, "Settings"),
    settingsNav("/storage"),
    settingsForm({ title: "File storage", group: "s3", fields, read: () => ({ s3: read() }), saveLabel: "Save storage settings", extra: [s3TestButton("storage")] }),
  );
}
