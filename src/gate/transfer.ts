/**
 * `cp`, `push` and `pull` run by the gate for a CLI (op "transfer", docs/gate-protocol.md): the CLI
 * sends its absolute local paths, its remote operands, its ssh options, cwd and environment; the
 * gate resolves each host as that CLI would, leases the route from the shared manager (no
 * handshake when it is open), runs the same engine the CLI would run (transfer/copy.ts,
 * transfer/tar.ts) and streams its progress events back. The CLI renders them with its usual
 * reporter. A CLI that goes away aborts its own transfer only (copy's temp+rename, tar's removal of
 * the partial entry), and the gate's table of transfers in progress feeds the dashboard.
 */
import { isAbsolute } from "node:path";
import type { CliItem } from "../config/resolve.js";
import type { ConnectionManager, Lease } from "../connection/manager.js";
import type { SshSession } from "../connection/session.js";
import { ERROR_CODES, isJumpgateError, JumpgateError } from "../errors.js";
import { copy, type Location } from "../transfer/copy.js";
import {
  initialProgress,
  type ProgressState,
  reduceProgress,
  type TransferEvent,
  type TransferOp,
} from "../transfer/progress.js";
import { describeRemote, type RemoteHostSpec } from "../transfer/remotepath.js";
import { pull, push } from "../transfer/tar.js";
import type { WireError } from "./protocol.js";
import { type ClientRequestContext, checkContext, resolveForClient } from "./resolve.js";
import type { GateSecurity, RequestContext } from "./security.js";

/** What every transfer request may say besides its op's fields. */
interface TransferCommon extends ClientRequestContext {
  /** -q: the CLI draws nothing, so only failures and pull's refusals are sent to it. */
  quiet?: boolean;
}

/** `jumpgate cp`: what runCp would pass to copy(), local paths already absolute. */
export interface CpTransferArgs extends TransferCommon {
  op: "cp";
  sources: Location[];
  target: Location;
  recursive: boolean;
  preserve: boolean;
}

interface TarCommon extends TransferCommon {
  host: RemoteHostSpec;
  /** As the user wrote it ("" = the remote home). */
  remoteDir: string;
  compress: "none" | "gzip" | "zstd";
  remoteTar?: string;
}

export interface PushTransferArgs extends TarCommon {
  op: "push";
  localDir: string;
  exclude: string[];
  gitignore: boolean;
}

export interface PullTransferArgs extends TarCommon {
  op: "pull";
  localDir?: string;
  toFile?: string;
  maxEntries?: number;
  maxBytes?: number;
}

export type TransferArgs = CpTransferArgs | PushTransferArgs | PullTransferArgs;

/** The result of a transfer request. */
export interface TransferResult {
  /** The gate's id for it (as in status.transfers and the transfer-* events). */
  id: string;
  files: number;
  bytes: number;
  /** cp: the failures that did not stop the copy (each also came as an "error" progress event). */
  errors: WireError[];
}

/**
 * Events of a transfer request, sent under its id: the engine's progress events
 * (transfer/progress.ts; "bytes" merged to a few a second), plus for pull `{kind: "refused" |
 * "note", path, reason}` for archive entries refused or changed.
 */
export type TransferRequestEvent = TransferEvent | { kind: "refused" | "note"; path: string; reason: string };

/** One row of status.transfers (what the dashboard's transfers panel reads). */
export interface TransferRow {
  id: string;
  op: TransferOp;
  /** e.g. `report.pdf -> mcgonagall:/tmp/`. */
  label: string;
  /** The CLI's pid, when it said it in its hello. */
  pid: number | null;
  startedAt: number;
  bytesDone: number;
  /** null while unknown (pull streams, push before the scan). */
  bytesTotal: number | null;
  filesDone: number;
  filesTotal: number | null;
  errors: number;
}

/** A JumpgateError as it travels; the exit status only when it is not the code's usual one. */
export function toWire(error: JumpgateError): WireError {
  const usual = (ERROR_CODES as Record<string, number>)[error.code];
  return {
    code: error.code,
    message: error.message,
    ...(error.exitCode === usual ? {} : { exitCode: error.exitCode }),
  };
}

function bad(what: string): JumpgateError {
  return new JumpgateError("JG_GATE_PROTOCOL", `transfer request: ${what}.`);
}

