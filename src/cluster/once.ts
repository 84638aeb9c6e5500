/**
 * Work that must happen once in a cluster (the demo's market maker; later withdrawals and notices)
 * runs on the holder of an etcd election (DESIGN, "Cluster mode"). Every node campaigns; the winner
 * runs the work with a node handle whose writes are fenced by its election key (etcd_log.ts, Fence):
 * if its lease lapses (the process paused, the network split) another node is elected and whatever
 * the old holder still tries to write is refused by etcd. Losing the election stops the work; the
 * node campaigns again.
 */
import type { Etcd3 } from "etcd3";
import type { Command } from "../engine/commands.js";
import type { Engine } from "../engine/engine.js";
import type { Applied } from "../node/exchange_node.js";
import type { ClusterNode } from "./cluster_node.js";
import type { Fence } from "./etcd_log.js";

/** The lease behind the election key: a dead holder is replaced this many seconds after it stops. */
export const ELECTION_TTL_S = 2;
const CAMPAIGN_RETRY_MS = 500;

/** What once-only work gets: the engine to read, and fenced submission. */
export interface FencedNode {
  readonly engine: Engine;
  submit_batch(commands: Command[]): Promise<Applied[]>;
  submit(command: Command): Promise<Applied>;
}

export interface Work {
  stop(): Promise<void>;
}

export class OnceRunner {
  private closed = false;
  private work: Work | null = null;
  private resign: (() => Promise<void>) | null = null;

  constructor(
    private readonly client: Etcd3,
    private readonly node: ClusterNode,
    /** e.g. "market-maker" */
    readonly name: string,
    private readonly start_work: (node: FencedNode) => Work,
    private readonly log: (line: string) => void,
  ) {
    void this.campaign();
  }

  get running(): boolean {
    return this.work !== null;
  }

  private async campaign(): Promise<void> {
    while (!this.closed) {
      try {
        const election = this.client
          .namespace(`${this.node.log.prefix}/`)
          .election(this.name, ELECTION_TTL_S);
        const campaign = election.campaign(this.node.node_id);
        const lost = new Promise<Error>((resolve) => campaign.on("error", resolve));
        this.resign = () => campaign.resign();
        await campaign.wait();
        if (this.closed) {
          await campaign.resign().catch(() => undefined);
          return;
        }
        const key = await campaign.getCampaignKey();
        const got = await this.client.get(key).exec();
        const create_revision = Number(got.kvs[0]?.create_revision ?? 0);
        if (create_revision === 0) throw new Error("elected, but the election key is gone");
        const fence: Fence = { key, create_revision };
        this.log(`node ${this.node.node_id}: elected for ${this.name} (key revision ${create_revision})`);
        const fenced: FencedNode = {
          engine: this.node.engine,
          submit_batch: (commands) => this.node.submit_fenced(commands, fence),
          submit: async (command) => (await this.node.submit_fenced([command], fence))[0],
        };
        this.work = this.start_work(fenced);
        const error = await lost;
        this.log(`node ${this.node.node_id}: lost the election for ${this.name}: ${error.message}`);
      } catch (error) {
        if (!this.closed) this.log(`node ${this.node.node_id}: campaign for ${this.name}: ${String(error)}`);
      }
      await this.work?.stop();
      this.work = null;
      this.resign = null;
      if (!this.closed) await new Promise((r) => setTimeout(r, CAMPAIGN_RETRY_MS));
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.work?.stop();
    this.work = null;
    await this.resign?.().catch(() => undefined);
  }
}
