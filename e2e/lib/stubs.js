// Local stand-ins for the summary's outbound services, so the email and SMS options can be
// switched on in the browser without sending anything anywhere: a plain SMTP server (no TLS,
// no login; the app allows that only for a relay on loopback) and an HTTP server shaped like
// Twilio's Messages API. Both keep what they received.

import { createServer as createHttpServer } from "node:http";
import { createServer as createTcpServer } from "node:net";

/** Starts both stand-ins; `env` holds the settings that point the server at them. */
export async function startOutboxStubs() {
  const smtp = await startSmtp();
  const twilio = await startTwilio();
  const env = {
    FOCUS_SMTP_HOST: "127.0.0.1",
    FOCUS_SMTP_PORT: String(smtp.port),
    FOCUS_SMTP_USE_TLS: "false",
    FOCUS_EMAIL_FROM: "Focus Sentry <sentry@example.com>",
    FOCUS_SMTP_TIMEOUT_SECS: "5",
    TWILIO_ACCOUNT_SID: "AC0123456789abcdef0123456789abcdef",
    TWILIO_AUTH_TOKEN: "e2e-token-not-a-secret",
    TWILIO_FROM_NUMBER: "+15005550006",
    TWILIO_API_BASE: `http://127.0.0.1:${twilio.port}`,
  };
  return {
    env,
    emails: smtp.messages,
    sms: twilio.messages,
    close: async () => {
      await Promise.all([smtp.close(), twilio.close()]);
    },
  };
}

function listen(server) {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve(server.address().port));
  });
}

function closer(server, sockets) {
  return () => new Promise((resolve) => {
    for (const socket of sockets) socket.destroy();
    server.close(() => resolve());
  });
}

/** Just enough SMTP (RFC 5321) for one client: EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT. */
async function startSmtp() {
  const messages = [];
  const sockets = new Set();
  const server = createTcpServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    socket.setEncoding("utf8");
    const reply = (line) => socket.write(`${line}\r\n`);
    let buffer = "";
    let envelope = { from: null, to: [] };
    let data = null; // lines of the message while in DATA
    reply("220 e2e.local ESMTP ready");
    socket.on("data", (chunk) => {
      buffer += chunk;
      let end;
      while ((end = buffer.indexOf("\r\n")) >= 0) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (data) {
          if (line === ".") {
            messages.push({ ...envelope, data: data.join("\r\n") });
            envelope = { from: null, to: [] };
            data = null;
            reply(`250 2.0.0 OK: queued as ${messages.length}`);
          } else {
            data.push(line.startsWith("..") ? line.slice(1) : line);
          }
          continue;
        }
        const verb = line.split(/[\s:]/)[0].toUpperCase();
        if (verb === "EHLO") {
          reply("250-e2e.local");
          reply("250-8BITMIME");
          reply("250 SMTPUTF8");
        } else if (verb === "HELO") reply("250 e2e.local");
        else if (verb === "MAIL") {
          envelope.from = line.slice(line.indexOf(":") + 1).trim();
          reply("250 2.1.0 OK");
        } else if (verb === "RCPT") {
          envelope.to.push(line.slice(line.indexOf(":") + 1).trim());
          reply("250 2.1.5 OK");
        } else if (verb === "DATA") {
          data = [];
          reply("354 End data with <CR><LF>.<CR><LF>");
        } else if (verb === "RSET") {
          envelope = { from: null, to: [] };
          reply("250 2.0.0 OK");
        } else if (verb === "NOOP") reply("250 2.0.0 OK");
        else if (verb === "QUIT") {
          reply("221 2.0.0 Bye");
          socket.end();
        } else reply("502 5.5.2 Command not implemented");
      }
    });
  });
  const port = await listen(server);
  return { port, messages, close: closer(server, sockets) };
}

/** POST /2010-04-01/Accounts/{sid}/Messages.json answered 201 as Twilio does. */
async function startTwilio() {
  const messages = [];
  const sockets = new Set();
  const server = createHttpServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk) => { body += chunk; });
    req.on("end", () => {
      const ok = req.method === "POST" && /^\/2010-04-01\/Accounts\/AC[0-9a-f]{32}\/Messages\.json$/.test(req.url);
      if (!ok) {
        res.writeHead(404, { "Content-Type": "application/json" });
        res.end(JSON.stringify({ code: 20404, message: "not found", status: 404 }));
        return;
      }
      const form = Object.fromEntries(new URLSearchParams(body));
      messages.push({ to: form.To, from: form.From, body: form.Body, authorization: req.headers.authorization });
      res.writeHead(201, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ sid: `SM${String(messages.length).padStart(32, "0")}`, status: "queued", to: form.To }));
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  const port = await listen(server);
  return { port, messages, close: closer(server, sockets) };
}
