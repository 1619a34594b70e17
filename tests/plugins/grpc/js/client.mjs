// The Node gRPC client of tests/plugins/grpc/test_grpc_node.py: loads proto/satchel/v1/records.proto at run
// time (no generated code), makes a few calls, prints one JSON line per step, then watches `posts` and
// prints the first change event. Usage: node client.mjs '<json config>' (target, protoRoot, token, owner).
import grpc from "@grpc/grpc-js";
import protoLoader from "@grpc/proto-loader";

const config = JSON.parse(process.argv[2]);
const definition = protoLoader.loadSync("satchel/v1/records.proto", {
  includeDirs: [config.protoRoot],
  keepCase: true,
  longs: Number,
  defaults: true,
  oneofs: true,
});
const { Records } = grpc.loadPackageDefinition(definition).satchel.v1;
const client = new Records(config.target, grpc.credentials.createInsecure());

function toValue(v) {
  if (v === null || v === undefined) return { nullValue: "NULL_VALUE" };
  if (Array.isArray(v)) return { listValue: { values: v.map(toValue) } };
  if (typeof v === "object") return { structValue: toStruct(v) };
  if (typeof v === "number") return { numberValue: v };
  if (typeof v === "boolean") return { boolValue: v };
  return { stringValue: String(v) };
}
function toStruct(obj) {
  return { fields: Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, toValue(v)])) };
}
function fromValue(v) {
  switch (v.kind) {
    case "structValue": return fromStruct(v.structValue);
    case "listValue": return (v.listValue.values || []).map(fromValue);
    case "numberValue": return v.numberValue;
    case "stringValue": return v.stringValue;
    case "boolValue": return v.boolValue;
    default: return null;
  }
}
function fromStruct(s) {
  return Object.fromEntries(Object.entries(s.fields || {}).map(([k, v]) => [k, fromValue(v)]));
}
function call(method, request, token) {
  const metadata = new grpc.Metadata();
  if (token) metadata.set("authorization", token);
  return new Promise((resolve) => {
    client[method](request, metadata, (error, reply) => {
      if (error) {
        const body = error.metadata.get("satchel-error")[0];
        resolve({ code: grpc.status[error.code], message: error.details, body: body ? JSON.parse(body) : null });
      } else {
        resolve({ code: "OK", reply });
      }
    });
  });
}
const print = (step, value) => process.stdout.write(JSON.stringify({ step, ...value }) + "\n");

const listed = await call("List", { collection: "posts", sort: "title" });
print("list", { code: listed.code, titles: listed.reply.items.map((i) => fromStruct(i).title), total: listed.reply.total_items });

const created = await call("Create", { collection: "posts", data: toStruct({ title: "from node", public: true, owner: config.owner, views: 7 }) }, config.token);
print("create", { code: created.code, record: fromStruct(created.reply.record) });

const invalid = await call("Create", { collection: "posts", data: toStruct({ owner: config.owner }) }, config.token);
print("invalid", invalid);

const denied = await call("Create", { collection: "posts", data: toStruct({ title: "anon" }) });
print("guest-create", denied);

const stream = client.Watch({ collection: "posts", filter: 'title ~ "node"' }, new grpc.Metadata());
stream.on("metadata", (metadata) => print("ready", { id: metadata.get("satchel-watch-id")[0] }));
stream.on("data", (event) => {
  print("event", { action: event.action, record: fromStruct(event.record) });
  stream.cancel();
  client.close();
});
stream.on("error", (error) => {
  if (error.code !== grpc.status.CANCELLED) print("watch-error", { code: grpc.status[error.code] });
});
