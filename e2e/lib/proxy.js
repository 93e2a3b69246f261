// A TCP relay between the browser and the server, to cut the network without touching the
// server: `drop()` closes every connection and stops listening (the page sees the server
// vanish), `restore()` listens again on the same port.

import { connect, createServer } from "node:net";

export async function startProxy(targetPort) {
  const sockets = new Set();
  let server = null;
  let port = 0;

  const track = (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
  };

  const listen = () => new Promise((resolve, reject) => {
    server = createServer((client) => {
      track(client);
      const upstream = connect(targetPort, "127.0.0.1");
      track(upstream);
      client.pipe(upstream);
      upstream.pipe(client);
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
    });
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      port = server.address().port;
      resolve();
    });
  });

  const drop = () => new Promise((resolve) => {
    if (!server) return resolve();
    const closing = server;
    server = null;
    closing.close(() => resolve());
    for (const socket of sockets) socket.destroy();
  });

  await listen();
  return {
    get port() { return port; },
    get url() { return `http://127.0.0.1:${port}`; },
    drop,
    restore: listen,
    close: drop,
  };
}
