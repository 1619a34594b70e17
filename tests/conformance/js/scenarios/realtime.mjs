// Realtime through the SDK: pb.collection(...).subscribe(...) on collection (`posts/*`), record
// (`posts/<id>`), collection-id and deprecated bare topics, with filter/expand/fields/query/headers
// options, as guest, owner, other user and superuser; custom topics and collections nobody may list;
// the unsubscribe paths (unsubscribe(topic), the returned function, by prefix, everything); the auth a
// client is bound to (guest -> user upgrade, refused switches, a password change dropping it, a deleted
// user); events from sign-ups, superusers, cascade deletes and batches (none from failed writes). Every
// event each listener gets is noted in order; the subscription calls are exchanges.
//
// Delivery is made deterministic by a marker: every client also listens to `markers/*`, and after each
// change a marker record is created (unrecorded) and awaited by every connected client. The marker is
// created a full round trip after the change was answered, so by the time it arrived every message of
// that change had arrived too. PocketBase sends each message of a change from a goroutine of its own, so
// two messages of one change to one client may come in either order: events are kept per listener (never
// per client), and no change gives one listener more than one event.
//
// The SSE streams themselves are opened with the unrecorded fetch (a stream never ends, the recorder
// would wait for its body); realtime client ids are registered as aliases (notes shaped like records).
import { Harness } from "../lib/harness.mjs";
import { EventSource } from "eventsource";

const unrecordedFetch = globalThis.fetch;
const h = new Harness("realtime");

/** The SDK's EventSource, reading the stream through the real fetch instead of the recorder. */
class UnrecordedEventSource extends EventSource {
    constructor(url, init) {
        super(url, { ...init, fetch: unrecordedFetch });
    }
}
globalThis.EventSource = UnrecordedEventSource;

const PASS = "pass-word-123";
const NEW_PASS = "pass-word-456";
const USERS = "_pb_users_auth_";
const WAIT_MS = 10000;
// ids chosen up front, so record topics can be subscribed to before their record exists
const FIRST = "rtfirst00000001";
const BOBPOST = "rtbobpost000001";
const LOCKED = "rtlocked0000001";
const GATED = "rtgated00000001";
const BATCHPOST = "rtbatchpost0001";

// PocketBase checks delete events before the row goes, with the auth still bound, so a deleted user
// is told of her own deletion (tests/core/realtime/test_realtime_deleted_auth.py); false skips it.
const CHECK_DELETED_USER_SEES_OWN_DELETE = true;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ------------------------------------------------------------------------------ aliases
const aliasCount = {};
function alias(kind, value) {
    if (typeof value !== "string" || value === "") return;
    aliasCount[kind] = (aliasCount[kind] || 0) + 1;
    h.note(`${kind} #${aliasCount[kind]}`, { id: value, collectionId: kind, collectionName: kind });
}

// ------------------------------------------------------------------------------ subscribers
const clients = []; // every realtime client, in creation order
const listeners = []; // [client name, label, events], in subscription order

class Subscriber {
    constructor(name, pb) {
        this.name = name;
        this.pb = pb;
        this.marker = 0; // highest marker seen
        this.connected = false;
        this.clientIds = [];
        this.unexpected = [];
        pb.realtime.onDisconnect = (active) => {
            if (active.length) this.unexpected.push(`disconnected with ${active.length} subscriptions`);
        };
        clients.push(this);
    }

