import { createServer, connect, type Server, type Socket } from "node:net";

/**
 * A TCP relay on 127.0.0.1 that makes the way to an upstream behave like a long, lossy link:
 * the benchmark's stand-in for `tc netem`, which this machine's kernel does not have
 * (CONFIG_NET_SCH_NETEM is not set, so `tc qdisc add ... netem` fails inside a namespace too).
 *
 * The model, per direction of each connection, in segments of one MSS (1448 bytes):
 * - every segment arrives half a round trip after it was sent, in order;
 * - a segment is lost with probability `loss`; its retransmission arrives one round trip later
 *   when at least three more segments follow it in the same write (fast retransmit), else after
 *   a retransmission timeout (a round trip plus Linux's 200 ms minimum); what follows waits for
 *   it (TCP delivers in order);
 * - opening a connection costs a round trip before the first byte goes out, plus Linux's
 *   initial 1 s retransmission timeout when the SYN is lost (probability `loss`).
 * Bandwidth is not limited: the benchmark's modules are small. Losses come from a seeded
 * generator, so a run can be repeated.
 */

export interface LinkProfile {
  /** Added round-trip time, ms. */
  readonly rttMs: number;
  /** Probability that a segment (or a SYN) is lost, 0..1. */
  readonly loss: number;
}

export interface RelayStats {
  connections: number;
  synsLost: number;
  segments: number;
  segmentsLost: number;
}

export interface RunningRelay {
  /** `http://127.0.0.1:PORT`: use it where the upstream's URL would go. */
  readonly url: string;
  readonly stats: RelayStats;
  close(): Promise<void>;
}

const MSS = 1448;
const RTO_MIN_MS = 200;
const SYN_RTO_MS = 1000;

/** mulberry32: a small seeded generator (Math.random cannot be seeded). */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One direction of one connection: segments delivered to `to` at their arrival times. */
class Direction {
  private readonly queue: { at: number; data: Buffer }[] = [];
  private lastAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private ending = false;

  constructor(
    private readonly to: Socket,
    private readonly profile: LinkProfile,
    private readonly random: () => number,
    private readonly stats: RelayStats,
    /** Nothing arrives before this time (the connection's handshake). */
    private readonly notBefore: number,
  ) {}

  send(chunk: Buffer): void {
    const oneWay = this.profile.rttMs / 2;
    const now = Date.now();
    const count = Math.ceil(chunk.length / MSS);
    for (let i = 0; i < count; i++) {
      let at = Math.max(now, this.notBefore) + oneWay;
      this.stats.segments++;
      if (this.random() < this.profile.loss) {
        this.stats.segmentsLost++;
        at += count - i - 1 >= 3 ? this.profile.rttMs : this.profile.rttMs + RTO_MIN_MS;
      }
      at = Math.max(at, this.lastAt);
      this.lastAt = at;
      this.queue.push({ at, data: chunk.subarray(i * MSS, (i + 1) * MSS) });
    }
    this.schedule();
  }

  /** The sender closed its side: close ours once everything sent has arrived. */
  end(): void {
    this.ending = true;
    this.schedule();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.queue.length = 0;
  }

  private schedule(): void {
    if (this.timer) return;
    if (this.queue.length === 0) {
      if (this.ending) this.to.end();
      return;
    }
    this.timer = setTimeout(() => this.flush(), Math.max(0, this.queue[0]!.at - Date.now()));
  }

  private flush(): void {
    this.timer = undefined;
    const now = Date.now();
    const due: Buffer[] = [];
    while (this.queue.length > 0 && this.queue[0]!.at <= now) due.push(this.queue.shift()!.data);
    if (due.length > 0 && !this.to.destroyed) this.to.write(Buffer.concat(due));
    this.schedule();
  }
}

/** Starts a relay to `target` (`http://host:port`) with the given link. */
export async function startLossyRelay(target: string, profile: LinkProfile, seed = 1): Promise<RunningRelay> {
  const { hostname, port } = new URL(target);
  const random = seeded(seed);
  const stats: RelayStats = { connections: 0, synsLost: 0, segments: 0, segmentsLost: 0 };
  const open = new Set<Socket>();
  // Half-open allowed: each side's end is passed on only once what it sent has arrived.
  const server: Server = createServer({ allowHalfOpen: true }, (client) => {
    stats.connections++;
    const synLost = random() < profile.loss;
    if (synLost) stats.synsLost++;
    const established = Date.now() + profile.rttMs + (synLost ? SYN_RTO_MS : 0);
    const upstream = connect({ port: Number(port), host: hostname, allowHalfOpen: true });
    for (const s of [client, upstream]) {
      open.add(s);
      s.on("close", () => open.delete(s));
    }
    const toUpstream = new Direction(upstream, profile, random, stats, established);
    const toClient = new Direction(client, profile, random, stats, established);
    const fail = (): void => {
      toUpstream.stop();
      toClient.stop();
      client.destroy();
      upstream.destroy();
    };
    client.on("data", (chunk: Buffer) => toUpstream.send(chunk));
    upstream.on("data", (chunk: Buffer) => toClient.send(chunk));
    client.on("end", () => toUpstream.end());
    upstream.on("end", () => toClient.end());
    client.on("error", fail);
    upstream.on("error", fail);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  const relayPort = typeof address === "object" && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${relayPort}`,
    stats,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}