function isString(v: unknown): v is string {
  return typeof v === "string";
}

function checkHost(v: unknown): RemoteHostSpec {
  const h = v as Partial<RemoteHostSpec> | null;
  if (
    typeof h !== "object" ||
    h === null ||
    !isString(h.host) ||
    h.host === "" ||
    (h.user !== null && !isString(h.user)) ||
    (h.port !== null && (typeof h.port !== "number" || !Number.isInteger(h.port)))
  ) {
    throw bad("a remote host needs host, user (or null) and port (or null)");
  }
  return { host: h.host, user: h.user ?? null, port: h.port ?? null };
}

function checkAbsolute(v: unknown, what: string): string {
  // The CLI resolves local names against its own cwd; the gate's cwd must never leak in.
  if (!isString(v) || !isAbsolute(v)) throw bad(`${what} must be an absolute path`);
  return v;
}

function checkLocation(v: unknown): Location {
  const l = v as { kind?: unknown; path?: unknown; host?: unknown } | null;
  if (typeof l !== "object" || l === null) throw bad("a location must be an object");
  if (l.kind === "local") return { kind: "local", path: checkAbsolute(l.path, "a local path") };
  if (l.kind === "remote" && isString(l.path))
    return { kind: "remote", host: checkHost(l.host), path: l.path };
  throw bad("a location is {kind: 'local', path} or {kind: 'remote', host, path}");
}

function optionalNumber(v: unknown, what: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0) throw bad(`${what} must be a number`);
  return v;
}

export function checkTransferArgs(raw: unknown): TransferArgs {
  const v = raw as Record<string, unknown>;
  const context: TransferCommon = { ...checkContext(raw), ...(v.quiet === true ? { quiet: true } : {}) };
  if (v.op === "cp") {
    if (!Array.isArray(v.sources) || v.sources.length === 0) throw bad("cp needs sources");
    return {
      ...context,
      op: "cp",
      sources: v.sources.map(checkLocation),
      target: checkLocation(v.target),
      recursive: v.recursive === true,
      preserve: v.preserve === true,
    };
  }
  if (v.op !== "push" && v.op !== "pull") throw bad("op must be cp, push or pull");
  const compress = v.compress ?? "none";
  if (compress !== "none" && compress !== "gzip" && compress !== "zstd") throw bad("bad compress");
  if (!isString(v.remoteDir)) throw bad("remoteDir must be a string");
  if (v.remoteTar !== undefined && !isString(v.remoteTar)) throw bad("remoteTar must be a string");
  const common: TarCommon = {
    ...context,
    host: checkHost(v.host),
    remoteDir: v.remoteDir,
    compress,
    ...(isString(v.remoteTar) ? { remoteTar: v.remoteTar } : {}),
  };
  if (v.op === "push") {
    if (!Array.isArray(v.exclude) || !v.exclude.every(isString)) throw bad("exclude must be strings");
    return {
      ...common,
      op: "push",
      localDir: checkAbsolute(v.localDir, "localDir"),
      exclude: v.exclude,
      gitignore: v.gitignore === true,
    };
  }
  if (v.localDir === undefined && v.toFile === undefined) throw bad("pull needs localDir or toFile");
  const maxEntries = optionalNumber(v.maxEntries, "maxEntries");
  const maxBytes = optionalNumber(v.maxBytes, "maxBytes");
  return {
    ...common,
    op: "pull",
    ...(v.localDir === undefined ? {} : { localDir: checkAbsolute(v.localDir, "localDir") }),
    ...(v.toFile === undefined ? {} : { toFile: checkAbsolute(v.toFile, "toFile") }),
    ...(maxEntries === undefined ? {} : { maxEntries }),
    ...(maxBytes === undefined ? {} : { maxBytes }),
  };
}

/** ssh items for one remote operand: user@ and :port of the operand first (they win), as the CLI does. */
export function hostItems(host: RemoteHostSpec, items: readonly CliItem[]): CliItem[] {
  return [
    ...(host.user !== null ? [{ kind: "user" as const, value: host.user }] : []),
    ...(host.port !== null ? [{ kind: "port" as const, value: String(host.port) }] : []),
    ...items,
    { kind: "destination" as const, value: host.host },
  ];
}

