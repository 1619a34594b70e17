// API rules and error answers: null rules (superuser only), "" (public) and expressions using
// @request.auth.*, @request.body.*, @collection.*; superuser-only APIs answering 401/403; expand
// (nested, back-relations such as posts_via_author) with `fields` and `:excerpt`; bad paging
// parameters; auth methods and impersonation.
import { Harness } from "../lib/harness.mjs";

const h = new Harness("rules-errors");

const ALICE = { email: "alice@example.com", password: "alice-pass-123", name: "Alice" };
const BOB = { email: "bob@example.com", password: "bob-pass-1234", name: "Bob" };
const USERS = "_pb_users_auth_";

await h.run(async () => {
    const su = await h.superuser();
    const anon = h.client();
    const alice = h.client();
    const bob = h.client();

    // ---- users
    const a = await h.step("create alice", () =>
        anon.collection("users").create({ ...ALICE, passwordConfirm: ALICE.password }),
    );
    const b = await h.step("create bob", () =>
        anon.collection("users").create({ ...BOB, passwordConfirm: BOB.password, emailVisibility: true }),
    );
    await h.step("alice auth", () => alice.collection("users").authWithPassword(ALICE.email, ALICE.password));
    await h.step("bob auth", () => bob.collection("users").authWithPassword(BOB.email, BOB.password));
    await h.step("alice wrong password", () => h.client().collection("users").authWithPassword(ALICE.email, "nope-nope"));
    await h.step("auth with unknown identity", () => h.client().collection("users").authWithPassword("x@example.com", "whatever1"));

    // ---- collections
    await h.step("create locked (all rules null)", () =>
        su.collections.create({ name: "locked", fields: [{ name: "v", type: "text" }] }),
    );
    await h.step("create open (all rules empty)", () =>
        su.collections.create({
            name: "open",
            listRule: "",
            viewRule: "",
            createRule: "",
            updateRule: "",
            deleteRule: "",
            fields: [{ name: "v", type: "text" }],
        }),
    );
    await h.step("create flags", () =>
        su.collections.create({ name: "flags", listRule: "", fields: [{ name: "tag", type: "text" }] }),
    );
    await h.step("create posts", () =>
        su.collections.create({
            name: "posts",
            listRule: "published = true || author = @request.auth.id",
            viewRule: "published = true || author = @request.auth.id",
            createRule: '@request.auth.id != "" && @request.body.author = @request.auth.id',
            updateRule: "author = @request.auth.id && @request.body.author:isset = false",
            deleteRule: "author = @request.auth.id && @collection.flags.tag ?= 'allow-delete'",
            fields: [
                { name: "title", type: "text", required: true },
                { name: "body", type: "editor" },
                { name: "published", type: "bool" },
                { name: "author", type: "relation", collectionId: USERS, maxSelect: 1 },
            ],
        }),
    );
    const postsColl = await h.step("get posts", () => su.collections.getOne("posts"));
    await h.step("create comments", () =>
        su.collections.create({
            name: "comments",
            listRule: "",
            viewRule: "",
            createRule: "@request.auth.id != ''",
            fields: [
                { name: "text", type: "text" },
                { name: "post", type: "relation", collectionId: postsColl?.id, maxSelect: 1 },
                { name: "author", type: "relation", collectionId: USERS, maxSelect: 1 },
            ],
        }),
    );

    // ---- null rules: superuser only
    const lockedRec = await h.step("su create locked record", () => su.collection("locked").create({ v: "x" }));
    for (const [who, c] of [["anon", anon], ["alice", alice]]) {
        await h.step(`${who} list locked`, () => c.collection("locked").getList(1, 10));
        await h.step(`${who} view locked`, () => c.collection("locked").getOne(lockedRec?.id));
        await h.step(`${who} create locked`, () => c.collection("locked").create({ v: "y" }));
        await h.step(`${who} update locked`, () => c.collection("locked").update(lockedRec?.id, { v: "z" }));
        await h.step(`${who} delete locked`, () => c.collection("locked").delete(lockedRec?.id));
    }
    await h.step("su list locked", () => su.collection("locked").getList(1, 10));

    // ---- empty rules: public
    const o = await h.step("anon create open", () => anon.collection("open").create({ v: "1" }));
    await h.step("anon update open", () => anon.collection("open").update(o?.id, { v: "2" }));
    await h.step("anon list open", () => anon.collection("open").getList(1, 10));
    await h.step("anon delete open", () => anon.collection("open").delete(o?.id));
    await h.step("anon view deleted open", () => anon.collection("open").getOne(o?.id));

    // ---- expression rules
    await h.step("anon create post (createRule)", () =>
        anon.collection("posts").create({ title: "Anon", author: a?.id }),
    );
    await h.step("alice create post for bob (body rule)", () =>
        alice.collection("posts").create({ title: "Forged", author: b?.id }),
    );
    const long = "<p>The <b>quick</b> brown fox jumps over the lazy dog and keeps running far away.</p>";
    const p1 = await h.step("alice create published post", () =>
        alice.collection("posts").create({ title: "A1", body: long, published: true, author: a?.id }),
    );
    const p2 = await h.step("alice create draft", () =>
        alice.collection("posts").create({ title: "A2 draft", body: "<p>draft</p>", published: false, author: a?.id }),
    );
    const p3 = await h.step("bob create draft", () =>
        bob.collection("posts").create({ title: "B1 draft", body: "short", published: false, author: b?.id }),
    );
    await h.step("alice create without title", () => alice.collection("posts").create({ author: a?.id }));
    for (const [who, c] of [["anon", anon], ["alice", alice], ["bob", bob], ["su", su]])
        await h.step(`${who} list posts`, () => c.collection("posts").getList(1, 10, { sort: "title" }));
    await h.step("bob view alice draft (404)", () => bob.collection("posts").getOne(p2?.id));
    await h.step("alice view own draft", () => alice.collection("posts").getOne(p2?.id));
    await h.step("bob update alice post (404)", () => bob.collection("posts").update(p1?.id, { title: "Hijack" }));
    await h.step("bob update alice published post", () => bob.collection("posts").update(p1?.id, { title: "Hijack" }));
    await h.step("alice update own post", () => alice.collection("posts").update(p1?.id, { title: "A1 edited" }));
    await h.step("alice update with author set (rule)", () =>
        alice.collection("posts").update(p1?.id, { author: a?.id }),
    );
    await h.step("alice delete own draft, no flag yet", () => alice.collection("posts").delete(p2?.id));
    await h.step("su create allow-delete flag", () => su.collection("flags").create({ tag: "allow-delete" }));
    await h.step("alice delete own draft with flag", () => alice.collection("posts").delete(p2?.id));
    await h.step("bob delete alice post", () => bob.collection("posts").delete(p1?.id));

    // ---- comments, expand, back-relations, fields
    for (const [who, c, post, text] of [["bob", bob, p1, "nice"], ["alice", alice, p1, "thanks"], ["bob", bob, p3, "mine"]])
        await h.step(`${who} comments`, () =>
            c.collection("comments").create({ text, post: post?.id, author: who === "bob" ? b?.id : a?.id }),
        );
    const exp = (label, client, coll, opts) =>
        h.step(label, () => client.collection(coll).getList(1, 20, { sort: "@rowid", ...opts }));
    await exp("anon comments expand post.author", anon, "comments", { expand: "post.author" });
    await exp("bob comments expand post", bob, "comments", { expand: "post,author" });
    await exp("su comments expand post.author", su, "comments", { expand: "post.author" });
    await exp("anon posts expand comments_via_post", anon, "posts", { expand: "comments_via_post" });
    await exp("alice posts expand comments_via_post.author", alice, "posts", { expand: "comments_via_post.author" });
    await h.step("alice view self expand posts_via_author", () =>
        alice.collection("users").getOne(a?.id, { expand: "posts_via_author" }),
    );
    await h.step("su view alice expand posts_via_author.comments_via_post", () =>
        su.collection("users").getOne(a?.id, { expand: "posts_via_author.comments_via_post" }),
    );
    await exp("expand unknown field", anon, "posts", { expand: "nosuch" });
    await exp("fields subset", anon, "posts", { fields: "id,title" });
    await exp("fields with expand", anon, "comments", { expand: "post", fields: "text,expand.post.title" });
    await exp("fields excerpt", anon, "posts", { fields: "title,body:excerpt(10,true)" });
    await exp("fields excerpt no ellipsis", anon, "posts", { fields: "body:excerpt(12)" });
    await exp("fields star plus excerpt", anon, "posts", { fields: "*,body:excerpt(5,true)" });
    await exp("fields unknown", anon, "posts", { fields: "nosuch" });

    // ---- paging parameters
    for (const [label, query] of [
        ["perPage 0", { perPage: 0 }],
        ["perPage -1", { perPage: -1 }],
        ["perPage 5000", { perPage: 5000 }],
        ["perPage abc", { perPage: "abc" }],
        ["page 0", { page: 0 }],
        ["page -3", { page: -3 }],
        ["page x", { page: "x" }],
        ["page 99", { page: 99, perPage: 1 }],
        ["skipTotal", { skipTotal: 1, perPage: 1 }],
        ["skipTotal false", { skipTotal: "false", perPage: 1 }],
    ])
        await h.send(su, `paging ${label}`, "/api/collections/comments/records", { query: { fields: "text", sort: "@rowid", ...query } });

    // ---- superuser-only APIs
    await h.step("anon list collections", () => anon.collections.getList(1, 5));
    await h.step("alice list collections", () => alice.collections.getList(1, 5));
    await h.step("alice view collection", () => alice.collections.getOne("posts"));
    await h.step("anon settings", () => anon.settings.getAll());
    await h.step("alice settings", () => alice.settings.getAll());
    await h.step("alice delete collection", () => alice.collections.delete("posts"));
    await h.step("su view unknown collection", () => su.collections.getOne("nosuch"));
    await h.step("anon list unknown collection records", () => anon.collection("nosuch").getList(1, 5));
    await h.step("anon view unknown record", () => anon.collection("open").getOne("aaaaaaaaaaaaaaa"));
    await h.step("su update unknown record", () => su.collection("open").update("aaaaaaaaaaaaaaa", { v: "1" }));
    await h.step("su delete unknown record", () => su.collection("open").delete("aaaaaaaaaaaaaaa"));
    await h.send(anon, "users list as anon (rule)", "/api/collections/users/records");
    await h.send(alice, "users list as alice (own)", "/api/collections/users/records", { query: { sort: "@rowid" } });
    await h.send(bob, "users view alice as bob", `/api/collections/users/records/${a?.id}`);

    // ---- auth methods and impersonation
    await h.step("users auth-methods", () => anon.collection("users").listAuthMethods());
    await h.step("superusers auth-methods", () => anon.collection("_superusers").listAuthMethods());
    await h.step("auth-methods on base collection", () => anon.collection("posts").listAuthMethods());
    await h.step("alice auth-refresh", () => alice.collection("users").authRefresh());
    await h.step("anon auth-refresh", () => anon.collection("users").authRefresh());
    const imp = await h.step("su impersonate alice", () => su.collection("users").impersonate(a?.id, 3600));
    if (imp) {
        await h.step("impersonated list posts", () => imp.collection("posts").getList(1, 10, { sort: "title" }));
        await h.step("impersonated auth-refresh", () => imp.collection("users").authRefresh());
    }
    await h.send(alice, "alice impersonate bob", `/api/collections/users/impersonate/${b?.id}`, { method: "POST" });
    await h.send(su, "su impersonate unknown", "/api/collections/users/impersonate/aaaaaaaaaaaaaaa", { method: "POST" });
    await h.send(su, "su impersonate on base collection", `/api/collections/posts/impersonate/${p1?.id}`, { method: "POST" });
});
