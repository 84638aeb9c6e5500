/**
 * The etcd client as cluster mode uses it (etcd3, the gRPC client). Its defaults are tuned for a
 * data centre that fails slowly: 30 s dial timeout, a circuit breaker that stops using a member for
 * 5 s after three failures, a watch backoff of up to 30 s. A dead member or leader must be noticed
 * in well under a second here, so:
 *  - every unary call has a deadline (CALL_DEADLINE_MS) and is retried on another member;
 *  - a member is skipped for only BREAKER_MS after two consecutive failures;
 *  - gRPC keepalive pings every KEEPALIVE_MS find a dead connection without waiting for TCP (etcd
 *    must allow it: `--grpc-keepalive-min-time` at or below this, see docs/CLUSTER.md);
 *  - watch streams reconnect after 50 ms, backing off to at most 1 s.
 */
import { ConsecutiveBreaker, circuitBreaker, ExponentialBackoff, handleWhen, retry } from "cockatiel";
import { Etcd3, isRecoverableError } from "etcd3";

/**
 * A put a follower forwarded to a leader that then died is never answered (etcd 3.4 drops the
 * proposal and the request waits out the deadline), so this deadline is most of what a dead leader
 * costs a writer: measured with `npm run bench:cluster-detect` (docs/BENCHMARKS.md). It stays several
 * times above the cluster's acknowledgement p99 under load (~200 ms), so a slow call is rarely cut.
 */
export const CALL_DEADLINE_MS = 750;
/** Calls that legitimately take long on a big database: compaction and defragmentation. */
const SLOW_CALL_DEADLINE_MS = 120_000;
const SLOW_METHODS = new Set(["compact", "defragment", "snapshot", "hashKV"]);
export const DIAL_TIMEOUT_MS = 1000;
export const KEEPALIVE_MS = 500;
const BREAKER_MS = 1000;
const MESSAGE_BYTES_MAX = 64 * 1024 * 1024;
const RETRIES = 4;

export function etcd_client(hosts: string[]): Etcd3 {
  return new Etcd3({
    hosts,
    dialTimeout: DIAL_TIMEOUT_MS,
    defaultCallOptions: (context) =>
      context.isStream
        ? {}
        : {
            deadline:
              Date.now() + (SLOW_METHODS.has(context.method) ? SLOW_CALL_DEADLINE_MS : CALL_DEADLINE_MS),
          },
    grpcOptions: {
      "grpc.keepalive_time_ms": KEEPALIVE_MS,
      "grpc.keepalive_timeout_ms": KEEPALIVE_MS,
      // only while a call is open (a node always has its tail's watch open): etcd counts pings on an
      // idle connection as abuse and closes it (too_many_pings), whatever --grpc-keepalive-min-time says
      "grpc.keepalive_permit_without_calls": 0,
      "grpc.initial_reconnect_backoff_ms": 100,
      "grpc.max_reconnect_backoff_ms": 1000,
      // a watch catching up on history gets large responses; gRPC's default 4 MB limit would make the
      // stream fail and retry forever (tails also ask etcd to fragment them: etcd_log.ts)
      "grpc.max_receive_message_length": MESSAGE_BYTES_MAX,
    },
    faultHandling: {
      host: () =>
        circuitBreaker(handleWhen(isRecoverableError), {
          halfOpenAfter: BREAKER_MS,
          breaker: new ConsecutiveBreaker(2),
        }),
      global: retry(handleWhen(isRecoverableError), {
        maxAttempts: RETRIES,
        backoff: new ExponentialBackoff({ initialDelay: 50, maxDelay: 400 }),
      }),
      watchBackoff: new ExponentialBackoff({ initialDelay: 50, maxDelay: 1000 }).next(),
    },
  });
}