    #seen() {
        const id = this.pb.realtime.clientId;
        if (id && !this.clientIds.includes(id)) {
            this.clientIds.push(id);
            alias("client", id);
        }
        this.connected = this.pb.realtime.isConnected;
    }

    /** Listens to the markers first (opens the stream). */
    async start() {
        await h.step(`${this.name} subscribe markers/*`, () =>
            this.pb.collection("markers").subscribe("*", (e) => {
                const n = e?.record?.n;
                if (typeof n === "number" && n > this.marker) this.marker = n;
            }),
        );
        this.#seen();
    }

    #listener(label) {
        const events = [];
        listeners.push([this.name, label, events]);
        return (e) => events.push(e);
    }

    /** pb.collection(coll).subscribe(topic, cb, options) as a step; returns the unsubscribe function. */
    async sub(label, coll, topic, options) {
        const cb = this.#listener(label);
        const un = await h.step(`${this.name} subscribe ${label}`, () =>
            this.pb.collection(coll).subscribe(topic, cb, options),
        );
        this.#seen();
        return un;
    }

    /** pb.realtime.subscribe(topic, cb) as a step (custom and bare topics). */
    async raw(label, topic, options) {
        const cb = this.#listener(label);
        const un = await h.step(`${this.name} realtime.subscribe ${label}`, () =>
            this.pb.realtime.subscribe(topic, cb, options),
        );
        this.#seen();
        return un;
    }

    async step(label, fn) {
        const out = await h.step(`${this.name} ${label}`, fn);
        this.#seen();
        return out;
    }
}

let su; // the superuser client making the changes
let markerN = 0;

/** After a change: a marker every connected client must receive (all earlier events arrived then). */
async function settle() {
    markerN++;
    await su.collection("markers").create({ n: markerN }, { fetch: unrecordedFetch });
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
        const late = clients.filter((c) => c.connected && c.marker < markerN);
        if (!late.length) return;
        if (Date.now() > deadline)
            throw new Error(`marker ${markerN} not delivered to ${late.map((c) => c.name).join(", ")} in ${WAIT_MS} ms`);
        await sleep(5);
    }
}

/** A recorded change by the superuser, then settle. */
async function change(label, fn) {
    const out = await h.step(label, fn);
    await settle();
    return out;
}