function describe(loc: Location): string {
  return loc.kind === "local" ? loc.path : describeRemote(loc.host, loc.path);
}

function labelOf(args: TransferArgs): string {
  switch (args.op) {
    case "cp": {
      const sources = args.sources.map(describe);
      const from = sources.length > 2 ? `${sources[0]} (+${sources.length - 1})` : sources.join(" ");
      return `${from} -> ${describe(args.target)}`;
    }
    case "push":
      return `${args.localDir} -> ${describeRemote(args.host, args.remoteDir)}`;
    case "pull":
      return `${describeRemote(args.host, args.remoteDir)} -> ${args.toFile ?? args.localDir ?? "?"}`;
  }
}

/** How often merged "bytes" events go to the CLI (its bar redraws at most every 200 ms). */
const BYTES_FLUSH_MS = 100;

/**
 * Merges "bytes" events: a 1 GiB copy makes thousands of them, the CLI needs a few a second. Any
 * other event first flushes what is pending, so the order the reporter sees is kept.
 */
function merging(send: (e: TransferRequestEvent) => void): {
  push(e: TransferRequestEvent): void;
  flush(): void;
} {
  let pending = 0;
  let lastAt = 0;
  let timer: NodeJS.Timeout | null = null;
  const flush = () => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    if (pending === 0) return;
    const n = pending;
    pending = 0;
    send({ kind: "bytes", at: lastAt, n });
  };
  return {
    push(e) {
      if (e.kind === "bytes") {
        pending += e.n;
        lastAt = e.at;
        timer ??= setTimeout(flush, BYTES_FLUSH_MS);
        return;
      }
      flush();
      send(e);
    },
    flush,
  };
}

interface Running {
  row: TransferRow;
  state: ProgressState;
}

/** Events for subscribers when a transfer starts and ends (its progress is in the stats rows). */
export type TransferNotice =
  | { kind: "transfer-start"; at: number; id: string; op: TransferOp; label: string }
  | {
      kind: "transfer-end";
      at: number;
      id: string;
      op: TransferOp;
      label: string;
      state: "done" | "failed" | "aborted";
      files: number;
      bytes: number;
      error?: string;
    };

export interface TransferRunOptions {
  context: RequestContext;
  signal: AbortSignal;
  /** The CLI's pid from its hello, for the dashboard. */
  pid: number | null;
  /** Events for the CLI that asked (already merged). */
  send(event: TransferRequestEvent): void;
}

/** The transfers the gate runs now, and the running of one. */
export class GateTransfers {
  private readonly running = new Map<string, Running>();
  private nextId = 1;
  private readonly listeners: Array<(notice: TransferNotice) => void> = [];

  constructor(
    private readonly manager: ConnectionManager,
    private readonly security: GateSecurity,
  ) {}

  onNotice(listener: (notice: TransferNotice) => void): void {
    this.listeners.push(listener);
  }

  list(): TransferRow[] {
    return [...this.running.values()].map((r) => ({ ...r.row }));
  }

  get size(): number {
    return this.running.size;
  }

  private notify(notice: TransferNotice): void {
    for (const listener of this.listeners) listener(notice);
  }

  /** Resolves one host as the CLI would, tagged with its context, and leases its route. */
  private async lease(args: TransferArgs, host: RemoteHostSpec, context: RequestContext): Promise<Lease> {
    const request: ClientRequestContext = {
      items: hostItems(host, args.items),
      ...(args.configFile === undefined ? {} : { configFile: args.configFile }),
      cwd: args.cwd,
      env: args.env,
    };
    const { resolved, hops } = resolveForClient(request);
    for (const warning of resolved.warnings) context.warn(warning);
    this.security.tag(hops, context);
    return this.manager.acquire(hops);
  }

