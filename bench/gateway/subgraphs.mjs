// The benchmark's two subgraphs, `catalog` and `stock`, on graphql-js (@apollo/subgraph),
// one Node process. The same SDL and data as subgraphs.py; used by default because a Python
// subgraph process was the limit of the comparison with in-flight sharing off, and a gateway
// benchmark must be bound by the gateways. POST /graphql runs GraphQL (parsed and validated
// documents cached); GET /stats returns and resets the count of GraphQL requests.
//
// Run: node subgraphs.mjs CATALOG_PORT STOCK_PORT   (from bench/gateway/.node's node_modules)
import { createServer } from "node:http";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { parse, validate, execute } = require("graphql");
const { buildSubgraphSchema } = require("@apollo/subgraph");

const LINK =
  'extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key"])\n';
const product = (i) => ({ id: `p${i}`, name: `Product ${i}`, price: i * 10 });
const stocked = (id) => {
  const index = Number(id.slice(1));
  return { id, quantity: index % 7, warehouse: index % 2 ? "north" : "south" };
};

const SUBGRAPHS = {
  catalog: buildSubgraphSchema({
    typeDefs: parse(
      LINK +
        "type Query { products(first: Int = 10): [Product!]! }\n" +
        'type Product @key(fields: "id") { id: ID! name: String! price: Int! }',
    ),
    resolvers: {
      Query: { products: (_, { first }) => Array.from({ length: first }, (_, i) => product(i)) },
      Product: { __resolveReference: (key) => product(Number(key.id.slice(1))) },
    },
  }),
  stock: buildSubgraphSchema({
    typeDefs: parse(
      LINK +
        "type Query { warehouses: [String!]! }\n" +
        'type Product @key(fields: "id") { id: ID! quantity: Int! warehouse: String! }',
    ),
    resolvers: {
      Query: { warehouses: () => ["north", "south"] },
      Product: { __resolveReference: (key) => stocked(key.id) },
    },
  }),
};

function serve(name, port) {
  const schema = SUBGRAPHS[name];
  const documents = new Map();
  let requests = 0;
  const prepare = (query) => {
    let prepared = documents.get(query);
    if (prepared === undefined) {
      try {
        const document = parse(query);
        const errors = validate(schema, document);
        prepared = errors.length ? { errors } : { document };
      } catch (error) {
        prepared = { errors: [error] };
      }
      documents.set(query, prepared);
    }
    return prepared;
  };
  createServer((request, response) => {
    if (request.method === "GET" && request.url === "/stats") {
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify({ requests }));
      requests = 0;
      return;
    }
    const chunks = [];
    request.on("data", (chunk) => chunks.push(chunk));
    request.on("end", async () => {
      requests += 1;
      const payload = JSON.parse(Buffer.concat(chunks).toString());
      const prepared = prepare(payload.query);
      const result = prepared.errors
        ? { errors: prepared.errors.map((e) => ({ message: e.message })) }
        : await execute({
            schema,
            document: prepared.document,
            variableValues: payload.variables,
          });
      const body = JSON.stringify(result);
      response.writeHead(200, {
        "content-type": "application/json",
        "content-length": Buffer.byteLength(body),
      });
      response.end(body);
    });
  }).listen(port, "127.0.0.1");
}

serve("catalog", Number(process.argv[2]));
serve("stock", Number(process.argv[3]));