await h.run(async () => {
    su = await h.superuser();
    const anon = h.client();

    // ---- users and collections
    const userIds = {};
    for (const [name, emailVisibility] of [["alice", false], ["bob", true], ["carol", false]]) {
        const u = await h.step(`create ${name}`, () =>
            su.collection("users").create({
                email: `${name}@example.com`,
                password: PASS,
                passwordConfirm: PASS,
                name,
                emailVisibility,
            }),
        );
        userIds[name] = u?.id;
    }
    await h.step("create markers", () =>
        su.collections.create({ name: "markers", listRule: "", viewRule: "", fields: [{ name: "n", type: "number" }] }),
    );
    const posts = await h.step("create posts", () =>
        su.collections.create({
            name: "posts",
            listRule: "public = true || author = @request.auth.id",
            viewRule: "public = true || author = @request.auth.id",
            fields: [
                { name: "title", type: "text" },
                { name: "public", type: "bool" },
                { name: "secret", type: "text", hidden: true },
                { name: "author", type: "relation", collectionId: USERS, maxSelect: 1 },
            ],
        }),
    );
    await h.step("create locked (list null, view public)", () =>
        su.collections.create({ name: "locked", listRule: null, viewRule: "", fields: [{ name: "v", type: "text" }] }),
    );
    await h.step("create comments (cascade delete with the post)", () =>
        su.collections.create({
            name: "comments",
            listRule: "",
            viewRule: "",
            fields: [
                { name: "text", type: "text" },
                { name: "post", type: "relation", collectionId: posts?.id, maxSelect: 1, cascadeDelete: true },
            ],
        }),
    );
    await h.step("create gated (header/query list rule, realtime-only view rule)", () =>
        su.collections.create({
            name: "gated",
            listRule: '@request.headers.x_token = "open-sesame" || @request.query.key = "k1"',
            viewRule: '@request.context = "realtime"',
            fields: [{ name: "v", type: "text" }],
        }),
    );

    // ---- clients
    const guest = new Subscriber("guest", h.client());
    const alice = new Subscriber("alice", h.client());
    const bob = new Subscriber("bob", h.client());
    const carol = new Subscriber("carol", h.client());
    const sup = new Subscriber("su", h.client());
    const up = new Subscriber("upgrader", h.client());
    const quitter = new Subscriber("quitter", h.client());
    for (const [s, name] of [[alice, "alice"], [bob, "bob"], [carol, "carol"]])
        await h.step(`${name} auth`, () => s.pb.collection("users").authWithPassword(`${name}@example.com`, PASS));
    await h.step("su (subscriber) auth", () =>
        sup.pb.collection("_superusers").authWithPassword(h.args.email, h.args.password),
    );
    for (const s of clients) await s.start();

    // ---- subscriptions
    await guest.sub("posts/*", "posts", "*");
    await guest.sub("posts/FIRST", "posts", FIRST);
    await guest.sub("posts/* filter title~x", "posts", "*", { filter: 'title ~ "x"' });
    await guest.sub("posts/* expand+fields", "posts", "*", { expand: "author", fields: "id,title,public,expand" });
    await guest.sub("posts/* filter @request.auth (superuser only)", "posts", "*", { filter: '@request.auth.id = ""' });
    await guest.raw("bare posts (deprecated)", "posts");
    await guest.sub("locked/*", "locked", "*");
    await guest.sub("locked/LOCKED", "locked", LOCKED);
    await guest.sub("gated/*", "gated", "*");
    await guest.sub("gated/* header", "gated", "*", { headers: { "X-Token": "open-sesame" } });
    await guest.sub("gated/* query", "gated", "*", { query: { key: "k1" } });
    await guest.sub("gated/* wrong query", "gated", "*", { query: { key: "k2" } });
    await guest.sub("gated/GATED", "gated", GATED);
    await guest.sub("posts/* filter through relation", "posts", "*", { filter: 'author.name = "alice"' });
    await guest.sub("posts/* bad filter", "posts", "*", { filter: "title ~" });
    await guest.sub("posts/* fields excerpt, unknown expand", "posts", "*", {
        fields: "id,title:excerpt(5,true)",
        expand: "nosuch",
    });
    await guest.sub("users/*", "users", "*");
    await guest.raw("custom topic", "sometopic");
    await guest.sub("nosuch/*", "nosuch", "*");
    await guest.sub("comments/*", "comments", "*");

    await alice.sub("posts/*", "posts", "*");
    const aliceExpand = await alice.sub("posts/* expand author fields", "posts", "*", {
        expand: "author",
        fields: "id,title,expand.author.email,expand.author.name",
    });
    await alice.sub("posts/* filter hidden field", "posts", "*", { filter: 'secret = "s2"' });
    await alice.sub("posts/FIRST", "posts", FIRST);
    await alice.sub("collection id/*", posts?.id, "*");
    await alice.sub("users/alice", "users", userIds.alice);
    await alice.sub("users/*", "users", "*");
    await alice.sub("posts/* filter through relation", "posts", "*", { filter: 'author.name = "alice"' });

    await bob.sub("posts/*", "posts", "*");
    await bob.sub("posts/* expand author", "posts", "*", { expand: "author" });
    await bob.sub("posts/FIRST", "posts", FIRST);
    await bob.sub("posts/BOBPOST", "posts", BOBPOST);
    await bob.sub("collection id/FIRST", posts?.id, FIRST);
    await bob.sub("users/bob", "users", userIds.bob);

    await carol.sub("users/carol", "users", userIds.carol);
    await carol.sub("users/*", "users", "*");
    await carol.sub("posts/*", "posts", "*");

    await sup.sub("posts/*", "posts", "*");
    await sup.sub("posts/* fields with hidden", "posts", "*", { fields: "id,title,secret" });
    await sup.sub("posts/* filter hidden field", "posts", "*", { filter: 'secret != ""' });
    await sup.sub("posts/* filter @request.auth", "posts", "*", {
        filter: '@request.auth.collectionName = "_superusers"',
    });
    await sup.sub("posts/* expand author", "posts", "*", { expand: "author" });
    await sup.sub("locked/*", "locked", "*");
    await sup.sub("users/*", "users", "*");
    await sup.sub("_superusers/*", "_superusers", "*");
    await sup.sub("comments/* expand post", "comments", "*", { expand: "post" });

    await up.sub("posts/* (as guest)", "posts", "*");
    await quitter.sub("posts/*", "posts", "*");

    // ---- changes seen through the subscriptions
    await change("create FIRST (public, alice)", () =>
        su.collection("posts").create({ id: FIRST, title: "first x", public: true, secret: "s1", author: userIds.alice }),
    );
    const p2 = await change("create alice private", () =>
        su.collection("posts").create({ title: "alice private x", public: false, secret: "s2", author: userIds.alice }),
    );
    await change("create BOBPOST (private, bob)", () =>
        su.collection("posts").create({ id: BOBPOST, title: "bob private", public: false, author: userIds.bob }),
    );
    await change("update FIRST title", () => su.collection("posts").update(FIRST, { title: "first x edited" }));
    await change("update FIRST private", () => su.collection("posts").update(FIRST, { public: false }));
    await change("update alice private -> public", () => su.collection("posts").update(p2?.id, { public: true }));
    await change("create LOCKED", () => su.collection("locked").create({ id: LOCKED, v: "1" }));
    await change("update LOCKED", () => su.collection("locked").update(LOCKED, { v: "2" }));
    await change("create GATED", () => su.collection("gated").create({ id: GATED, v: "g" }));
    await change("update alice name", () => su.collection("users").update(userIds.alice, { name: "Alice" }));
    await change("update carol name", () => su.collection("users").update(userIds.carol, { name: "Carol" }));
    await change("update bob name", () => su.collection("users").update(userIds.bob, { name: "Bob" }));
    await change("anonymous sign-up", () =>
        anon.collection("users").create({ email: "dave@example.com", password: PASS, passwordConfirm: PASS }),
    );
    await change("create a superuser", () =>
        su.collection("_superusers").create({ email: "root2@example.com", password: PASS, passwordConfirm: PASS }),
    );
    await change("failed create (no event)", () => su.collection("posts").create({ author: "nosuchuser00000" }));
    await change("comment on FIRST", () => su.collection("comments").create({ text: "c1", post: FIRST }));
    await change("comment on alice private", () => su.collection("comments").create({ text: "c2", post: p2?.id }));

    // ---- auth bound to a client: guest -> user is allowed, any other switch is refused
    await h.step("upgrader auth as alice", () =>
        up.pb.collection("users").authWithPassword("alice@example.com", PASS),
    );
    await up.sub("posts/* filter public=false (as alice)", "posts", "*", { filter: "public = false" });
    await h.step("upgrader auth as bob", () => up.pb.collection("users").authWithPassword("bob@example.com", PASS));
    await up.sub("posts/BOBPOST (as bob, refused)", "posts", BOBPOST);
    up.pb.authStore.clear();
    await up.sub("posts/FIRST (as guest, refused)", "posts", FIRST);
    await change("update FIRST title again", () => su.collection("posts").update(FIRST, { title: "first x again" }));
    await change("update BOBPOST title", () => su.collection("posts").update(BOBPOST, { title: "bob private 2" }));

    // ---- unsubscribe paths
    await guest.step("unsubscribe posts/* (every option variant)", () => guest.pb.collection("posts").unsubscribe("*"));
    await alice.step("unsubscribe the expand listener", () => aliceExpand?.());
    await bob.step("unsubscribe posts/*", () => bob.pb.collection("posts").unsubscribe("*"));
    await carol.step("unsubscribe everything in posts", () => carol.pb.collection("posts").unsubscribe());
    await quitter.step("unsubscribe everything", () => quitter.pb.realtime.unsubscribe());
    h.note("quitter connected after unsubscribing everything", quitter.pb.realtime.isConnected);
    await change("update alice public post", () => su.collection("posts").update(p2?.id, { title: "alice public x" }));
    await change("update BOBPOST title (bob subscribed by id)", () =>
        su.collection("posts").update(BOBPOST, { title: "bob private 3" }),
    );

    // ---- a password change drops the client's auth; signing in again binds it anew
    await change("change bob password", () =>
        su.collection("users").update(userIds.bob, { password: NEW_PASS, passwordConfirm: NEW_PASS }),
    );
    await change("update BOBPOST after bob's password change", () =>
        su.collection("posts").update(BOBPOST, { title: "bob private 4" }),
    );
    await bob.sub("posts/BOBPOST fields (stale token)", "posts", BOBPOST, { fields: "id,title" });
    await h.step("bob auth with the new password", () =>
        bob.pb.collection("users").authWithPassword("bob@example.com", NEW_PASS),
    );
    await bob.sub("posts/* (new token)", "posts", "*");
    await change("update BOBPOST after bob signed in again", () =>
        su.collection("posts").update(BOBPOST, { title: "bob private 5" }),
    );

    // ---- a batch: events once the transaction committed
    const r = await unrecordedFetch(`${h.args.url}/api/settings`, {
        method: "PATCH",
        headers: { "Content-Type": "application/json", Authorization: su.authStore.token },
        body: JSON.stringify({ batch: { enabled: true, maxRequests: 50, timeout: 3 } }),
    });
    if (r.status !== 200) throw new Error(`batch settings: ${r.status} ${await r.text()}`);
    // one event per listener: PocketBase sends a change's messages from goroutines of their own, so
    // two events of one batch for the same listener could come in either order
    await change("batch: create a post, comment on it, update LOCKED", () => {
        const batch = su.createBatch();
        batch.collection("posts").create({ id: BATCHPOST, title: "batch x", public: true, author: userIds.bob });
        batch.collection("comments").create({ text: "c3", post: BATCHPOST });
        batch.collection("locked").update(LOCKED, { v: "3" });
        return batch.send();
    });
    await change("failing batch (rolled back, no event)", () => {
        const batch = su.createBatch();
        batch.collection("posts").create({ title: "never", public: true });
        batch.collection("posts").update("nosuchpost00000", { title: "nope" });
        return batch.send();
    });

    // ---- deletes (the FIRST delete cascades to its comment)
    await change("delete alice public post", () => su.collection("posts").delete(p2?.id));
    await change("delete FIRST (private)", () => su.collection("posts").delete(FIRST));
    await change("delete BOBPOST", () => su.collection("posts").delete(BOBPOST));
    await change("delete LOCKED", () => su.collection("locked").delete(LOCKED));
    if (!CHECK_DELETED_USER_SEES_OWN_DELETE)
        await carol.step("unsubscribe users (deleted-user gap)", () => carol.pb.collection("users").unsubscribe());
    await change("delete carol", () => su.collection("users").delete(userIds.carol));
    await carol.sub("users/* after deletion (token of a deleted user)", "users", "*");
    await change("update alice name again", () => su.collection("users").update(userIds.alice, { name: "Alice 2" }));

    // ---- subscription calls the SDK would not make
    await h.send(anon, "subscribe unknown client id", "/api/realtime", {
        method: "POST",
        body: { clientId: "aaaaaaaaaaaaaaa", subscriptions: ["posts/*"] },
    });
    await h.send(anon, "subscribe without client id", "/api/realtime", { method: "POST", body: { subscriptions: [] } });

    // ---- results
    for (const [name, label, events] of listeners) h.note(`${name} ${label}`, events);
    for (const c of clients) {
        h.note(`${c.name} connections`, c.clientIds.length);
        if (c.unexpected.length) h.note(`${c.name} unexpected`, c.unexpected);
    }
    for (const c of clients) c.pb.realtime.unsubscribe().catch(() => {});
});
