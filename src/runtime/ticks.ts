/** How long one logical tick of the core lasts, and how many make an election timeout and a heartbeat. */
export interface TickPlan {
  readonly tickMs: number;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
}

/**
 * Turns millisecond timeouts into ticks. A tick is a fifth of the heartbeat interval, so both
 * timeouts keep their precision to within a few percent without waking the process too often.
 */
export function planTicks(electionTimeoutMs: number, heartbeatIntervalMs: number): TickPlan {
  const tickMs = Math.max(1, Math.floor(heartbeatIntervalMs / 5));
  const heartbeatTicks = Math.max(1, Math.round(heartbeatIntervalMs / tickMs));
  const electionTicks = Math.max(heartbeatTicks + 1, Math.round(electionTimeoutMs / tickMs));
  return { tickMs, electionTicks, heartbeatTicks };
}

/**
 * How far apart two nodes' clock rates may be for lease reads to stay safe: each may run up to this
 * fraction fast or slow. Clocks need not agree on the time, only tick at about the same speed.
 */
export const CLOCK_DRIFT_BOUND = 0.1;

/**
 * The leader lease in ticks (thesis §6.4.1). A voter that acknowledged the leader ignores elections
 * for at least electionTicks - 1 of its own ticks; measured on a leader whose clock may be slow
 * while the voter's is fast, that is shortened by the drift bound both ways.
 */
export function leaseTicks(plan: TickPlan): number {
  return Math.floor(((plan.electionTicks - 1) * (1 - CLOCK_DRIFT_BOUND)) / (1 + CLOCK_DRIFT_BOUND));
}
