// Superusers (the `_superusers` collection, through the records API): list, create, change the
// email or password, delete. The server refuses to delete the last one and says so; deleting
// yourself signs you out, and changing your own password signs you in again with the new one
// (the change revokes the old token).
import { ApiError, auth, collectionPath, request, tokenClaims } from "./api.js";
import { field, h, nextId, notice } from "./dom.js";
import { go } from "./router.js";
import { signIn } from "./page_signin.js";

const BASE = `${collectionPath("_superusers")}/records`;

function superuserForm(record, onDone, onCancel) {
  const email = h("input", { type: "email", required: true, value: record?.email || "", autocomplete: "off" });
  const password = h("input", { type: "password", required: !record, minlength: 8, autocomplete: "new-password" });
  const confirm = h("input", { type: "password", required: !record, autocomplete: "new-password" });
  const fields = {
    email: field("Email", email),
    password: field(record ? "New password" : "Password", password, { hint: record ? "Leave empty to keep the current password." : "At least 8 characters." }),
    passwordConfirm: field(record ? "Confirm new password" : "Confirm password", confirm),
  };
  const status = h("div", { class: "status" });
  const form = h("form", {
    class: "stack",
    onsubmit: async (event) => {
      event.preventDefault();
      status.replaceChildren();
      Object.values(fields).forEach((f) => f.setError(""));
      if (password.value !== confirm.value) {
        fields.passwordConfirm.setError("The passwords do not match.");
        confirm.focus();
        return;
      }
      const body = { email: email.value.trim() };
      if (password.value) Object.assign(body, { password: password.value, passwordConfirm: confirm.value });
      let saved;
      try {
        saved = record
          ? await request("PATCH", `${BASE}/${encodeURIComponent(record.id)}`, { body })
          : await request("POST", BASE, { body });
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        for (const [key, wrap] of Object.entries(fields)) wrap.setError(error.fieldMessage(key));
        status.append(notice(error.message, "error"));
        const invalid = form.querySelector("[aria-invalid=true]");
        if (invalid) invalid.focus();
        return;
      }
      await onDone(saved, password.value);
    },
  },
  Object.values(fields),
  status,
  h("div", { class: "actions" },
    h("button", { type: "submit", class: "btn btn-primary" }, record ? "Save superuser" : "Create superuser"),
    onCancel ? h("button", { type: "button", class: "btn", onclick: onCancel }, "Cancel") : null));
  return form;
}

function openEdit(record, isMe, reload) {
  const opener = document.activeElement;
  const titleId = nextId("su");
  const dialog = h("dialog", { class: "dialog", "aria-labelledby": titleId });
  const close = () => { dialog.close(); dialog.remove(); if (opener && opener.focus) opener.focus(); };
  dialog.append(
    h("h2", { id: titleId }, `Edit superuser ${record.email}`),
    superuserForm(record, async (saved, newPassword) => {
      if (isMe && newPassword) {
        try {
          await signIn(saved.email, newPassword); // the change revoked the old token
        } catch {
          close();
          auth.clear(); // e.g. MFA wants a second factor: the sign-in page asks for it
          go("/login");
          return;
        }
      } else if (isMe) {
        auth.save(auth.get().token, saved);
      }
      close();
      await reload(`Superuser ${saved.email} saved.`);
    }, close),
  );
  dialog.addEventListener("cancel", (event) => { event.preventDefault(); close(); });
  document.body.append(dialog);
  dialog.showModal();
}

export async function superusersPage(root) {
  const me = tokenClaims(auth.get()?.token || "").id;
  const status = h("div", { class: "status" });
  const tbody = h("tbody");
  const reload = async (message) => {
    const result = await request("GET", BASE, { query: { perPage: 500, sort: "email" } });
    tbody.replaceChildren(...result.items.map((record) => {
      const isMe = record.id === me;
      const remove = async () => {
        const what = isMe ? `yourself (${record.email}); you will be signed out` : record.email;
        if (!window.confirm(`Delete superuser ${what}?`)) return;
        try {
          await request("DELETE", `${BASE}/${encodeURIComponent(record.id)}`);
        } catch (error) {
          status.replaceChildren(notice(`Not deleted: ${error.message}`, "error"));
          return;
        }
        if (isMe) {
          auth.clear();
          go("/login");
          return;
        }
        await reload(`Superuser ${record.email} deleted.`);
      };
      return h("tr", {},
        h("th", { scope: "row" }, record.email, isMe ? h("span", { class: "badge" }, "you") : null),
        h("td", {}, record.created),
        h("td", {}, h("div", { class: "actions" },
          h("button", { type: "button", class: "btn btn-small", onclick: () => openEdit(record, isMe, reload) }, "Edit", h("span", { class: "sr-only" }, ` ${record.email}`)),
          h("button", { type: "button", class: "btn btn-small btn-danger", onclick: remove }, "Delete", h("span", { class: "sr-only" }, ` ${record.email}`)))));
    }));
    status.replaceChildren(message ? notice(message, "success") : "");
  };
  const create = h("details", { class: "card" }, h("summary", {}, "New superuser"));
  const freshForm = () => superuserForm(null, async (saved) => {
    create.open = false;
    create.replaceChildren(create.firstChild, freshForm()); // empty again for the next one
    await reload(`Superuser ${saved.email} created.`);
  }, null);
  create.append(freshForm());
  root.append(
    h("h1", {}, "Superusers"),
    h("p", { class: "hint" }, "Superusers manage everything: collections, records, settings, logs, backups and webhooks."),
    create,
    status,
    h("div", { class: "table-wrap" }, h("table", { class: "table" },
      h("caption", { class: "sr-only" }, "Superusers"),
      h("thead", {}, h("tr", {}, ["Email", "Created", ""].map((t) => h("th", { scope: "col" }, t)))),
      tbody)),
  );
  await reload();
}
