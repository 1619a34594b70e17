// Every field type with its options: collection schema as echoed back, valid records, and many
// invalid ones (the recorded error bodies carry PocketBase's validation codes and messages).
import { Harness } from "../lib/harness.mjs";

const h = new Harness("field-types");

await h.run(async () => {
    const su = await h.superuser();

    await h.step("create collection tags", () =>
        su.collections.create({ name: "ft_tags", type: "base", fields: [{ name: "label", type: "text" }] }),
    );
    const tagIds = [];
    for (const label of ["red", "green", "blue"]) {
        const t = await h.step(`create tag ${label}`, () => su.collection("ft_tags").create({ label }));
        tagIds.push(t?.id);
    }

    const def = {
        name: "ft_all",
        type: "base",
        listRule: "",
        viewRule: "",
        createRule: "",
        updateRule: "",
        deleteRule: "",
        fields: [
            { name: "title", type: "text", required: true, min: 3, max: 12, pattern: "^[A-Za-z0-9 ]+$" },
            { name: "slug", type: "text", autogeneratePattern: "[a-z]{0}fixed" },
            { name: "content", type: "editor", maxSize: 200 },
            { name: "count", type: "number", min: -5, max: 100, onlyInt: true },
            { name: "ratio", type: "number" },
            { name: "flag", type: "bool" },
            { name: "contact", type: "email", onlyDomains: ["example.com", "example.org"] },
            { name: "backup", type: "email", exceptDomains: ["spam.test"] },
            { name: "site", type: "url", exceptDomains: ["evil.test"] },
            { name: "due", type: "date", min: "2020-01-01 00:00:00.000Z", max: "2030-12-31 23:59:59.000Z" },
            { name: "created", type: "autodate", onCreate: true, onUpdate: false },
            { name: "updated", type: "autodate", onCreate: true, onUpdate: true },
            { name: "color", type: "select", values: ["red", "green", "blue"], maxSelect: 1 },
            { name: "sizes", type: "select", values: ["s", "m", "l", "xl"], maxSelect: 3 },
            { name: "meta", type: "json", maxSize: 64 },
            { name: "tag", type: "relation", collectionId: "pbc_" + "x", maxSelect: 1 },
            { name: "tags", type: "relation", collectionId: "pbc_" + "x", maxSelect: 2, minSelect: 0 },
            { name: "doc", type: "file", maxSelect: 1, maxSize: 1024, mimeTypes: ["text/plain"] },
            { name: "docs", type: "file", maxSelect: 3, protected: true, thumbs: ["10x10"] },
            { name: "place", type: "geoPoint" },
            { name: "secret", type: "text", hidden: true },
        ],
    };
    // the relation target is looked up by name so that its (deterministic) id need not be hard-coded
    const tagsColl = await h.step("get collection ft_tags", () => su.collections.getOne("ft_tags"));
    for (const f of def.fields) if (f.type === "relation") f.collectionId = tagsColl?.id;

    await h.step("create collection with bad relation target", () =>
        su.collections.create({ name: "ft_bad", fields: [{ name: "r", type: "relation", collectionId: "nope" }] }),
    );
    await h.step("create collection with bad select (no values)", () =>
        su.collections.create({ name: "ft_bad", fields: [{ name: "s", type: "select", values: [] }] }),
    );
    await h.step("create collection with reserved field name", () =>
        su.collections.create({ name: "ft_bad", fields: [{ name: "expand", type: "text" }] }),
    );
    await h.step("create collection with duplicate field names", () =>
        su.collections.create({
            name: "ft_bad",
            fields: [
                { name: "a", type: "text" },
                { name: "a", type: "number" },
            ],
        }),
    );
    await h.step("create collection with unknown field type", () =>
        su.collections.create({ name: "ft_bad", fields: [{ name: "a", type: "nosuchtype" }] }),
    );
    await h.step("create collection ft_all", () => su.collections.create(def));
    await h.step("view collection ft_all", () => su.collections.getOne("ft_all"));

    const anon = h.client();
    const all = anon.collection("ft_all");
    const valid = {
        title: "Hello 1",
        content: "<p>hi <b>there</b></p>",
        count: 7,
        ratio: 1.5,
        flag: true,
        contact: "me@example.com",
        backup: "x@other.test",
        site: "https://example.com/a?b=c",
        due: "2024-05-06 07:08:09.123Z",
        color: "green",
        sizes: ["m", "s"],
        meta: { a: [1, 2], b: "x" },
        tag: tagIds[0],
        tags: [tagIds[1], tagIds[2]],
        place: { lon: 23.5, lat: -42.25 },
        secret: "hidden value",
    };
    const r1 = await h.step("create valid full record", () => all.create(valid));
    await h.step("create minimal record (defaults)", () => all.create({ title: "Min" }));
    await h.step("create with string numbers and bool coercion", () =>
        all.create({ title: "Coerce", count: "12", ratio: "2.25", flag: "true", sizes: "l", tags: tagIds[0] }),
    );
    await h.step("create with due as date-only string", () => all.create({ title: "Dateonly", due: "2024-05-06" }));
    await h.step("create with meta scalar json", () => all.create({ title: "Jsonscalar", meta: 42 }));
    await h.step("create with meta null", () => all.create({ title: "Jsonnull", meta: null }));
    await h.step("create with empty strings everywhere", () =>
        all.create({ title: "Empties", contact: "", site: "", due: "", color: "", sizes: [], tag: "", tags: [] }),
    );

    const invalid = [
        ["missing title", { count: 1 }],
        ["title too short", { title: "ab" }],
        ["title too long", { title: "abcdefghijklmnop" }],
        ["title pattern mismatch", { title: "bad_title!" }],
        ["content too large", { title: "Big", content: "x".repeat(500) }],
        ["count below min", { title: "Num", count: -6 }],
        ["count above max", { title: "Num", count: 101 }],
        ["count not integer", { title: "Num", count: 1.5 }],
        ["count not a number", { title: "Num", count: "abc" }],
        ["contact domain not allowed", { title: "Mail", contact: "me@other.com" }],
        ["contact invalid email", { title: "Mail", contact: "not-an-email" }],
        ["backup excepted domain", { title: "Mail", backup: "x@spam.test" }],
        ["site invalid url", { title: "Url", site: "not a url" }],
        ["site excepted domain", { title: "Url", site: "https://evil.test/x" }],
        ["due before min", { title: "Date", due: "2019-12-31 23:59:59.000Z" }],
        ["due after max", { title: "Date", due: "2031-01-01 00:00:00.000Z" }],
        ["due garbage", { title: "Date", due: "yesterday" }],
        ["color unknown value", { title: "Sel", color: "purple" }],
        ["color multiple values", { title: "Sel", color: ["red", "blue"] }],
        ["sizes too many", { title: "Sel", sizes: ["s", "m", "l", "xl"] }],
        ["sizes unknown value", { title: "Sel", sizes: ["xxl"] }],
        ["meta too large", { title: "Json", meta: { k: "x".repeat(100) } }],
        ["meta invalid json string", { title: "Json", meta: "{not json" }],
        ["tag unknown id", { title: "Rel", tag: "aaaaaaaaaaaaaaa" }],
        ["tags too many", { title: "Rel", tags: tagIds }],
        ["place out of range", { title: "Geo", place: { lon: 200, lat: 0 } }],
        ["place wrong shape", { title: "Geo", place: "here" }],
        ["several errors at once", { title: "", count: 1000, contact: "x", color: "nope" }],
        ["unknown field is ignored", { title: "Unknown", nosuch: 1 }],
        ["explicit id too short", { id: "abc", title: "Idshort" }],
        ["explicit id valid", { id: "abcdefghijklmno", title: "Idgood" }],
        ["explicit id duplicate", { id: "abcdefghijklmno", title: "Iddup" }],
        ["explicit created is ignored", { title: "Autod", created: "2001-01-01 00:00:00.000Z" }],
    ];
    for (const [label, body] of invalid) await h.step(`create: ${label}`, () => all.create(body));

    if (r1?.id) {
        await h.step("view full record", () => all.getOne(r1.id));
        await h.step("update with modifiers", () =>
            all.update(r1.id, { "count+": 3, "sizes+": "xl", "sizes-": "s", "tags-": tagIds[1], "ratio-": 0.5 }),
        );
        await h.step("update count over max via modifier", () => all.update(r1.id, { "count+": 1000 }));
        await h.step("update clears title (required)", () => all.update(r1.id, { title: "" }));
        await h.step("update geo and json", () => all.update(r1.id, { place: { lon: 0, lat: 0 }, meta: [1] }));
        await h.step("view after updates", () => all.getOne(r1.id));
    }
    await h.step("list sorted by title", () => all.getList(1, 50, { sort: "title" }));
    await h.step("list hidden field as superuser", () =>
        su.collection("ft_all").getList(1, 50, { sort: "title", fields: "title,secret" }),
    );
});
