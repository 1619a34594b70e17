// The filter language and sorting: every operator (incl. the `?` any-of forms on multi-valued
// fields), modifiers (:length, :each, :lower), relation paths, @request.auth.*, @collection joins,
// datetime macros against fixed far-away dates, nulls, @rowid sorting and invalid filters (400).
// Lists ask only for titles so the transcript shows *which* records matched.
import { Harness } from "../lib/harness.mjs";

const h = new Harness("filters");

await h.run(async () => {
    const su = await h.superuser();

    await h.step("create collection fl_authors", () =>
        su.collections.create({
            name: "fl_authors",
            listRule: "",
            viewRule: "",
            fields: [
                { name: "name", type: "text" },
                { name: "age", type: "number" },
            ],
        }),
    );
    const authors = {};
    for (const [name, age] of [["Ann", 25], ["Bob", 41], ["Cid", 33]]) {
        const a = await h.step(`create author ${name}`, () => su.collection("fl_authors").create({ name, age }));
        authors[name] = a?.id;
    }
    const authorsColl = await h.step("get fl_authors", () => su.collections.getOne("fl_authors"));
    // a superuser-only collection: relation paths into it must fail for everyone else
    const privColl = await h.step("create collection fl_private", () =>
        su.collections.create({ name: "fl_private", fields: [{ name: "code", type: "text" }] }),
    );
    const priv = await h.step("create private record", () => su.collection("fl_private").create({ code: "p1" }));

    await h.step("create collection fl_posts", () =>
        su.collections.create({
            name: "fl_posts",
            listRule: "",
            fields: [
                { name: "title", type: "text" },
                { name: "body", type: "text" },
                { name: "views", type: "number" },
                { name: "published", type: "bool" },
                { name: "tags", type: "select", values: ["a", "b", "c", "dd"], maxSelect: 4 },
                { name: "meta", type: "json" },
                { name: "due", type: "date" },
                { name: "owner", type: "text" },
                { name: "author", type: "relation", collectionId: authorsColl?.id, maxSelect: 1 },
                { name: "reviewers", type: "relation", collectionId: authorsColl?.id, maxSelect: 5 },
                { name: "secret", type: "relation", collectionId: privColl?.id, maxSelect: 1 },
            ],
        }),
    );

    const posts = [
        { title: "Alpha", body: "hello world", views: 10, published: true, tags: ["a", "b"], meta: { k: 1, s: "x" }, due: "2001-02-03 04:05:06.000Z", author: "Ann", reviewers: ["Bob", "Cid"] },
        { title: "beta", body: "Hello There", views: 20, published: false, tags: ["b"], meta: { k: 2, s: "yx" }, due: "2099-01-01 00:00:00.000Z", author: "Bob", reviewers: ["Ann"] },
        { title: "Gamma", body: "", views: 0, published: true, tags: [], meta: null, due: "", author: "", reviewers: [] },
        { title: "delta", body: "100% sure_thing", views: -5, published: false, tags: ["c", "dd", "a"], meta: [1, 2, 3], due: "2150-06-01 12:00:00.000Z", author: "Cid", reviewers: ["Ann", "Bob", "Cid"] },
        { title: "Epsilon", body: "quote \" and 'single'", views: 30.5, published: true, tags: ["dd"], meta: "plain", due: "1990-01-01 00:00:00.000Z", author: "Ann", reviewers: ["Cid"] },
    ];
    for (const p of posts) {
        const body = {
            ...p,
            author: p.author ? authors[p.author] : "",
            reviewers: p.reviewers.map((n) => authors[n]),
            secret: p.title === "Alpha" ? priv?.id : "",
        };
        await h.step(`create post ${p.title}`, () => su.collection("fl_posts").create(body));
    }

    const users = su.collection("users");
    await h.step("create user ann (owner)", () =>
        users.create({ email: "ann@example.com", password: "ann-pass-1234", passwordConfirm: "ann-pass-1234", name: "Ann" }),
    );
    const ann = h.client();
    const annAuth = await h.step("ann auth", () => ann.collection("users").authWithPassword("ann@example.com", "ann-pass-1234"));
    if (annAuth?.record?.id)
        await h.step("set owner of Gamma", async () => {
            const g = await su.collection("fl_posts").getFirstListItem('title = "Gamma"');
            return su.collection("fl_posts").update(g.id, { owner: annAuth.record.id });
        });

    const list = (label, client, filter, sort = "title") =>
        h.step(`filter ${label}: ${filter}`, () =>
            client.collection("fl_posts").getList(1, 50, { filter, sort, fields: "title" }),
        );

    const anon = h.client();
    const filters = [
        ["eq", 'title = "Alpha"'],
        ["neq", 'title != "Alpha"'],
        ["gt number", "views > 10"],
        ["gte number", "views >= 10"],
        ["lt number", "views < 10"],
        ["lte number", "views <= 0"],
        ["gt text", 'title > "b"'],
        ["like", 'body ~ "hello"'],
        ["like wildcard percent literal", 'body ~ "100%"'],
        ["like underscore literal", 'body ~ "e_t"'],
        ["like explicit pattern", 'title ~ "%ta"'],
        ["not like", 'body !~ "hello"'],
        ["bool true", "published = true"],
        ["bool false", "published = false"],
        ["bool as number", "published = 1"],
        ["and/or/parens", '(views > 5 && published = true) || title = "delta"'],
        ["single quotes", "title = 'beta'"],
        ["escaped quote", 'body ~ "\\""'],
        ["any eq multi select", 'tags ?= "a"'],
        ["eq multi select (all)", 'tags = "b"'],
        ["any neq", 'tags ?!= "a"'],
        ["neq multi select", 'tags != "a"'],
        ["any like", 'tags ?~ "d"'],
        ["any not like", 'tags ?!~ "d"'],
        ["any gt", 'tags ?> "b"'],
        ["length", "tags:length > 1"],
        ["length zero", "tags:length = 0"],
        ["each", 'tags:each ?= "a"'],
        ["each eq", 'tags:each = "b"'],
        ["each like", 'tags:each ~ "d"'],
        ["lower", 'title:lower = "alpha"'],
        ["lower like", 'title:lower ~ "ta"'],
        ["json contains", 'meta ~ "x"'],
        ["json path", "meta.k = 2"],
        ["json path string", 'meta.s ~ "y"'],
        ["json index", "meta.1 = 2"],
        ["json null", "meta = null"],
        ["json not null", "meta != null"],
        ["relation id", `author = "${authors.Ann}"`],
        ["relation path", 'author.name = "Bob"'],
        ["relation path number", "author.age > 30"],
        ["relation empty", 'author = ""'],
        ["relation null", "author = null"],
        ["multi relation any path", 'reviewers.name ?= "Ann"'],
        ["multi relation path all", 'reviewers.name = "Ann"'],
        ["multi relation length", "reviewers:length >= 2"],
        ["multi relation each", 'reviewers.name:each ~ "n"'],
        ["multi relation any id", `reviewers ?= "${authors.Cid}"`],
        ["date fixed gt", 'due > "2020-01-01 00:00:00.000Z"'],
        ["date fixed lt", 'due < "2000-01-01"'],
        ["date empty", 'due = ""'],
        ["date null", "due = null"],
        ["date vs now", "due > @now"],
        ["date vs now past", 'due < @now && due != ""'],
        ["date vs todayStart", "due >= @todayStart"],
        ["date vs yesterday", "due <= @yesterday"],
        ["date vs tomorrow", "due > @tomorrow"],
        ["year macro", "@year > 2000 && views > 0"],
        ["month macro", "@month >= 1 && @month <= 12 && title = 'Alpha'"],
        ["weekday macro", "@weekday >= 0 && title = 'beta'"],
        ["relation into superuser-only collection", 'secret.code = "p1"'],
        ["relation id into superuser-only collection", 'secret != ""'],
        ["collection join", "@collection.fl_authors.name = 'Bob' && @collection.fl_authors.id = author"],
        ["collection join alias", "@collection.fl_authors:x.age > 40 && @collection.fl_authors:x.id ?= reviewers"],
        ["collection any", "@collection.fl_authors.age ?> 40"],
        ["auth as anonymous", '@request.auth.id = ""'],
        ["auth id as anonymous", "owner = @request.auth.id"],
        ["number vs string", 'views = "10"'],
        ["null literal eq", "body = null"],
        ["empty string", 'body = ""'],
        ["arith-like literal", "views = 30.5"],
        ["negative literal", "views = -5"],
        ["id field", "id != ''"],
        ["created datetime", "created > '2000-01-01'"],
    ];
    for (const [label, filter] of filters) await list(label, anon, filter);

    // @collection.* and @request.* are superuser-only in client filters (rules may use them freely)
    const suFilters = [
        ["collection join", "@collection.fl_authors.name = 'Bob' && @collection.fl_authors.id = author"],
        ["collection join alias", "@collection.fl_authors:x.age > 40 && @collection.fl_authors:x.id ?= reviewers"],
        ["collection any", "@collection.fl_authors.age ?> 40"],
        ["collection each-like", "@collection.fl_authors.name ?~ 'i' && author.name ~ 'i'"],
        ["superuser auth id", '@request.auth.id != "" && views > 15'],
        ["superuser auth collectionName", "@request.auth.collectionName = '_superusers' && published = true"],
        ["relation into superuser-only collection", 'secret.code = "p1"'],
        ["unknown collection", "@collection.nosuch.x = 1"],
        ["request query", "@request.query.x = '' && views = 10"],
    ];
    for (const [label, filter] of suFilters) await list(`superuser ${label}`, su, filter);

    const authFilters = [
        ["auth id", '@request.auth.id != ""'],
        ["auth name", "@request.auth.name = 'Ann' && author.name = @request.auth.name"],
        ["auth collectionName", "@request.auth.collectionName = 'users'"],
        ["owner is auth", "owner = @request.auth.id"],
        ["auth email", "@request.auth.email = 'ann@example.com' && views > 15"],
    ];
    for (const [label, filter] of authFilters) await list(label, ann, filter);

    const sorts = [
        ["-views", "-views"],
        ["+title", "+title"],
        ["multi", "-published,title"],
        ["relation path", "author.name,-title"],
        ["rowid", "@rowid"],
        ["-rowid", "-@rowid"],
        ["json path", "meta.k,title"],
        ["bool then date", "published,-due"],
    ];
    for (const [label, sort] of sorts)
        await h.step(`sort ${label}`, () => anon.collection("fl_posts").getList(1, 50, { sort, fields: "title" }));

    const invalid = [
        ["dangling operator", "title ="],
        ["unknown field", "nosuch = 1"],
        ["unbalanced paren", '(title = "a"'],
        ["double equals", 'title == "a"'],
        ["unterminated string", 'title = "abc'],
        ["unknown collection", "@collection.nosuch.x = 1"],
        ["unknown macro", "due > @never"],
        ["bad modifier", "title:upper = 'A'"],
        ["length on text", "title:length > 1"],
        ["rowid in filter", "@rowid > 1"],
        ["bare word", "hello"],
        ["trailing and", "views > 1 &&"],
        ["unknown relation path", "author.nosuch = 1"],
    ];
    for (const [label, filter] of invalid) await list(`invalid ${label}`, anon, filter);
    await h.step("invalid sort field", () => anon.collection("fl_posts").getList(1, 50, { sort: "nosuch" }));
    await h.step("invalid sort random excluded? (only shape)", () =>
        anon.collection("fl_posts").getList(1, 1, { sort: "@random", fields: "totalItems" }),
    );
    await h.step("filter via sdk params", () =>
        anon.collection("fl_posts").getList(1, 50, {
            filter: anon.filter("title = {:t} || views > {:v} || due < {:d}", {
                t: 'beta"',
                v: 25,
                d: new Date("1995-01-01T00:00:00Z"),
            }),
            sort: "title",
            fields: "title",
        }),
    );
    await h.step("getFirstListItem no match -> 404", () =>
        anon.collection("fl_posts").getFirstListItem('title = "nothing"'),
    );
});
