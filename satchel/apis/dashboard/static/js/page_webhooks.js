// Webhooks (the events plugin's /api/webhooks, docs/events.md): the list, a new one, and one
// webhook's page with its settings, delivery attempts and dead letters (replayed one by one or
// all at once). The URL and name are user text: shown as text, like records.
import { request } from "./api.js";
import { field, h, notice } from "./dom.js";
import { listCollections } from "./page_collections.js";
import { go, link } from "./router.js";
import { webhookForm } from "./webhook_form.js";

const PER_PAGE = 20;
let createdSecret = null; // {id, secret}: shown once on the new webhook's page, then forgotten

const hookPath = (id) => `/api/webhooks/${encodeURIComponent(id)}`;
const listText = (items, none) => (items.length ? items.join(", ") : none);

export async function webhooksPage(root) {
  const result = await request("GET", "/api/webhooks");
  const rows = result.items.map((hook) => h("tr", {},
    h("th", { scope: "row" }, h("a", { href: link(`/webhooks/${encodeURIComponent(hook.id)}`) }, hook.name || hook.id)),
    h("td", {}, h("span", { class: "cell-text mono" }, hook.url)),
    h("td", {}, listText(hook.collections, "all")),
    h("td", {}, listText(hook.actions, "all")),
    h("td", {}, hook.active ? "active" : "paused")));
  root.append(
    h("div", { class: "page-head" },
      h("h1", {}, "Webhooks"),
      h("div", { class: "actions" }, h("a", { class: "btn btn-primary", href: link("/webhooks/new") }, "New webhook"))),
    h("p", { class: "hint" }, "Every committed record change, posted and signed to each active webhook, retried with backoff, then dead-lettered."),
    result.items.length
      ? h("div", { class: "table-wrap" }, h("table", { class: "table" },
        h("caption", { class: "sr-only" }, "Webhooks"),
        h("thead", {}, h("tr", {}, ["Name", "URL", "Collections", "Events", "State"].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, rows)))
      : notice("No webhooks yet."),
  );
}

export async function newWebhookPage(root) {
  const names = (await listCollections()).map((c) => c.name);
  root.append(
    h("div", { class: "page-head" }, h("h1", {}, "New webhook"), h("a", { class: "btn", href: link("/webhooks") }, "All webhooks")),
    webhookForm(null, names, (hook, secret) => {
      createdSecret = { id: hook.id, secret };
      go(`/webhooks/${encodeURIComponent(hook.id)}`);
    }),
  );
}

function secretOnce(hook) {
  if (!createdSecret || createdSecret.id !== hook.id) return null;
  const { secret } = createdSecret;
  createdSecret = null;
  const box = h("input", { type: "text", class: "mono secret", readonly: true, value: secret, spellcheck: "false", onfocus: () => box.select() });
  return h("div", { class: "notice notice-success" },
    h("p", { role: "status" }, "Webhook created. Copy its signing secret now: it is not shown again."),
    field("Signing secret", box));
}

function attemptsSection(hook) {
  let page = 1;
  const status = h("div", { class: "status" });
  const tbody = h("tbody");
  const pager = h("nav", { class: "pager", "aria-label": "Attempt pages" });
  const load = async () => {
    status.replaceChildren();
    let result = { items: [], page: 1, totalPages: 0, totalItems: 0 };
    try {
      result = await request("GET", `${hookPath(hook.id)}/attempts`, { query: { page, perPage: PER_PAGE } });
    } catch (error) {
      status.append(notice(`Could not list attempts: ${error.message}`, "error"));
    }
    tbody.replaceChildren(...result.items.map((a) => h("tr", { "data-event": String(a.eventId) },
      h("td", {}, a.created),
      h("td", {}, String(a.eventId)),
      h("td", {}, String(a.attempt)),
      h("td", {}, a.success ? "delivered" : "failed"),
      h("td", {}, a.status ? String(a.status) : "no answer"),
      h("td", {}, `${Math.round(a.durationMs)} ms`),
      h("td", {}, h("span", { class: "cell-text" }, a.error)))));
    const pageButton = (label, to) => h("button", { type: "button", class: "btn btn-small", onclick: () => { page = to; load(); } }, label);
    pager.replaceChildren(
      h("span", {}, `${result.totalItems} attempts, page ${result.page} of ${Math.max(1, result.totalPages)}`),
      ...(result.page > 1 ? [pageButton("Previous attempts", result.page - 1)] : []),
      ...(result.page < result.totalPages ? [pageButton("Older attempts", result.page + 1)] : []),
    );
  };
  const section = h("section", { class: "card", "aria-labelledby": "attempts-title" },
    h("div", { class: "page-head" }, h("h2", { id: "attempts-title" }, "Delivery attempts"),
      h("button", { type: "button", class: "btn btn-small", onclick: () => { page = 1; load(); } }, "Refresh attempts")),
    status,
    h("div", { class: "table-wrap" }, h("table", { class: "table" },
      h("caption", { class: "sr-only" }, "Delivery attempts, newest first"),
      h("thead", {}, h("tr", {}, ["Time", "Event", "Attempt", "Result", "Response", "Duration", "Error"].map((t) => h("th", { scope: "col" }, t)))),
      tbody)),
    pager);
  section.load = load;
  return section;
}

function deadLettersSection(hook, afterReplay) {
  const status = h("div", { class: "status" });
  const tbody = h("tbody");
  const replayAll = h("button", { type: "button", class: "btn btn-small", hidden: true }, "Replay all");
  const report = async (message, kind) => {
    await load();
    await afterReplay();
    status.replaceChildren(notice(message, kind));
  };
  const replay = async (letter) => {
    try {
      const result = await request("POST", `${hookPath(hook.id)}/dead-letters/${encodeURIComponent(letter.id)}/replay`);
      const code = result.attempt.status ? `HTTP ${result.attempt.status}` : "no answer";
      await report(result.delivered ? `Event ${letter.eventId} delivered (${code}).` : `Event ${letter.eventId} refused again: ${result.attempt.error}`, result.delivered ? "success" : "error");
    } catch (error) {
      status.replaceChildren(notice(error.message, "error"));
    }
  };
  replayAll.addEventListener("click", async () => {
    try {
      const r = await request("POST", `${hookPath(hook.id)}/dead-letters/replay`);
      await report(`${r.delivered} delivered, ${r.failed} refused, ${r.remaining} left.`, r.failed ? "error" : "success");
    } catch (error) {
      status.replaceChildren(notice(error.message, "error"));
    }
  });
  async function load() {
    let items = [];
    try {
      items = (await request("GET", `${hookPath(hook.id)}/dead-letters`)).items;
    } catch (error) {
      status.replaceChildren(notice(`Could not list dead letters: ${error.message}`, "error"));
    }
    replayAll.hidden = items.length === 0;
    tbody.replaceChildren(...items.map((letter) => h("tr", { "data-event": String(letter.eventId) },
      h("td", {}, String(letter.eventId)),
      h("td", {}, `${letter.event?.action || ""} ${letter.event?.collectionName || ""} ${letter.event?.recordId || ""}`.trim()),
      h("td", {}, String(letter.attempts)),
      h("td", {}, h("span", { class: "cell-text" }, letter.error)),
      h("td", {}, letter.created),
      h("td", {}, h("button", { type: "button", class: "btn btn-small", onclick: () => replay(letter) }, "Replay", h("span", { class: "sr-only" }, ` event ${letter.eventId}`))))));
    if (!items.length) tbody.append(h("tr", {}, h("td", { colspan: 6 }, "No dead letters.")));
  }
  const section = h("section", { class: "card", "aria-labelledby": "letters-title" },
    h("div", { class: "page-head" }, h("h2", { id: "letters-title" }, "Dead letters"), replayAll),
    h("p", { class: "hint" }, "Events given up on after every retry. Replaying sends the same event (same id) once more; delivered, it leaves the list."),
    status,
    h("div", { class: "table-wrap" }, h("table", { class: "table" },
      h("caption", { class: "sr-only" }, "Dead letters"),
      h("thead", {}, h("tr", {}, ["Event", "Change", "Attempts", "Last error", "Time", ""].map((t) => h("th", { scope: "col" }, t)))),
      tbody)));
  section.load = load;
  return section;
}

export async function webhookPage(root, route) {
  const [hook, collections] = await Promise.all([request("GET", hookPath(route.params.id)), listCollections()]);
  const title = h("h1", {}, `Webhook ${hook.name || hook.id}`);
  const attempts = attemptsSection(hook);
  const letters = deadLettersSection(hook, () => attempts.load());
  const form = webhookForm(hook, collections.map((c) => c.name), (saved, secret, status) => {
    Object.assign(hook, saved);
    title.textContent = `Webhook ${saved.name || saved.id}`;
    status.append(notice(secret ? "Webhook saved with its new secret." : "Webhook saved.", "success"));
  });
  const remove = h("button", {
    type: "button",
    class: "btn btn-danger",
    onclick: async () => {
      if (!window.confirm(`Delete webhook ${hook.name || hook.url}, its attempts and its dead letters?`)) return;
      try {
        await request("DELETE", hookPath(hook.id));
        go("/webhooks");
      } catch (error) {
        form.after(notice(error.message, "error"));
      }
    },
  }, "Delete webhook");
  root.append(
    h("div", { class: "page-head" }, title, h("div", { class: "actions" }, h("a", { class: "btn", href: link("/webhooks") }, "All webhooks"), remove)),
    ...[secretOnce(hook)].filter(Boolean), // native append would write a null as text
    form,
    attempts,
    letters,
  );
  await Promise.all([attempts.load(), letters.load()]);
}
