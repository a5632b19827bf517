import type { RunningEmulator } from "@exo-cba/emulator";
import { startEmulator } from "@exo-cba/emulator";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type Handler, type RecordingServer, startRecordingServer } from "../../test/helpers/invoke-wire.js";
import { HttpTransport, STARTUP_EXTRA_CA } from "./transport.js";

/**
 * Trust: Node's default store when nothing beyond what the process started with is to be trusted,
 * our own context otherwise. The emulator's CA was not in this process's environment at start-up.
 */
describe("HttpTransport trust", () => {
  let emu: RunningEmulator;
  const globals = globalThis as Record<symbol, unknown>;
  const startedWith = process.env.NODE_EXTRA_CA_CERTS;
  beforeAll(async () => {
    emu = await startEmulator({ mailboxes: 1 });
  });
  afterAll(() => emu.close());
  afterEach(() => {
    delete globals[STARTUP_EXTRA_CA];
    if (startedWith === undefined) delete process.env.NODE_EXTRA_CA_CERTS;
    else process.env.NODE_EXTRA_CA_CERTS = startedWith;
  });

  const get = (t: HttpTransport) =>
    t
      .request({ method: "GET", url: `${emu.authorityHost}/common/discovery/instance` })
      .finally(() => t.close());

  it("trusts a NODE_EXTRA_CA_CERTS set after start-up (the launcher recorded none)", async () => {
    globals[STARTUP_EXTRA_CA] = "";
    process.env.NODE_EXTRA_CA_CERTS = emu.caFile;
    const res = await get(new HttpTransport());
    expect(res.status).toBeLessThan(500);
  });

  it("trusts an injected environment's NODE_EXTRA_CA_CERTS and caPem", async () => {
    globals[STARTUP_EXTRA_CA] = "";
    expect((await get(new HttpTransport({ env: { NODE_EXTRA_CA_CERTS: emu.caFile } }))).status).toBeLessThan(
      500,
    );
    expect((await get(new HttpTransport({ caPem: [emu.caPem] }))).status).toBeLessThan(500);
  });

  it("with nothing extra it keeps Node's store, which does not know the emulator's CA", async () => {
    globals[STARTUP_EXTRA_CA] = "";
    delete process.env.NODE_EXTRA_CA_CERTS;
    await expect(get(new HttpTransport())).rejects.toThrow(/certificate/i);
  });
});

/**
 * Kept-alive sockets are closed before the server would close them, so a request never races the
 * server's close (ECONNRESET on a reused socket).
 */
describe("HttpTransport keep-alive", () => {
  let server: RecordingServer;
  const clientPorts: number[] = [];
  let hint: string | undefined;
  const answer: Handler = (_req, res, socket) => {
    clientPorts.push(socket.remotePort ?? -1);
    if (hint) {
      // Setting Connection ourselves keeps Node from adding its own Keep-Alive (timeout=5).
      res.setHeader("Connection", "keep-alive");
      res.setHeader("Keep-Alive", hint);
    }
    res.end("{}");
  };
  beforeAll(async () => {
    server = await startRecordingServer();
    server.setHandler(answer);
  });
  afterAll(() => server.close());
  afterEach(() => {
    clientPorts.length = 0;
    hint = undefined;
  });

  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const get = async (t: HttpTransport) =>
    (await t.request({ method: "GET", url: `${server.origin}/` })).text();

  it("reuses a socket while it is fresh and closes it once idle for idleSocketMs", async () => {
    const t = new HttpTransport({ caPem: [server.caPem], idleSocketMs: 300 });
    try {
      await get(t);
      await get(t);
      await sleep(600);
      await get(t);
    } finally {
      t.close();
    }
    expect(clientPorts[1]).toBe(clientPorts[0]);
    expect(clientPorts[2]).not.toBe(clientPorts[0]);
  });

  it("the idle limit is not a request timeout: an answer slower than it still arrives, on a new or reused socket", async () => {
    const t = new HttpTransport({ caPem: [server.caPem], idleSocketMs: 200 });
    const slow = async () => {
      const res = await t.request({ method: "GET", url: `${server.origin}/slow` });
      return res.text();
    };
    server.setHandler((_req, res, socket) => {
      clientPorts.push(socket.remotePort ?? -1);
      setTimeout(() => res.end("late"), 500);
    });
    try {
      expect(await slow()).toBe("late");
      expect(await slow()).toBe("late"); // on the kept socket, whose idle timer was armed in between
    } finally {
      t.close();
      server.setHandler(answer);
    }
    expect(clientPorts[1]).toBe(clientPorts[0]);
  });

  it("closes an idle socket a second before the server's Keep-Alive hint, even when its own limit is longer", async () => {
    hint = "timeout=2";
    const t = new HttpTransport({ caPem: [server.caPem] }); // default idle limit: 4 s
    try {
      await get(t);
      await sleep(1300); // past the hint minus a second, well before the server's own 5 s close
      await get(t);
    } finally {
      t.close();
    }
    expect(clientPorts).toHaveLength(2);
    expect(clientPorts[1]).not.toBe(clientPorts[0]);
  });
});
