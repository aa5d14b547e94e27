/**
 * A local receiver for the outbound events benchmark: answers every POST 204 at once and counts
 * them; GET /count returns the count. Its own process, like a real receiver. 127.0.0.1 only.
 */
import { createServer } from "node:http";

let count = 0;
const server = createServer((req, res) => {
  if (req.method === "GET") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ count }));
    return;
  }
  req.resume();
  req.on("end", () => {
    count += 1;
    res.writeHead(204);
    res.end();
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  console.log(`READY http://127.0.0.1:${port}`);
});
