/**
 * Readiness of the learner instances, as one process' /readyz sees it (`--learner-peers`): each instance's own
 * /readyz on 127.0.0.1:<port> is polled in the background, so the synchronous readiness check answers at once. A
 * peer not answering, or answering 503, is a reason with its port and its own reasons.
 */
export class PeerReadiness {
  private readonly state = new Map<number, string | null>();
  private timer: NodeJS.Timeout | null = null;
  private polling = false;

  /** @param ports metrics ports of the learner instances; @param intervalMs poll interval (default 2000 ms). */
  constructor(
    private readonly ports: number[],
    private readonly intervalMs = 2000,
  ) {
    for (const p of ports) this.state.set(p, 'not polled yet');
  }

  start(): void {
    if (this.timer) return;
    void this.poll();
    this.timer = setInterval(() => void this.poll(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One line per learner instance that is not ready; empty when all are. */
  reasons(): string[] {
    const out: string[] = [];
    for (const [port, reason] of this.state) if (reason !== null) out.push(`learner instance on port ${port}: ${reason}`);
    return out;
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      await Promise.all(this.ports.map(async (port) => this.state.set(port, await this.check(port))));
    } finally {
      this.polling = false;
    }
  }

  private async check(port: number): Promise<string | null> {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(1500) });
      const body = (await res.json().catch(() => ({}))) as { reasons?: string[] };
      if (res.ok) return null;
      return `not ready (${(body.reasons ?? [`HTTP ${res.status}`]).join('; ')})`;
    } catch (err) {
      return `not answering (${err instanceof Error ? err.message : String(err)})`;
    }
  }
}