  async run(args: TransferArgs, opts: TransferRunOptions): Promise<TransferResult> {
    const id = `T${this.nextId++}`;
    const label = labelOf(args);
    const startedAt = Date.now();
    const entry: Running = {
      row: {
        id,
        op: args.op,
        label,
        pid: opts.pid,
        startedAt,
        bytesDone: 0,
        bytesTotal: null,
        filesDone: 0,
        filesTotal: null,
        errors: 0,
      },
      state: initialProgress(),
    };
    this.running.set(id, entry);
    this.notify({ kind: "transfer-start", at: startedAt, id, op: args.op, label });
    // A quiet CLI still prints failures (cp's per-file ones) and pull's refusals; nothing else.
    const send = args.quiet
      ? (e: TransferRequestEvent) => {
          if (e.kind === "error" || e.kind === "refused" || e.kind === "note") opts.send(e);
        }
      : opts.send;
    const out = merging(send);
    const onProgress = (event: TransferEvent) => {
      entry.state = reduceProgress(entry.state, event);
      const s = entry.state;
      entry.row.bytesDone = s.bytes;
      entry.row.bytesTotal = s.totalBytes ?? null;
      entry.row.filesDone = s.files;
      entry.row.filesTotal = s.totalFiles ?? null;
      entry.row.errors = s.errors.length;
      out.push(event);
    };
    const leases: Lease[] = [];
    const session = async (host: RemoteHostSpec): Promise<SshSession> => {
      const lease = await this.lease(args, host, opts.context);
      leases.push(lease);
      return lease.session;
    };
    let outcome: TransferNotice & { kind: "transfer-end" } = {
      kind: "transfer-end",
      at: 0,
      id,
      op: args.op,
      label,
      state: "failed",
      files: 0,
      bytes: 0,
    };
    try {
      const result = await this.engine(args, opts, session, onProgress, out);
      outcome = { ...outcome, state: "done", files: result.files, bytes: result.bytes };
      return { id, ...result };
    } catch (error) {
      const message = isJumpgateError(error) ? `${error.code}: ${error.message}` : String(error);
      outcome = {
        ...outcome,
        state: opts.signal.aborted ? "aborted" : "failed",
        files: entry.state.files,
        bytes: entry.state.bytes,
        error: message,
      };
      throw error;
    } finally {
      out.flush();
      for (const lease of leases) lease.release();
      this.running.delete(id);
      this.notify({ ...outcome, at: Date.now() });
    }
  }

  private async engine(
    args: TransferArgs,
    opts: TransferRunOptions,
    session: (host: RemoteHostSpec) => Promise<SshSession>,
    onProgress: (event: TransferEvent) => void,
    out: { push(e: TransferRequestEvent): void },
  ): Promise<Omit<TransferResult, "id">> {
    const { signal } = opts;
    switch (args.op) {
      case "cp": {
        const result = await copy({
          sources: args.sources,
          target: args.target,
          recursive: args.recursive,
          preserve: args.preserve,
          // copy() releases what connect() returns; the leases list only backs up a throw.
          connect: async (host) => {
            const lease = await this.lease(args, host, opts.context);
            return { session: lease.session, release: () => lease.release() };
          },
          signal,
          onProgress,
        });
        const errors = result.errors.map(toWire);
        return { files: result.files, bytes: result.bytes, errors };
      }
      case "push": {
        const result = await push({
          session: () => session(args.host),
          host: args.host.host,
          remoteDir: args.remoteDir,
          compress: args.compress,
          ...(args.remoteTar === undefined ? {} : { remoteTar: args.remoteTar }),
          signal,
          onProgress,
          localDir: args.localDir,
          exclude: args.exclude,
          gitignore: args.gitignore,
        });
        return { files: result.files, bytes: result.bytes, errors: [] };
      }
      case "pull": {
        const result = await pull({
          session: () => session(args.host),
          host: args.host.host,
          remoteDir: args.remoteDir,
          compress: args.compress,
          ...(args.remoteTar === undefined ? {} : { remoteTar: args.remoteTar }),
          signal,
          onProgress,
          ...(args.localDir === undefined ? {} : { localDir: args.localDir }),
          ...(args.toFile === undefined ? {} : { toFile: args.toFile }),
          limits: {
            ...(args.maxEntries === undefined ? {} : { maxEntries: args.maxEntries }),
            ...(args.maxBytes === undefined ? {} : { maxBytes: args.maxBytes }),
          },
          onRefused: (r) => out.push({ kind: "refused", path: r.path, reason: r.reason }),
          onNote: (n) => out.push({ kind: "note", path: n.path, reason: n.reason }),
        });
        return { files: result.files, bytes: result.bytes, errors: [] };
      }
    }
  }
}
