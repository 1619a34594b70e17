// The logs and crons APIs: superusers only (401 guest, 403 user), list/stats/view shapes and their
// errors, and running a cron job. Log contents are left out on purpose: PocketBase writes its log
// batches 3 s after the last entry (and the entries hold timings and addresses), so only filters
// matching nothing are compared. The crons list is left out too: PocketBase has built-in jobs
// Satchel does not run (see docs/crons.md).
import { Harness } from "../lib/harness.mjs";

const h = new Harness("logs-crons");

const ALICE = { email: "alice@example.com", password: "alice-pass-123" };
const NOTHING = "data.status = 999 && message = 'none'";

await h.run(async () => {
    const su = await h.superuser();
    const anon = h.client();
    const alice = h.client();
    await h.step("create alice", () => anon.collection("users").create({ ...ALICE, passwordConfirm: ALICE.password }));
    await h.step("alice auth", () => alice.collection("users").authWithPassword(ALICE.email, ALICE.password));

    for (const [who, client] of [["guest", anon], ["user", alice]]) {
        await h.step(`${who} logs list`, () => client.logs.getList(1, 5));
        await h.step(`${who} logs stats`, () => client.logs.getStats());
        await h.step(`${who} logs view`, () => client.logs.getOne("abcdefghijklmno"));
        await h.step(`${who} crons list`, () => client.crons.getFullList());
        await h.step(`${who} cron run`, () => client.crons.run("__pbLogsCleanup__"));
    }

    await h.step("list matching nothing", () => su.logs.getList(1, 5, { filter: NOTHING }));
    await h.step("list sorted, skipTotal", () => su.logs.getList(2, 3, { filter: NOTHING, sort: "-data.execTime,created", skipTotal: true }));
    await h.step("list fields", () => su.logs.getList(1, 5, { filter: NOTHING, fields: "id,message" }));
    await h.step("list bad filter", () => su.logs.getList(1, 5, { filter: "bad(" }));
    await h.step("list unknown field", () => su.logs.getList(1, 5, { filter: "nope = 1" }));
    await h.step("list @request filter", () => su.logs.getList(1, 5, { filter: "@request.auth.id = ''" }));
    await h.step("list bad sort", () => su.logs.getList(1, 5, { sort: "nope" }));
    await h.step("list bad page", () => su.send("/api/logs", { query: { page: "x" } }));
    await h.step("stats matching nothing", () => su.logs.getStats({ filter: NOTHING }));
    await h.step("stats bad filter", () => su.logs.getStats({ filter: "((" }));
    await h.step("view missing", () => su.logs.getOne("abcdefghijklmno"));
    await h.step("cron run", () => su.crons.run("__pbLogsCleanup__"));
    await h.step("cron run unknown", () => su.crons.run("nope"));
});
