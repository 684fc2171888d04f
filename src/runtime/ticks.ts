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
