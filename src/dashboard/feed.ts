/**
 * Where the dashboard's data comes from and where its actions go: in `jumpgate dash`, the gate
 * (src/cli/dash/gate-feed.ts adapts the gate client); in the tests, a fake. The app only knows
 * this interface, so the model and the view are tested without a gate.
 */
import type { ForwardKind } from "./keys.js";
import type { DashInput } from "./types.js";

export interface AddTunnelRequest {
  destination: string;
  kind: ForwardKind;
  spec: string;
}

export interface DashFeed {
  /**
   * Starts delivering inputs (snapshots, events, feed state) to `dispatch` until stop(). A feed
   * that loses its source says so with a {type: "feed", state: "lost"} input and may retry.
   */
  start(dispatch: (input: DashInput) => void): void;
  /** Each action resolves with a short message for the footer, or rejects with a JumpgateError. */
  addTunnel(request: AddTunnelRequest): Promise<string>;
  removeTunnel(id: string): Promise<string>;
  reconnect(id: string): Promise<string>;
  stop(): void;
}
