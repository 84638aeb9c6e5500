/** The status service as the tests start it: in this process, fast probe rounds, quiet logs. */
import { type RunningStatus, type StatusOptions, start_status } from "../../src/status/service.js";

export const TEST_STATUS_DEFAULTS = {
  host: "127.0.0.1",
  port: 0,
  probe_interval_ms: 500,
  rounds_to_change: 2,
  quiet_ms: 60_000,
  name: "Holdfast test",
  log: () => {},
};

/** A status service on `data_dir` watching the exchange at `watch`; `over` changes any option. */
export function test_status(
  data_dir: string,
  watch: string,
  over: Partial<StatusOptions> = {},
): Promise<RunningStatus> {
  return start_status({ ...TEST_STATUS_DEFAULTS, data_dir, watch: [watch], ...over });
}
